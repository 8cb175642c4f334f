#!/usr/bin/env python3
"""A small DLMS/COSEM meter built on gurux-dlms's server classes, over TCP with the IEC 62056-47 wrapper.

    gurux_meter.py PORT [--host 127.0.0.1] [--serial GRD0000000001] [--serial-type octet|visible]
                   [--ldn NAME] [--clock ISO] [--password 00000000] [--server-address 1]
                   [--profile-start ISO] [--profile-entries 8] [--energy-scaler 0]
                   [--max-pdu N] [--lifetime SECONDS] [--verbose] [--dump-expected]

PORT 0 picks a free port. When it listens it prints `READY <port>` on stdout (one line,
flushed). With --dump-expected it prints the values it would serve as JSON and exits
without listening (format: see README.md; the read fields match read_cli.py).

Association (IEC 62056-5-3 §7, LN referencing, no ciphering):
  client SAP 16 (public)     -> mechanism lowest-level-security (none) only
  client SAP 1 (management)  -> mechanism low-level-security (LLS) with --password only
  server logical address     -> --server-address (wrapper destination wPort), default 1
A wrong mechanism or password is refused in the AARE (result rejected-permanent). A frame
for another server address or from another client SAP gets no answer at all (gurux's
isTarget() just drops it), so such a client times out.

Objects (all attributes read-only):
  0.0.40.0.0.255  Association LN (class 15)
  0.0.1.0.0.255   Clock (class 8): attr 2 = --clock, else the current UTC time; deviation 0
  0.0.96.1.0.255  Data (class 1): serial number, octet-string or visible-string
  0.0.42.0.0.255  Data (class 1): COSEM logical device name, octet-string (--ldn)
  0.0.96.10.1.255 Data (class 1): status, unsigned
  1.0.1.8.0.255   Register: A+ raw 123456, double-long-unsigned, scaler_unit {0, 30 Wh}
                  (scaler from --energy-scaler; the raw value stays 123456)
  1.0.2.8.0.255   Register: A- 6543 Wh, {0, 30 Wh}
  1.0.3.8.0.255   Register: R+ 4321 varh, {0, 32 varh}
  1.0.4.8.0.255   Register: R- 1234 varh, {0, 32 varh}
  1.0.32.7.0.255  Register: voltage L1 2301, long-unsigned, {-1, 35 V} = 230.1 V
  1.0.99.1.0.255  Profile generic (class 7): capture period 900 s, capture objects
                  clock, status, A+, A-, R+, R- (attr 2 each); --profile-entries rows
                  every 15 minutes from --profile-start; selective access by range
                  (selector 1, restricting object = clock) and by entry (selector 2).

gurux-dlms's Python server does not run as shipped (1.0.203). Everything it needs is
patched here, in our own subclasses, never in site-packages; README.md lists each fault.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import signal
import socket
import sys
import threading
import traceback
import weakref
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gurux_dlms import GXByteBuffer, GXDateTime, GXDLMSClient, GXDLMSServer  # noqa: E402
from gurux_dlms.enums import (  # noqa: E402
    AccessMode,
    Authentication,
    DataType,
    ErrorCode,
    InterfaceType,
    MethodAccessMode,
    ObjectType,
    SourceDiagnostic,
    Unit,
)
from gurux_dlms.GXDLMSSettings import GXDLMSSettings  # noqa: E402
from gurux_dlms.GXServerReply import GXServerReply  # noqa: E402
from gurux_dlms.internal._GXCommon import _GXCommon  # noqa: E402
from gurux_dlms.ValueEventArgs import ValueEventArgs  # noqa: E402
from gurux_dlms.GXDLMSLongTransaction import GXDLMSLongTransaction  # noqa: E402
from gurux_dlms.objects import (  # noqa: E402
    GXDLMSAssociationLogicalName,
    GXDLMSClock,
    GXDLMSData,
    GXDLMSProfileGeneric,
    GXDLMSRegister,
)

import read_cli  # noqa: E402
from wrapper_transport import WrapperError, recv_frame_bytes  # noqa: E402

UTC = dt.timezone.utc

PUBLIC_CLIENT = 16
MANAGEMENT_CLIENT = 1

LOGICAL_DEVICE_NAME_LN = "0.0.42.0.0.255"
STATUS_LN = "0.0.96.10.1.255"
CURRENT_ASSOCIATION_LN = "0.0.40.0.0.255"

UNIT_WH = 30
UNIT_VARH = 32
UNIT_V = 35

PROFILE_CAPTURE_PERIOD_S = 900


@dataclass(frozen=True)
class RegisterSpec:
    """A Register (class 3) the meter serves: raw value, A-XDR type, scaler (power of ten) and unit code."""

    logical_name: str
    raw_value: int
    data_type: DataType
    scaler: int
    unit: int


REGISTERS = (
    RegisterSpec("1.0.1.8.0.255", 123456, DataType.UINT32, 0, UNIT_WH),
    RegisterSpec("1.0.2.8.0.255", 6543, DataType.UINT32, 0, UNIT_WH),
    RegisterSpec("1.0.3.8.0.255", 4321, DataType.UINT32, 0, UNIT_VARH),
    RegisterSpec("1.0.4.8.0.255", 1234, DataType.UINT32, 0, UNIT_VARH),
    RegisterSpec("1.0.32.7.0.255", 2301, DataType.UINT16, -1, UNIT_V),
)
PROFILE_VALUE_REGISTERS = ("1.0.1.8.0.255", "1.0.2.8.0.255", "1.0.3.8.0.255", "1.0.4.8.0.255")


@dataclass(frozen=True)
class MeterConfig:
    """Everything that decides what the meter serves."""

    serial: str
    serial_visible: bool
    logical_device_name: str
    fixed_clock: dt.datetime | None
    password: str
    server_address: int
    profile_start: dt.datetime
    profile_entries: int
    max_pdu: int
    registers: tuple[RegisterSpec, ...] = REGISTERS

    def profile_rows(self) -> list[tuple[dt.datetime, int, int, int, int, int]]:
        """(time UTC, status, A+ Wh, A- Wh, R+ varh, R- varh), one row per 15-minute interval.

        Cumulative values rise by fixed steps so every row differs; row 3 carries status 0x80
        (power down) so a reader that drops the status column is caught.
        """
        rows = []
        for i in range(self.profile_entries):
            time = self.profile_start + dt.timedelta(seconds=PROFILE_CAPTURE_PERIOD_S * i)
            status = 0x80 if i == 3 else 0
            rows.append((time, status, 122000 + 180 * i, 6500 + 5 * i, 4000 + 40 * i, 1200 + 3 * i))
        return rows

    def expected(self) -> dict:
        """The values served, in the read_cli.py document shape plus the other objects."""
        energy = self.registers[0]
        return {
            "clock": read_cli.iso_with_offset(self.fixed_clock) if self.fixed_clock else None,
            "serial": self.serial,
            "active_energy_import_wh": read_cli.apply_scaler(energy.raw_value, energy.scaler),
            "scaler": energy.scaler,
            "unit": energy.unit,
            "profile": [
                {"time": read_cli.iso_utc(t), "status": s, "values": [ap, am, rp, rm]}
                for t, s, ap, am, rp, rm in self.profile_rows()
            ],
            "serial_type": "visible-string" if self.serial_visible else "octet-string",
            "logical_device_name": self.logical_device_name,
            "registers": {
                r.logical_name: {
                    "raw": r.raw_value,
                    "scaler": r.scaler,
                    "unit": r.unit,
                    "value": read_cli.apply_scaler(r.raw_value, r.scaler),
                }
                for r in self.registers
            },
            "profile_capture_period_s": PROFILE_CAPTURE_PERIOD_S,
            "profile_capture_objects": [
                [8, read_cli.CLOCK_LN, 2, 0],
                [1, STATUS_LN, 2, 0],
                *[[3, ln, 2, 0] for ln in PROFILE_VALUE_REGISTERS],
            ],
            "server_address": self.server_address,
            "clients": {
                str(PUBLIC_CLIENT): {"auth": "none"},
                str(MANAGEMENT_CLIENT): {"auth": "low", "password": self.password},
            },
        }


# --------------------------------------------------------------------------------------
# COSEM objects: gurux classes with the attributes that gurux gets wrong overridden.


class LiveClock(GXDLMSClock):
    """Clock whose attribute 2 is the fixed time, or the current UTC time at each read."""

    def __init__(self, fixed: dt.datetime | None):
        super().__init__(read_cli.CLOCK_LN)
        self.fixed = fixed
        self.timeZone = 0  # attr 3: deviation of local time from UTC, minutes
        self.clockBase = 1  # attr 9: internal crystal
        # attrs 5/6 (daylight savings begin/end): gurux's default GXDateTime() has no value
        # and fails to encode; give fixed dates. DST is disabled (attr 8) and the deviation is 0.
        self.begin = GXDateTime(dt.datetime(2024, 3, 31, 1, 0, tzinfo=UTC))
        self.end = GXDateTime(dt.datetime(2024, 10, 27, 1, 0, tzinfo=UTC))
        self.deviation = 0
        self.enabled = False

    def getValue(self, settings, e):
        if e.index == 2:
            now = self.fixed or dt.datetime.now(UTC).replace(microsecond=0)
            self.time = GXDateTime(now)
        return super().getValue(settings, e)


class ExactRegister(GXDLMSRegister):
    """Register whose scaler_unit (attr 3) carries the exact integer scaler.

    gurux stores the scaler as the multiplier 10**scaler and encodes
    floor(log10(multiplier)), which float rounding makes 2 for 1000.0 and 5 for 1e6:
    a kWh register (scaler 3) would go out as scaler 2.
    """

    def __init__(self, spec: RegisterSpec):
        super().__init__(spec.logical_name)
        self.exact_scaler = spec.scaler
        self.scaler = 10.0**spec.scaler
        self.unit = Unit(spec.unit)
        self.value = spec.raw_value
        self.setDataType(2, spec.data_type)

    def getValue(self, settings, e):
        if e.index == 3:
            data = GXByteBuffer()
            data.setUInt8(DataType.STRUCTURE)
            data.setUInt8(2)
            _GXCommon.setData(settings, data, DataType.INT8, self.exact_scaler)
            _GXCommon.setData(settings, data, DataType.ENUM, int(self.unit))
            return data.array()
        return super().getValue(settings, e)


class RangeProfile(GXDLMSProfileGeneric):
    """Profile generic whose selective access we do ourselves.

    gurux's own buffer filtering (GXDLMSProfileGeneric.__getProfileGenericData) calls
    ValueEventArgs.getRowEndIndex(), which does not exist, compares a datetime with 0
    (`tm >= start >= 0`), and wraps the selected columns in an extra list. Here the rows
    are filtered in Python and encoded by gurux's own getData().
    """

    def getValue(self, settings, e):
        if e.index != 2 or not e.selector or e.parameters is None:
            return super().getValue(settings, e)
        try:
            rows, columns = self.select(e.selector, e.parameters)
        except (ValueError, TypeError, IndexError) as exc:
            sys.stderr.write(f"gurux_meter: bad selective access {e.selector} {e.parameters!r}: {exc}\n")
            e.error = ErrorCode.OTHER_REASON
            return None
        return self.getData(settings, e, rows, columns)

    def select(self, selector: int, parameters) -> tuple[list, list | None]:
        if selector == 1:
            restricting, start, end, selected = parameters[0], parameters[1], parameters[2], parameters[3]
            clock_column = next(i for i, (obj, _co) in enumerate(self.captureObjects) if obj.objectType == 8)
            clock_obj = self.captureObjects[clock_column][0]
            restricting_ln = ".".join(str(b) for b in bytes(restricting[1]))
            if int(restricting[0]) != 8 or restricting_ln != clock_obj.logicalName or int(restricting[2]) != 2:
                raise ValueError(f"restricting object must be the clock, got {restricting!r}")
            start_t, end_t = cosem_time(start), cosem_time(end)
            rows = [row for row in self.buffer if start_t <= cosem_time(row[clock_column]) <= end_t]
            return rows, self.columns(selected)
        if selector == 2:
            first, last = int(parameters[0]), int(parameters[1])
            first_col, last_col = int(parameters[2]), int(parameters[3])
            first = max(first, 1)
            last = len(self.buffer) if last == 0 else min(last, len(self.buffer))
            rows = self.buffer[first - 1 : last]
            # from/to_selected_value are 1-based column indexes, 0 = last column
            # (IEC 62056-6-2 §4.3.6 entry_descriptor). gurux's own client and server treat
            # the fourth field as a column *count*; this meter follows the standard.
            columns = None
            if first_col > 1 or last_col != 0:
                last_col = len(self.captureObjects) if last_col == 0 else last_col
                columns = self.captureObjects[max(first_col, 1) - 1 : last_col]
                if not columns:
                    raise ValueError(f"empty column selection {first_col}..{last_col}")
            return rows, columns
        raise ValueError(f"selector {selector} not supported")

    def columns(self, selected) -> list | None:
        """Capture objects listed in a range descriptor's selected_values; None (= all) when empty."""
        if not selected:
            return None
        chosen = []
        for item in selected:
            ln = ".".join(str(b) for b in bytes(item[1]))
            match = [
                (obj, co)
                for obj, co in self.captureObjects
                if int(obj.objectType) == int(item[0]) and obj.logicalName == ln and co.attributeIndex == int(item[2])
            ]
            if not match:
                raise ValueError(f"selected value {item!r} is not a capture object")
            chosen.append(match[0])
        return chosen

    def getData(self, settings, e, table, columns):
        # gurux's getData writes one structure per row but counts cells of *all* capture
        # objects when columns are given; pass only the selected cells.
        if columns:
            keep = [i for i, c in enumerate(self.captureObjects) if c in columns]
            table = [[row[i] for i in keep] for row in table]
            saved = self.captureObjects
            self.captureObjects = [saved[i] for i in keep]
            try:
                return super().getData(settings, e, table, None)
            finally:
                self.captureObjects = saved
        return super().getData(settings, e, table, None)


