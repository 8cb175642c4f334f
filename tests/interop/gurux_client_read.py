#!/usr/bin/env python3
"""Read a DLMS/COSEM meter over TCP (IEC 62056-47 wrapper or HDLC) with gurux-dlms's client.

    gurux_client_read.py HOST PORT [--client 16] [--server 1] [--auth none|low|high-gmac]
                         [--password 00000000] [--from ISO --to ISO] [--skip-profile]
                         [--transport wrapper|hdlc] [--server-physical 17|none]
                         [--key-encryption HEX] [--key-authentication HEX] [--system-title HEX]
                         [--security-policy P] [--invocation-counter N]
                         [--force-invocation-counter N | --replay-invocation-counter | --tamper-tag | --wrong-key]

Associates (HDLC: SNRM/UA first; AARQ/AARE, LN referencing; with high-gmac the ciphered
context, HLS-GMAC passes 3/4 and suite 0 protection of every APDU), reads the clock, the
serial number, 1.0.1.8.0.255 (value and scaler_unit) and the load profile 1.0.99.1.0.255
(by range when --from/--to are given, else the whole buffer), releases (RLRQ/RLRE; HDLC:
DISC/UA) and prints one JSON document (format in read_cli.py). Exits 1 with `error: ...`
on stderr on any failure, including every refusal of a negative test.

gurux-dlms builds and parses complete wrapper/HDLC frames and does the ciphering; the
socket and the framing of the byte stream are ours (wrapper_transport.py,
hdlc_transport.py), gurux_net is not used. gurux's client checks neither GCM tags nor
the meter's invocation counters: ResponseGuard does both (suite0.py) on every APDU.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gurux_dlms import GXByteBuffer, GXDateTime, GXDLMSClient, GXReplyData  # noqa: E402
from gurux_dlms.enums import Authentication, Command, DataType, InterfaceType, Security  # noqa: E402
from gurux_dlms.secure import GXDLMSSecureClient  # noqa: E402
from gurux_dlms.objects import (  # noqa: E402
    GXDLMSClock,
    GXDLMSData,
    GXDLMSProfileGeneric,
    GXDLMSRegister,
)

import acse_encoding as acse  # noqa: E402
import read_cli  # noqa: E402
import suite0  # noqa: E402
from suite0 import SecurityFailure  # noqa: E402
from read_cli import CaptureColumn, ProfileLayout, ReadArgs, ReadError  # noqa: E402
import hdlc_transport  # noqa: E402
from hdlc_transport import HdlcFrameReader  # noqa: E402
from wrapper_transport import recv_frame_bytes  # noqa: E402



class ResponseGuard:
    """The checks gurux's client leaves out, on every APDU the meter sends (before gurux parses it).

    - exception-response (e.g. deciphering-error): a clear ReadError instead of gurux's
      generic error;
    - ciphered APDUs (glo-, general-glo-ciphering, the glo-initiateResponse in AARE/RLRE):
      the GCM tag is verified with suite0.py (gurux 1.0.203 never checks tags, see
      suite0.py), the meter's invocation counter must rise strictly (gurux does not check
      it at all), the security control must be the policy's and a general-glo-ciphering
      system title must be the one the AARE gave.
    """

    def __init__(self, args: ReadArgs):
        self.args = args
        self.meter_title: bytes | None = None
        self.last_meter_ic: int | None = None

    def check(self, apdu: bytes) -> None:
        refusal = read_cli.exception_response_text(apdu)
        if refusal is not None:
            raise ReadError(f"meter refused the request: {refusal}")
        if not self.args.ciphered or not apdu:
            return
        if apdu[0] in (acse.AARE, acse.RLRE):
            self.check_acse(apdu)
        elif suite0.is_ciphered_tag(apdu[0]):
            self.check_ciphered(suite0.parse_ciphered(apdu))
        elif apdu[0] in suite0.PLAIN_TO_GLO.values() or apdu[0] in suite0.GLO_TO_PLAIN:
            pass
        elif apdu[0] in (0xC4, 0xC5, 0xC7) and self.meter_title is not None:
            raise ReadError(f"meter answered in clear ({apdu[0]:#04x}) inside a ciphered association")

    def check_acse(self, apdu: bytes) -> None:
        try:
            tag, fields = acse.fields(apdu)
            if tag == acse.AARE:
                result, _diagnostic = acse.result_and_diagnostic(fields)
                if result != 0:
                    return  # a refusal: gurux and check_aare_result report it
                title = fields.get(acse.RESPONDING_AP_TITLE)
                title = acse.inner_octets(title) if title is not None else None
                if title is None or len(title) != 8:
                    raise ReadError("ciphered AARE without an 8-byte responding-AP-title (meter system title)")
                self.meter_title = title
            user_information = fields.get(acse.USER_INFORMATION)
            user_information = acse.inner_octets(user_information) if user_information is not None else b""
        except (acse.AcseError, KeyError) as exc:
            raise ReadError(f"malformed {apdu[:1].hex()} from the meter: {exc}") from exc
        if user_information[:1] == bytes([suite0.GLO_INITIATE_RESPONSE]):
            self.check_ciphered(suite0.parse_ciphered(user_information))
        elif tag == acse.AARE:
            raise ReadError("AARE user-information is not a glo-initiateResponse in a ciphered association")

    def check_ciphered(self, c: suite0.CipheredApdu) -> None:
        if self.meter_title is None:
            raise ReadError("ciphered APDU from the meter before its system title is known")
        if c.general and c.system_title and c.system_title != self.meter_title:
            raise ReadError(
                f"general-glo-ciphering from system title {c.system_title.hex()}, "
                f"the AARE said {self.meter_title.hex()}"
            )
        if c.security_control != self.args.security_control:
            raise ReadError(
                f"meter used security control {c.security_control:#04x}, "
                f"the policy is {self.args.security_control:#04x}"
            )
        last = self.last_meter_ic
        if last is not None and c.invocation_counter <= last:
            ic = c.invocation_counter
            raise ReadError(f"meter's invocation counter {ic} is not above the previous {last} (replay)")
        try:
            suite0.unprotect_content(
                c.security_control,
                self.meter_title,
                c.invocation_counter,
                self.args.encryption_key_in_use,
                self.args.key_authentication,
                c.content,
            )
        except SecurityFailure as exc:
            raise ReadError(f"deciphering the meter's APDU failed: {exc}") from exc
        self.last_meter_ic = c.invocation_counter


class GuruxSession:
    """A gurux-dlms GXDLMSClient driven over one TCP socket."""

    def __init__(self, args: ReadArgs):
        auth = Authentication.LOW if args.auth == "low" else Authentication.NONE
        password = args.password if args.auth == "low" else None
        self.args = args
        self.hdlc = args.transport == "hdlc"
        self.debug = args.debug
        if self.hdlc:
            # gurux keeps the server HDLC address as one integer (logical << 7 | physical).
            server = hdlc_transport.server_address(args.server, args.server_physical)
            interface = InterfaceType.HDLC
        else:
            server, interface = args.server, InterfaceType.WRAPPER
        if args.ciphered:
            self.client = GXDLMSSecureClient(True, args.client, server, Authentication.HIGH_GMAC, None, interface)
            cipher = self.client.ciphering
            cipher.security = Security(args.security_control)
            cipher.systemTitle = bytearray(args.system_title)
            cipher.blockCipherKey = bytearray(args.encryption_key_in_use)
            cipher.authenticationKey = bytearray(args.key_authentication)
            cipher.invocationCounter = args.invocation_counter
        else:
            self.client = GXDLMSClient(True, args.client, server, auth, password, interface)
        if self.hdlc:
            self.client.serverAddressSize = hdlc_transport.address_size(args.server, args.server_physical)
        self.sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
        self.sock.settimeout(args.timeout)
        if self.hdlc:
            self.recv_frame = HdlcFrameReader(self.sock).recv_frame_bytes
        else:
            self.recv_frame = lambda: recv_frame_bytes(self.sock)
        self.guard = ResponseGuard(args)
        self.tamper_next = False  # negative test: flip a tag bit in the next request
        self.segments: list[bytes] = []

    def apdu_of(self, frames: list[bytes]) -> bytes:
        """The APDU carried by complete response frames (wrapper: one frame; HDLC: I-frame segments, LLC removed)."""
        if not self.hdlc:
            return frames[0][8:]
        info = b"".join(hdlc_transport.split_frame(f)[2] for f in frames)
        return info[3:] if info[:3] == bytes([0xE6, 0xE7, 0x00]) else info

    def tampered(self, frame: bytes) -> bytes:
        """The frame with the last bit of its APDU (the last GCM tag byte) flipped."""
        frame = bytes(frame)
        if not self.hdlc:
            return frame[:-1] + bytes([frame[-1] ^ 0x01])
        _control, segmented, info = hdlc_transport.split_frame(frame)
        if segmented:
            raise ReadError("--tamper-tag: the request does not fit one HDLC frame")
        return hdlc_transport.with_information(frame, info[:-1] + bytes([info[-1] ^ 0x01]))

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def exchange(self, frame: bytes, reply: GXReplyData) -> None:
        """Send one frame and feed received frames to gurux until it says the reply is complete.

        Each complete APDU goes through the ResponseGuard before gurux sees its last frame.
        """
        if self.tamper_next:
            self.tamper_next = False
            frame = self.tampered(frame)
        if self.debug:
            sys.stderr.write(f"tx {bytes(frame).hex()}\n")
        self.sock.sendall(bytes(frame))
        buffer = GXByteBuffer()
        segments = self.segments  # HDLC: I-frames of an APDU still incomplete (kept across RR exchanges)
        while True:
            received = self.recv_frame()
            if self.debug:
                sys.stderr.write(f"rx {received.hex()}\n")
            if self.hdlc:
                control, segmented, _info = hdlc_transport.split_frame(received)
                if control & 0x01 == 0:  # I-frame: part of an APDU
                    segments.append(received)
                    if not segmented:
                        apdu = self.apdu_of(segments)
                        segments.clear()
                        self.guard.check(apdu)
            else:
                self.guard.check(self.apdu_of([received]))
            buffer.set(received)
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

    def connect_link(self) -> None:
        """HDLC only: SNRM/UA sets up the link (IEC 62056-46 §6.4.4.4.3); nothing for the wrapper."""
        if not self.hdlc:
            return
        reply = GXReplyData()
        self.exchange(self.client.snrmRequest(), reply)
        self.client.parseUAResponse(reply.data)

    def disconnect_link(self) -> None:
        """HDLC only: DISC, and wait for UA or DM."""
        if not self.hdlc:
            return
        frame = self.client.disconnectRequest()
        if frame:
            self.exchange(frame, GXReplyData())

    def associate(self) -> None:
        self.connect_link()
        try:
            reply = self.request(self.client.aarqRequest())
        except ReadError as exc:
            raise ReadError(f"association refused: {exc}") from exc
        if reply.command != Command.AARE:
            raise ReadError(f"expected an AARE, got command {reply.command}")
        check_aare_result(bytes(reply.data.array()))
        try:
            self.client.parseAareResponse(reply.data)
        except Exception as exc:
            raise ReadError("association refused: " + " ".join(str(exc).split())) from exc
        if self.client.getIsAuthenticationRequired():
            if self.args.auth != "high-gmac":
                raise ReadError("meter asks for HLS authentication, but --auth is not high-gmac")
            # HLS pass 3/4: reply_to_HLS_authentication with f(StoC), check f(CtoS).
            try:
                reply = self.request(self.client.getApplicationAssociationRequest())
            except ReadError as exc:
                raise ReadError(f"HLS-GMAC authentication failed: {exc}") from exc
            try:
                self.client.parseApplicationAssociationResponse(reply.data)
            except Exception as exc:
                raise ReadError("HLS-GMAC authentication failed: " + " ".join(str(exc).split())) from exc
        elif self.args.auth == "high-gmac":
            raise ReadError("meter accepted the association without asking for HLS-GMAC authentication")
        if self.args.ciphered:
            # Negative tests act on the first request after the association (the clock GET).
            cipher = self.client.ciphering
            if self.args.force_invocation_counter is not None:
                cipher.invocationCounter = self.args.force_invocation_counter
            elif self.args.replay_invocation_counter:
                cipher.invocationCounter -= 1  # the counter of the previous request again
            self.tamper_next = self.args.tamper_tag

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
    """
    rejection = acse.refusal_text(aare)
    if rejection is not None:
        raise ReadError(f"association refused: {rejection}")


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
    # gurux prints "Encryption is applied." and the like on stdout while deciphering;
    # stdout carries the JSON document only.
    with contextlib.redirect_stdout(sys.stderr if args.debug else io.StringIO()):
        return read_meter_quietly(args)


def read_meter_quietly(args: ReadArgs) -> dict:
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
        session.disconnect_link()
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
    read_cli.run(read_meter, "Read a DLMS/COSEM meter with gurux-dlms (TCP wrapper or HDLC, LN referencing).")
