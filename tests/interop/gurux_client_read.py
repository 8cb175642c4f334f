#!/usr/bin/env python3
"""Read a DLMS/COSEM meter over TCP (IEC 62056-47 wrapper) with gurux-dlms's client.

    gurux_client_read.py HOST PORT [--client 16] [--server 1] [--auth none|low]
                         [--password 00000000] [--from ISO --to ISO] [--skip-profile]

Associates (AARQ/AARE, LN referencing), reads the clock, the serial number,
1.0.1.8.0.255 (value and scaler_unit) and the load profile 1.0.99.1.0.255 (by range
when --from/--to are given, else the whole buffer), releases (RLRQ/RLRE) and prints
one JSON document (format in read_cli.py). Exits 1 with `error: ...` on stderr on any
failure.

gurux-dlms builds and parses complete wrapper frames; the socket and the framing of
the byte stream are ours (wrapper_transport.py), gurux_net is not used.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gurux_dlms import GXByteBuffer, GXDateTime, GXDLMSClient, GXReplyData  # noqa: E402
from gurux_dlms.enums import Authentication, Command, DataType, InterfaceType  # noqa: E402
from gurux_dlms.objects import (  # noqa: E402
    GXDLMSClock,
    GXDLMSData,
    GXDLMSProfileGeneric,
    GXDLMSRegister,
)

import read_cli  # noqa: E402
from read_cli import CaptureColumn, ProfileLayout, ReadArgs, ReadError  # noqa: E402
from wrapper_transport import recv_frame_bytes  # noqa: E402

AARE_TAG = 0x61
AARE_RESULT_TAG = 0xA2
AARE_DIAGNOSTIC_TAG = 0xA3
ACSE_DIAGNOSTICS = {
    0: "null",
    1: "no-reason-given",
    2: "application-context-name-not-supported",
    11: "authentication-mechanism-name-not-recognised",
    12: "authentication-mechanism-name-required",
    13: "authentication-failure",
    14: "authentication-required",
}


class GuruxSession:
    """A gurux-dlms GXDLMSClient driven over one TCP socket."""

    def __init__(self, args: ReadArgs):
        auth = Authentication.LOW if args.auth == "low" else Authentication.NONE
        password = args.password if args.auth == "low" else None
        self.client = GXDLMSClient(True, args.client, args.server, auth, password, InterfaceType.WRAPPER)
        self.sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
        self.sock.settimeout(args.timeout)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def exchange(self, frame: bytes, reply: GXReplyData) -> None:
        """Send one frame and feed received wrapper frames to gurux until it says the reply is complete."""
        self.sock.sendall(bytes(frame))
        buffer = GXByteBuffer()
        while True:
            buffer.set(recv_frame_bytes(self.sock))
            if self.client.getData(buffer, reply, None):
                break
        if reply.error != 0:
            raise ReadError(f"meter answered with error {reply.error}: {reply.getErrorMessage()}")

    def request(self, frames) -> GXReplyData:
        """Send the frames of one request, then follow block transfer until the whole reply is in."""
        reply = GXReplyData()
        if isinstance(frames, (bytes, bytearray)):
            frames = [frames]  # some gurux request builders return one frame, not a list
        for frame in frames:
            reply.clear()
            self.exchange(frame, reply)
        while reply.isMoreData():
            # GET-Request-Next for the next data block (or GBT ack); gurux keeps the block number.
            self.exchange(self.client.receiverReady(reply), reply)
        return reply

    def associate(self) -> None:
        reply = self.request(self.client.aarqRequest())
        if reply.command != Command.AARE:
            raise ReadError(f"expected an AARE, got command {reply.command}")
        check_aare_result(bytes(reply.data.array()))
        try:
            self.client.parseAareResponse(reply.data)
        except Exception as exc:
            raise ReadError("association refused: " + " ".join(str(exc).split())) from exc
        if self.client.getIsAuthenticationRequired():
            raise ReadError("meter asks for HLS authentication; this script does none/LLS only")

    def read(self, obj, attribute: int):
        """GET one attribute; returns gurux's decoded value and stores it in `obj`."""
        reply = self.request(self.client.read(obj, attribute))
        value = reply.value
        self.client.updateValue(obj, attribute, value)
        return value

    def read_range(self, pg: GXDLMSProfileGeneric, start: dt.datetime, end: dt.datetime):
        """GET profile buffer with selective access by range (selector 1, restricting object = first capture object).

        The bounds go out in UTC (deviation 0), as dlms_cosem_client_read.py sends them,
        so both clients put the same bytes on the wire.
        """
        utc = dt.timezone.utc
        request = self.client.readRowsByRange(pg, GXDateTime(start.astimezone(utc)), GXDateTime(end.astimezone(utc)))
        reply = self.request(request)
        self.client.updateValue(pg, 2, reply.value)
        return reply.value

    def release(self) -> None:
        frames = self.client.releaseRequest()
        if not frames:
            return
        reply = self.request(frames)
        # gurux accepts whatever comes back; insist on an RLRE.
        if reply.command != Command.RELEASE_RESPONSE:
            raise ReadError(f"release: expected an RLRE, got command {reply.command}")