class CurrentAssociation(GXDLMSAssociationLogicalName):
    """Association LN (class 15) whose object_list (attr 2) can be read.

    GXDLMSAssociationLogicalName.getObjects reads `e.isSkipMaxPduSize`, which
    ValueEventArgs does not have (it has `skipMaxPduSize`), and fills access rights
    only when `e.server` is set, which the GET handler never does. Give the event both.
    """

    def __init__(self, meter_ref):
        super().__init__(CURRENT_ASSOCIATION_LN)
        self.meter_ref = meter_ref
        # Defaults that gurux cannot encode: cypheringInfo [] is not an octet-string, SAPs None.
        self.xDLMSContextInfo.cypheringInfo = b""
        self.xDLMSContextInfo.dlmsVersionNumber = 6
        self.clientSAP = 0
        self.serverSAP = 0

    def getValue(self, settings, e):
        if e.index == 2:
            e.isSkipMaxPduSize = getattr(e, "skipMaxPduSize", False)
            if e.server is None:
                e.server = self.meter_ref()
        return super().getValue(settings, e)


def cosem_time(value) -> dt.datetime:
    """A COSEM date-time (GXDateTime, datetime, or 12-byte octet-string) as an aware UTC datetime.

    An unspecified deviation (0x8000) is taken as UTC: this meter keeps UTC.
    """
    if isinstance(value, (bytes, bytearray)):
        value = GXDLMSClient.changeType(bytes(value), DataType.DATETIME)
    if isinstance(value, GXDateTime):
        value = value.value
    if not isinstance(value, dt.datetime):
        raise ValueError(f"not a date-time: {value!r}")
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def build_objects(config: MeterConfig, meter_ref=lambda: None) -> list:
    """The COSEM object list, as fresh gurux objects (one set per connection)."""
    clock = LiveClock(config.fixed_clock)

    serial = GXDLMSData(read_cli.SERIAL_LN)
    if config.serial_visible:
        serial.value = config.serial
        serial.setDataType(2, DataType.STRING)
    else:
        serial.value = config.serial.encode("ascii")
        serial.setDataType(2, DataType.OCTET_STRING)

    ldn = GXDLMSData(LOGICAL_DEVICE_NAME_LN)
    ldn.value = config.logical_device_name.encode("ascii")
    ldn.setDataType(2, DataType.OCTET_STRING)

    status = GXDLMSData(STATUS_LN)
    status.value = 0
    status.setDataType(2, DataType.UINT8)

    registers = {}
    for spec in config.registers:
        registers[spec.logical_name] = ExactRegister(spec)

    profile = RangeProfile(read_cli.LOAD_PROFILE_LN)
    profile.addCaptureObject(clock, 2, 0)
    profile.addCaptureObject(status, 2, 0)
    for ln in PROFILE_VALUE_REGISTERS:
        profile.addCaptureObject(registers[ln], 2, 0)
    profile.capturePeriod = PROFILE_CAPTURE_PERIOD_S
    profile.sortMethod = 1  # FIFO
    for time, stat, ap, am, rp, rm in config.profile_rows():
        profile.buffer.append([GXDateTime(time), stat, ap, am, rp, rm])
    profile.entriesInUse = len(profile.buffer)
    profile.profileEntries = max(960, len(profile.buffer))  # 10 days of 15-minute rows

    association = CurrentAssociation(meter_ref)
    objects = [association, clock, serial, ldn, status, *registers.values(), profile]
    # gurux's initialize() fills an empty object list with `objectList.append(self.items)`,
    # which raises TypeError (a collection is not a GXDLMSObject): fill it ourselves.
    for obj in objects:
        association.objectList.append(obj)
    return objects


