#!/usr/bin/env python3
"""Read a DLMS/COSEM meter over TCP (IEC 62056-47 wrapper) with the `dlms-cosem` package's client.

    dlms_cosem_client_read.py HOST PORT [--client 16] [--server 1] [--auth none|low]
                              [--password 00000000] [--from ISO --to ISO] [--skip-profile]

Same arguments and JSON document as gurux_client_read.py (format in read_cli.py).
Uses dlms_cosem.client.DlmsClient over dlms_cosem.io.TcpTransport + BlockingTcpIO,
no ciphering (no keys given, so no general-glo-ciphering), LN referencing.
"""

from __future__ import annotations

import datetime as dt
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import structlog  # noqa: E402

from dlms_cosem import cosem, enumerations, exceptions, utils  # noqa: E402
from dlms_cosem.client import DataResultError, DlmsClient  # noqa: E402
from dlms_cosem.cosem.capture_object import CaptureObject  # noqa: E402
from dlms_cosem.cosem.selective_access import RangeDescriptor  # noqa: E402
from dlms_cosem.io import BlockingTcpIO, TcpTransport  # noqa: E402
from dlms_cosem.protocol import acse  # noqa: E402
from dlms_cosem.security import LowLevelSecurityAuthentication, NoSecurityAuthentication  # noqa: E402
from dlms_cosem.time import datetime_from_bytes  # noqa: E402

import read_cli  # noqa: E402
from read_cli import CaptureColumn, ProfileLayout, ReadArgs, ReadError  # noqa: E402

UTC = dt.timezone.utc
DEVIATION_NOT_SPECIFIED = b"\x80\x00"


def quiet_logging(debug: bool) -> None:
    """dlms-cosem logs every APDU through structlog to stdout; keep stdout for the JSON document."""
    import logging

    level = logging.DEBUG if debug else logging.CRITICAL
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
    )


def obis(text: str) -> cosem.Obis:
    a, b, c, d, e, f = (int(part) for part in text.split("."))
    return cosem.Obis(a, b, c, d, e, f)


def attribute(interface: enumerations.CosemInterface, logical_name: str, index: int) -> cosem.CosemAttribute:
    return cosem.CosemAttribute(interface=interface, instance=obis(logical_name), attribute=index)


def cosem_datetime(octets) -> dt.datetime:
    """12-byte COSEM date-time (IEC 62056-6-2 §4.1.6.1) -> datetime.

    dlms_cosem.time.datetime_from_bytes returns a *naive* datetime for deviation 0
    (`if offset_minutes:` treats 0 like "not specified"), so UTC and "unknown" look the
    same. Look at the deviation bytes ourselves: 0 -> UTC, 0x8000 -> naive (unspecified).
    """
    raw = bytes(octets)
    if len(raw) != 12:
        raise ReadError(f"COSEM date-time must be 12 bytes, got {raw.hex()}")
    value, _status = datetime_from_bytes(raw)
    if value.tzinfo is None and raw[9:11] != DEVIATION_NOT_SPECIFIED:
        value = value.replace(tzinfo=UTC)
    return value


def get_value(client: DlmsClient, attr: cosem.CosemAttribute, access=None):
    """GET one attribute and decode its A-XDR Data with dlms-cosem's decoder."""
    try:
        raw = client.get(attr, access_descriptor=access)
    except DataResultError as exc:
        raise ReadError(f"GET {attr.instance.to_string('.')} attr {attr.attribute} refused: {exc}") from exc
    return utils.parse_as_dlms_data(raw)


def read_meter(args: ReadArgs) -> dict:
    quiet_logging(args.debug)
    if args.auth == "low":
        authentication = LowLevelSecurityAuthentication(secret=args.password.encode("ascii"))
    else:
        authentication = NoSecurityAuthentication()
    transport = TcpTransport(
        client_logical_address=args.client,
        server_logical_address=args.server,
        io=BlockingTcpIO(host=args.host, port=args.port, timeout=int(max(1, args.timeout))),
        timeout=int(max(1, args.timeout)),
    )
    client = DlmsClient(transport=transport, authentication=authentication, timeout=int(max(1, args.timeout)))

    client.connect()
    try:
        try:
            client.associate()
        except exceptions.DlmsClientException as exc:
            raise ReadError(f"association refused: {exc}") from exc

        clock_octets = get_value(client, attribute(enumerations.CosemInterface.CLOCK, read_cli.CLOCK_LN, 2))
        clock_time = cosem_datetime(clock_octets)

        serial_value = get_value(client, attribute(enumerations.CosemInterface.DATA, read_cli.SERIAL_LN, 2))
        serial = read_cli.text_from_octets(serial_value)

        energy_ln = read_cli.ACTIVE_ENERGY_IMPORT_LN
        scaler_unit = get_value(client, attribute(enumerations.CosemInterface.REGISTER, energy_ln, 3))
        if not isinstance(scaler_unit, list) or len(scaler_unit) != 2:
            raise ReadError(f"{energy_ln} scaler_unit is not a 2-element structure: {scaler_unit!r}")
        scaler, unit = int(scaler_unit[0]), int(scaler_unit[1])
        raw_energy = get_value(client, attribute(enumerations.CosemInterface.REGISTER, energy_ln, 2))
        if not isinstance(raw_energy, int):
            raise ReadError(f"{energy_ln} value is not an integer: {raw_energy!r}")

        profile = []
        if not args.skip_profile:
            pg = read_cli.LOAD_PROFILE_LN
            capture = get_value(client, attribute(enumerations.CosemInterface.PROFILE_GENERIC, pg, 3))
            columns = [
                CaptureColumn(int(c[0]), ".".join(str(b) for b in bytes(c[1])), int(c[2]), int(c[3])) for c in capture
            ]
            layout = ProfileLayout.from_columns(columns)
            access = None
            if args.range_from is not None:
                clock_column = columns[layout.time_index]
                access = RangeDescriptor(
                    restricting_object=CaptureObject(
                        cosem_attribute=attribute(
                            enumerations.CosemInterface.CLOCK, clock_column.logical_name, clock_column.attribute
                        ),
                        data_index=clock_column.data_index,
                    ),
                    # Aware UTC datetimes are encoded with deviation 0.
                    from_value=args.range_from.astimezone(UTC),
                    to_value=args.range_to.astimezone(UTC),
                )
            rows = get_value(client, attribute(enumerations.CosemInterface.PROFILE_GENERIC, pg, 2), access)
            profile = [read_cli.profile_entry(layout, row, cosem_datetime) for row in rows]

        release(client)
    finally:
        try:
            client.disconnect()
        except Exception:  # noqa: BLE001 - closing a socket the meter already closed
            pass

    return {
        "clock": read_cli.iso_with_offset(clock_time),
        "serial": serial,
        "active_energy_import_wh": read_cli.apply_scaler(raw_energy, scaler),
        "scaler": scaler,
        "unit": unit,
        "profile": profile,
    }


def release(client: DlmsClient) -> None:
    response = client.release_association()
    if response is not None and not isinstance(response, acse.ReleaseResponse):
        raise ReadError(f"release: expected RLRE, got {response!r}")


if __name__ == "__main__":
    read_cli.run(read_meter, "Read a DLMS/COSEM meter with dlms-cosem (TCP wrapper, LN referencing).")