def check_aare_result(aare: bytes) -> None:
    """Fail unless the AARE's result field (ISO 8650 ACSE, [2] result, tag A2) is accepted (0).

    gurux's parseAareResponse raises only when the result is not accepted *and* a
    diagnostic other than null is present, so a bare rejection would slip through.
    Only the top level of the AARE is walked (short-form BER lengths, as an AARE is < 128
    bytes without certificates); anything unexpected is left to gurux's own parser.
    """
    if len(aare) < 2 or aare[0] != AARE_TAG or aare[1] >= 0x80:
        return
    pos = 2
    result = diagnostic = None
    while pos + 2 <= len(aare):
        tag, length = aare[pos], aare[pos + 1]
        if length >= 0x80:
            return
        body = aare[pos + 2 : pos + 2 + length]
        if tag == AARE_RESULT_TAG and len(body) == 3 and body[:2] == b"\x02\x01":
            result = body[2]
        elif tag == AARE_DIAGNOSTIC_TAG and len(body) == 5 and body[2:4] == b"\x02\x01":
            diagnostic = body[4]
        pos += 2 + length
    if result not in (None, 0):
        names = {1: "rejected-permanent", 2: "rejected-transient"}
        raise ReadError(
            f"association refused: AARE result {result} ({names.get(result, '?')}), "
            f"source diagnostic {diagnostic} ({ACSE_DIAGNOSTICS.get(diagnostic, '?')})"
        )


def cosem_datetime_to_python(value) -> dt.datetime:
    """gurux GXDateTime (or a raw 12-byte octet-string) -> datetime (naive when the deviation is unspecified)."""
    if isinstance(value, (bytes, bytearray)):
        value = GXDLMSClient.changeType(bytes(value), DataType.DATETIME)
    if isinstance(value, GXDateTime):
        value = value.value
    if isinstance(value, dt.datetime):
        return value
    raise ReadError(f"not a date-time: {value!r}")


def read_meter(args: ReadArgs) -> dict:
    session = GuruxSession(args)
    try:
        session.associate()

        clock = GXDLMSClock(read_cli.CLOCK_LN)
        session.read(clock, 2)
        clock_time = cosem_datetime_to_python(clock.time)

        serial_obj = GXDLMSData(read_cli.SERIAL_LN)
        serial = read_cli.text_from_octets(session.read(serial_obj, 2))

        register = GXDLMSRegister(read_cli.ACTIVE_ENERGY_IMPORT_LN)
        scaler_unit = session.read(register, 3)
        if not isinstance(scaler_unit, list) or len(scaler_unit) != 2:
            raise ReadError(f"1.0.1.8.0.255 scaler_unit is not a 2-element structure: {scaler_unit!r}")
        scaler, unit = int(scaler_unit[0]), int(scaler_unit[1])
        # Take the raw value from the reply: gurux's Register.setValue multiplies by the
        # (float) scaler it stored, which turns integers into floats.
        reply = session.request(session.client.read(register, 2))
        raw_energy = reply.value
        if not isinstance(raw_energy, int):
            raise ReadError(f"1.0.1.8.0.255 value is not an integer: {raw_energy!r}")

        profile = []
        if not args.skip_profile:
            pg = GXDLMSProfileGeneric(read_cli.LOAD_PROFILE_LN)
            session.read(pg, 3)  # capture objects, needed to read by range and to decode rows
            columns = [
                CaptureColumn(int(obj.objectType), obj.logicalName, co.attributeIndex, co.dataIndex)
                for obj, co in pg.captureObjects
            ]
            layout = ProfileLayout.from_columns(columns)
            if args.range_from is not None:
                session.read_range(pg, args.range_from, args.range_to)
            else:
                session.read(pg, 2)
            profile = [read_cli.profile_entry(layout, row, cosem_datetime_to_python) for row in pg.buffer]

        session.release()
    finally:
        session.close()

    return {
        "clock": read_cli.iso_with_offset(clock_time),
        "serial": serial,
        "active_energy_import_wh": read_cli.apply_scaler(raw_energy, scaler),
        "scaler": scaler,
        "unit": unit,
        "profile": profile,
    }


if __name__ == "__main__":
    read_cli.run(read_meter, "Read a DLMS/COSEM meter with gurux-dlms (TCP wrapper, LN referencing).")