# --------------------------------------------------------------------------------------
# The server: gurux's GXDLMSServer plus the methods its command handlers call but it lacks.


class ServerReply(GXServerReply):
    """GXServerReply with the accessors GXDLMSServer.handleRequest/handleCommand call (absent in 1.0.203)."""

    def setReply(self, value):
        self.reply = value

    def getConnectionInfo(self):
        return self.connectionInfo

    def setCount(self, value):
        self.count = value

    def getCount(self):
        return self.count


class LongTransaction(GXDLMSLongTransaction):
    """GXDLMSLongTransaction with setData(), which getRequestNextDataBlock calls (absent in 1.0.203)."""

    def setData(self, value):
        self.data.clear()
        self.data.set(value)


class MeterSettings(GXDLMSSettings):
    """GXDLMSSettings that honours the server's max PDU size.

    _GXAPDU.parseInitiate clamps a too-large proposed PDU size with
    `settings.setMaxPduSize = settings.maxServerPDUSize`, an assignment to a new attribute
    rather than to maxPduSize, so the server always adopts the client's proposal. This
    property turns that assignment into the intended one.
    """

    @property
    def setMaxPduSize(self):
        return self.maxPduSize

    @setMaxPduSize.setter
    def setMaxPduSize(self, value):
        self.maxPduSize = value

    def getMaxPduSize(self):
        """Called by getRequestNextDataBlock; GXDLMSSettings has no such accessor."""
        return self.maxPduSize


