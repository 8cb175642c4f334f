#!/usr/bin/env python3
"""Read a DLMS/COSEM meter over TCP (IEC 62056-47 wrapper or HDLC) with the `dlms-cosem` package's client.

    dlms_cosem_client_read.py HOST PORT [same options as gurux_client_read.py]

Same arguments and JSON document as gurux_client_read.py (format in read_cli.py).
Uses dlms_cosem.client.DlmsClient over dlms_cosem.io.TcpTransport or HdlcTransport
(with our length-based frame reading, see LengthFramedHdlcTransport) + BlockingTcpIO,
LN referencing; --auth high-gmac gives dlms-cosem the keys and system title, so it
proposes the ciphered context, does HLS-GMAC and wraps every APDU in
general-glo-ciphering (security control 0x30 only: dlms-cosem has no other policy).
"""

from __future__ import annotations

import datetime as dt
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import structlog  # noqa: E402

from dlms_cosem import cosem, enumerations, exceptions, utils  # noqa: E402
from dlms_cosem import state as dlms_state  # noqa: E402
from dlms_cosem.hdlc import state as hdlc_state  # noqa: E402
from dlms_cosem.client import DataResultError, DlmsClient, HLSError  # noqa: E402
from dlms_cosem.cosem.capture_object import CaptureObject  # noqa: E402
from dlms_cosem.cosem.selective_access import RangeDescriptor  # noqa: E402
from dlms_cosem.io import BlockingTcpIO, HdlcTransport, TcpTransport  # noqa: E402
from dlms_cosem.protocol import acse  # noqa: E402
from dlms_cosem.security import (  # noqa: E402
    HighLevelSecurityGmacAuthentication,
    LowLevelSecurityAuthentication,
    NoSecurityAuthentication,
)
from dlms_cosem.time import datetime_from_bytes  # noqa: E402

import acse_encoding  # noqa: E402
from hdlc_transport import HdlcFrameReader  # noqa: E402
import read_cli  # noqa: E402
from read_cli import CaptureColumn, ProfileLayout, ReadArgs, ReadError  # noqa: E402

UTC = dt.timezone.utc
LOG = structlog.get_logger()
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


class CheckedClient(DlmsClient):
    """DlmsClient that turns the meter's refusals into one clear ReadError.

    dlms-cosem's GET loop does not handle an exception-response (it waits for another
    APDU on an empty buffer and fails with IndexError), and its state machine refuses an
    exception-response while HLS is pending ("can't handle event type"): look at the
    received APDU before dlms-cosem parses it. Deciphering failures (DecryptionError)
    and replayed counters (LocalDlmsProtocolError "invocation counter is not larger")
    are reworded too.
    """

    def next_event(self):
        received = bytes(self.dlms_connection.buffer)
        refusal = read_cli.exception_response_text(received)
        if refusal is not None:
            self.dlms_connection.clear_buffer()
            raise ReadError(f"meter refused the request: {refusal}")
        if received[:1] == bytes([acse_encoding.AARE]):
            rejection = acse_encoding.refusal_text(received)
            if rejection is not None:  # same wording as gurux_client_read.py
                self.dlms_connection.clear_buffer()
                raise ReadError(rejection)
        try:
            return super().next_event()
        except exceptions.DecryptionError as exc:
            raise ReadError(f"deciphering the meter's APDU failed (tag check): {exc}") from exc
        except exceptions.LocalDlmsProtocolError as exc:
            if "invocation counter" in str(exc):
                raise ReadError(f"meter's invocation counter refused (replay): {exc}") from exc
            raise


class LengthFramedHdlcTransport(HdlcTransport):
    """dlms-cosem's HdlcTransport, made safe for 0x7E bytes inside an information field.

    DLMS HDLC has no byte stuffing: a frame ends where its format field's length says
    (IEC 62056-46 §6.4.1), and 0x7E may occur inside the information field (ciphered
    APDUs contain one in a few percent of frames). dlms-cosem reads the socket up to the
    next 0x7E (`recv_until(HDLC_FLAG)`), and its frame finder, when a candidate ending
    at an inner 0x7E does not parse, asks the socket for more data instead of trying
    the next 0x7E already in its buffer: the client then waits for its timeout. Here
    frames are read whole by their length (hdlc_transport.HdlcFrameReader), and the
    frame finder is retried while its buffer still holds unsearched bytes. Frame
    parsing and the HDLC state machine stay dlms-cosem's.
    """

    def recv_frame(self) -> bytes:
        reader = getattr(self, "_length_reader", None)
        if reader is None or reader.sock is not self.io.tcp_socket:
            reader = HdlcFrameReader(self.io.tcp_socket)
            self._length_reader = reader
        frame = reader.recv_frame_bytes()
        LOG.debug("Received data", data=frame, transport=self)
        return frame

    def next_event(self):
        connection = self.hdlc_connection
        while True:
            event = connection.next_event()
            if event is not hdlc_state.NEED_DATA:
                return event
            if connection.buffer_search_position < len(connection.buffer):
                continue  # a later 0x7E in the buffer may close the frame
            connection.receive_data(self.recv_frame())