class GuruxMeter(GXDLMSServer):
    """One association's worth of gurux server state (one instance per TCP connection)."""

    def __init__(self, config: MeterConfig):
        super().__init__(True, InterfaceType.WRAPPER)
        self.config = config
        self.settings.__class__ = MeterSettings
        self.settings.maxServerPDUSize = config.max_pdu
        # getRequestNextDataBlock reads settings.gbtWndowSize (sic); give it the real value.
        self.settings.gbtWndowSize = self.settings.gbtWindowSize
        me = weakref.ref(self)
        for obj in build_objects(config, me):
            self.items.append(obj)
        self.initialize()

    # -- methods the LN command handler calls on the server but GXDLMSServer does not define

    def notifyRead(self, *args):
        """Called (without the event) before each GET.request-normal value is encoded; nothing to do."""

    def notifyConnected(self, connection_info):
        self.onConnected(connection_info)

    def getTransaction(self):
        return self.transaction

    def setTransaction(self, transaction):
        """Store a long-GET transaction, repaired for getRequestNextDataBlock.

        The GET handler creates GXDLMSLongTransaction(e, ...) with a single ValueEventArgs
        as `targets`, then the next-block handler iterates over `targets` and calls
        `setData()`, which GXDLMSLongTransaction lacks: make targets a list and give the
        transaction our subclass.
        """
        if transaction is not None:
            if not isinstance(transaction, LongTransaction):
                transaction.__class__ = LongTransaction
            if isinstance(transaction.targets, ValueEventArgs):
                transaction.targets = [transaction.targets]
        self.transaction = transaction

    # -- GXDLMSServer's abstract hooks

    def isTarget(self, serverAddress, clientAddress):
        return serverAddress == self.config.server_address and clientAddress in (PUBLIC_CLIENT, MANAGEMENT_CLIENT)

    def onValidateAuthentication(self, authentication, password):
        client = self.settings.clientAddress
        if client == PUBLIC_CLIENT:
            if authentication != Authentication.NONE:
                return SourceDiagnostic.NOT_RECOGNISED
            return SourceDiagnostic.NONE
        if client == MANAGEMENT_CLIENT:
            if authentication != Authentication.LOW:
                return SourceDiagnostic.MECHANISM_NAME_REGUIRED
            given = bytes(password or b"")
            if given != self.config.password.encode("ascii"):
                return SourceDiagnostic.AUTHENTICATION_FAILURE
            return SourceDiagnostic.NONE
        return SourceDiagnostic.NO_REASON_GIVEN

    def onGetAttributeAccess(self, arg):
        return AccessMode.READ

    def onGetMethodAccess(self, arg):
        return MethodAccessMode.NO_ACCESS

    def onFindObject(self, objectType, sn, ln):
        return None

    def onPreRead(self, args=None):
        pass

    def onPostRead(self, args=None):
        pass

    def onPreGet(self, args=None):
        pass

    def onPostGet(self, args=None):
        pass

    def onPreWrite(self, args=None):
        pass

    def onPostWrite(self, args=None):
        pass

    def onPreAction(self, args=None):
        pass

    def onPostAction(self, args=None):
        pass

    def onConnected(self, connectionInfo):
        association = self.items.findByLN(ObjectType.ASSOCIATION_LOGICAL_NAME, CURRENT_ASSOCIATION_LN)
        if association is not None:
            association.clientSAP = self.settings.clientAddress
            association.serverSAP = self.settings.serverAddress

    def onInvalidConnection(self, connectionInfo):
        pass

    def onDisconnected(self, connectionInfo):
        pass

    def handleReleaseRequest(self, data):
        """RLRE with correct BER length octets.

        gurux writes the RLRE length as the length of the InitiateResponse carried in
        user-information (14) instead of the length of the whole RLRE body (21), and the
        user-information [30] length as 1 + n instead of 2 + n for its OCTET STRING
        (tag, length, n bytes). A strict parser (dlms-cosem) rejects both. Rewrite the
        two octets (BER definite short form; the body is < 128 bytes here).
        """
        start = len(self.replyData)
        super().handleReleaseRequest(data)
        reply = self.replyData
        end = len(reply)
        if end - start < 2 or reply.getUInt8(start) != 0x63 or end - start - 2 >= 0x80:
            return
        reply.setUInt8(end - start - 2, start + 1)  # gurux order: (value, index)
        user_info = start + 5  # after 63 LL 80 01 00
        if end > user_info + 1 and reply.getUInt8(user_info) == 0xBE:
            reply.setUInt8(end - user_info - 2, user_info + 1)

    def handleCommand(self, cmd, data, sr):
        """gurux's handleCommand, with failures logged and answered with a hardware-fault result.

        gurux's own recovery path calls `self.receivedData.size(0)` on an int and raises
        TypeError, so an exception in an object's getValue would otherwise kill the reply.
        """
        try:
            return super().handleCommand(cmd, data, sr)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            self.replyData.clear()
            self.transaction = None
            self.settings.setCount(0)
            self.settings.setIndex(0)
            return self.reportError(cmd, ErrorCode.HARDWARE_FAULT)


# --------------------------------------------------------------------------------------
# TCP plumbing.


def serve_connection(conn: socket.socket, config: MeterConfig, verbose: bool) -> None:
    meter = GuruxMeter(config)
    with conn:
        conn.settimeout(120)
        while True:
            try:
                frame = recv_frame_bytes(conn)
            except (WrapperError, OSError):
                return
            if verbose:
                sys.stderr.write(f"rx {frame.hex()}\n")
            request = ServerReply(frame)
            try:
                meter.handleRequest(request)
            except Exception:  # noqa: BLE001 - a bad frame ends this connection, not the meter
                traceback.print_exc(file=sys.stderr)
                return
            reply = request.reply
            if reply:
                if verbose:
                    sys.stderr.write(f"tx {bytes(reply).hex()}\n")
                try:
                    conn.sendall(bytes(reply))
                except OSError:
                    return


def serve(config: MeterConfig, host: str, port: int, lifetime: float, verbose: bool) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(16)
    if lifetime > 0:
        timer = threading.Timer(lifetime, lambda: os.kill(os.getpid(), signal.SIGTERM))
        timer.daemon = True
        timer.start()
    print(f"READY {listener.getsockname()[1]}", flush=True)
    while True:
        conn, _peer = listener.accept()
        threading.Thread(target=serve_connection, args=(conn, config, verbose), daemon=True).start()