class RequestTamper:
    """Negative tests: change the next APDU the client sends (flip a GCM tag bit), once."""

    def __init__(self, transport):
        self.armed = False
        self.original = transport.send_request
        transport.send_request = self.send_request

    def send_request(self, apdu: bytes) -> bytes:
        if self.armed:
            self.armed = False
            apdu = bytes(apdu[:-1]) + bytes([apdu[-1] ^ 0x01])  # the last byte is the last tag byte
        return self.original(apdu)


def get_value(client: DlmsClient, attr: cosem.CosemAttribute, access=None):
    """GET one attribute and decode its A-XDR Data with dlms-cosem's decoder."""
    try:
        raw = client.get(attr, access_descriptor=access)
    except DataResultError as exc:
        raise ReadError(f"GET {attr.instance.to_string('.')} attr {attr.attribute} refused: {exc}") from exc
    return utils.parse_as_dlms_data(raw)


def read_meter(args: ReadArgs) -> dict:
    quiet_logging(args.debug)
    ciphering = {}
    if args.auth == "high-gmac":
        if args.security_control != 0x30:
            raise ReadError("dlms-cosem ciphers with security control 0x30 only (authenticated and encrypted)")
        authentication = HighLevelSecurityGmacAuthentication()
        ciphering = dict(
            encryption_key=args.encryption_key_in_use,
            authentication_key=args.key_authentication,
            client_system_title=args.system_title,
            client_initial_invocation_counter=args.invocation_counter,
            # "last counter seen from the meter": dlms-cosem wants every meter counter
            # strictly above it, so 0 would refuse a meter that starts at 0.
            meter_initial_invocation_counter=-1,
            security_suite=0,
        )
    elif args.auth == "low":
        authentication = LowLevelSecurityAuthentication(secret=args.password.encode("ascii"))
    else:
        authentication = NoSecurityAuthentication()
    io = BlockingTcpIO(host=args.host, port=args.port, timeout=int(max(1, args.timeout)))
    if args.transport == "hdlc":
        transport = LengthFramedHdlcTransport(
            client_logical_address=args.client,
            server_logical_address=args.server,
            server_physical_address=args.server_physical,
            io=io,
            timeout=int(max(1, args.timeout)),
        )
    else:
        transport = TcpTransport(
            client_logical_address=args.client,
            server_logical_address=args.server,
            io=io,
            timeout=int(max(1, args.timeout)),
        )
    tamper = RequestTamper(transport)
    client = CheckedClient(
        transport=transport, authentication=authentication, timeout=int(max(1, args.timeout)), **ciphering
    )

    client.connect()
    try:
        try:
            client.associate()
        except exceptions.DlmsClientException as exc:
            raise ReadError(f"association refused: {exc}") from exc
        except HLSError as exc:
            raise ReadError(f"HLS-GMAC authentication failed: {exc.__cause__ or exc}") from exc
        except ReadError as exc:
            waiting_for_aare = client.dlms_connection.state.current_state is dlms_state.AWAITING_ASSOCIATION_RESPONSE
            stage = "association refused" if waiting_for_aare else "HLS-GMAC authentication failed"
            raise ReadError(f"{stage}: {exc}") from exc
        if args.auth == "high-gmac":
            # dlms-cosem keeps the client's counter in client_invocation_counter (the next
            # value to use): the negative tests change it before the first GET.
            if args.force_invocation_counter is not None:
                client.client_invocation_counter = args.force_invocation_counter
            elif args.replay_invocation_counter:
                client.client_invocation_counter -= 1
            tamper.armed = args.tamper_tag

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
    read_cli.run(read_meter, "Read a DLMS/COSEM meter with dlms-cosem (TCP wrapper or HDLC, LN referencing).")