def parse_args(argv=None) -> tuple[MeterConfig, argparse.Namespace]:
    parser = argparse.ArgumentParser(description="DLMS/COSEM test meter on gurux-dlms (TCP wrapper, LN).")
    parser.add_argument("port", type=int, help="TCP port to listen on; 0 picks a free one")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (loopback by default)")
    parser.add_argument("--serial", default="GRD0000000001", help="serial number served in 0.0.96.1.0.255")
    parser.add_argument("--serial-type", choices=("octet", "visible"), default="octet", help="A-XDR type of the serial")
    parser.add_argument("--ldn", default=None, help="logical device name (default: serial with a GRD prefix, 16 max)")
    parser.add_argument("--clock", type=read_cli.parse_iso, default=None, help="fixed clock time (ISO); default: now")
    parser.add_argument("--password", default="00000000", help="LLS password for client 1")
    parser.add_argument("--server-address", type=int, default=1, help="server logical address (wPort)")
    parser.add_argument(
        "--profile-start",
        type=read_cli.parse_iso,
        default=dt.datetime(2024, 5, 1, tzinfo=UTC),
        help="first profile row",
    )
    parser.add_argument("--profile-entries", type=int, default=8, help="number of 15-minute profile rows")
    parser.add_argument("--energy-scaler", type=int, default=0, help="scaler of 1.0.1.8.0.255 (raw value stays 123456)")
    parser.add_argument("--max-pdu", type=int, default=0xFFFF, help="server max receive PDU size (small forces blocks)")
    parser.add_argument("--lifetime", type=float, default=0, help="exit after this many seconds (0 = run until killed)")
    parser.add_argument("--verbose", action="store_true", help="log every frame on stderr")
    parser.add_argument("--dump-expected", action="store_true", help="print the served values as JSON and exit")
    ns = parser.parse_args(argv)
    if not ns.serial.isascii():
        parser.error("--serial must be ASCII")
    if not 64 <= ns.max_pdu <= 0xFFFF:
        parser.error("--max-pdu must be 64..65535 (gurux refuses an association below 64)")
    if ns.profile_entries < 0:
        parser.error("--profile-entries must be >= 0")
    default_ldn = ns.serial if ns.serial.startswith("GRD") else "GRD" + ns.serial
    ldn = ns.ldn if ns.ldn is not None else default_ldn[:16]
    clock = ns.clock.astimezone(UTC).replace(microsecond=0) if ns.clock else None
    config = MeterConfig(
        serial=ns.serial,
        serial_visible=ns.serial_type == "visible",
        logical_device_name=ldn,
        fixed_clock=clock,
        password=ns.password,
        server_address=ns.server_address,
        profile_start=ns.profile_start.astimezone(UTC),
        profile_entries=ns.profile_entries,
        max_pdu=ns.max_pdu,
        registers=(dataclasses.replace(REGISTERS[0], scaler=ns.energy_scaler), *REGISTERS[1:]),
    )
    return config, ns


def main(argv=None) -> None:
    config, ns = parse_args(argv)
    if ns.dump_expected:
        print(json.dumps(config.expected(), indent=2))
        return
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    try:
        serve(config, ns.host, ns.port, ns.lifetime, ns.verbose)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
