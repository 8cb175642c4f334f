#!/usr/bin/env python3
"""A small DLMS/COSEM meter built on gurux-dlms's server classes, over TCP: IEC 62056-47 wrapper or HDLC.

    gurux_meter.py PORT [--host 127.0.0.1] [--serial GRD0000000001] [--serial-type octet|visible]
                   [--ldn NAME] [--clock ISO] [--password 00000000] [--server-address 1]
                   [--transport wrapper|hdlc] [--server-physical 17|none] [--hdlc-max-info 128]
                   [--management-auth low|high-gmac] [--key-encryption HEX] [--key-authentication HEX]
                   [--server-system-title HEX] [--client-system-title HEX] [--security-policy P]
                   [--invocation-counter N] [--tamper-tag [response|aare]] [--replay-invocation-counter]
                   [--profile-start ISO] [--profile-entries 8] [--energy-scaler 0]
                   [--max-pdu N] [--lifetime SECONDS] [--verbose] [--dump-expected]

PORT 0 picks a free port. When it listens it prints `READY <port>` on stdout (one line,
flushed). With --dump-expected it prints the values it would serve as JSON and exits
without listening (format: see README.md; the read fields match read_cli.py).

Transport: the wrapper (server wPort = --server-address), or HDLC frames directly on
the TCP stream (server address = upper --server-address, lower --server-physical; 2 bytes
by default: 0x02 0x23 for 1/17; max information field --hdlc-max-info both ways, window 1).

Association (IEC 62056-5-3 §7, LN referencing):
  client SAP 16 (public)     -> mechanism lowest-level-security (none), no ciphering
  client SAP 1 (management)  -> --management-auth low: LLS with --password (no ciphering)
                                --management-auth high-gmac: HLS mechanism 5 (GMAC) in the
                                ciphered LN context, suite 0, every later APDU protected as
                                --security-policy says (default authenticated+encrypted)
A wrong mechanism or password is refused in the AARE (result rejected-permanent). A
ciphered APDU that fails (tag, key, policy, replayed invocation counter) is answered with
an exception-response in clear. A frame for another server address or from another
client SAP gets no answer at all (gurux's isTarget() just drops it): that client times out.

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

gurux-dlms's Python server does not run as shipped (1.0.203), and not at all with HDLC
or ciphering. Everything it needs is patched here, in our own subclasses and in hooks on
gurux's decipher entry points (never in site-packages); suite 0 and HLS-GMAC are done
in meter_security.py / suite0.py on gurux's AES-GCM. README.md lists each fault.
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
    Command,
    DataType,
    ErrorCode,
    InterfaceType,
    MethodAccessMode,
    ObjectType,
    RequestTypes,
    SourceDiagnostic,
    Unit,
)
from gurux_dlms.ConnectionState import ConnectionState  # noqa: E402
from gurux_dlms.GXDLMS import GXDLMS  # noqa: E402
from gurux_dlms.GXDLMSLNCommandHandler import GXDLMSLNCommandHandler  # noqa: E402
from gurux_dlms.GXDLMSSettings import GXDLMSSettings  # noqa: E402
from gurux_dlms._GXAPDU import _GXAPDU  # noqa: E402
from gurux_dlms.objects.enums import AssociationStatus  # noqa: E402
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

import acse_encoding as acse  # noqa: E402
import hdlc_transport  # noqa: E402
import read_cli  # noqa: E402
import suite0  # noqa: E402
from hdlc_transport import HdlcFrameReader, HdlcTransportError  # noqa: E402
from meter_security import (  # noqa: E402
    OutgoingCounter,
    SecureSession,
    SecurityConfig,
    exception_response,
    service_not_allowed,
)
from suite0 import SecurityFailure  # noqa: E402
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

LLC_REPLY = bytes([0xE6, 0xE7, 0x00])
"""LLC header of every APDU a server sends over HDLC (IEC 62056-46 §6.4.4.4.3.1 / Green Book §8.4.3)."""

MAX_HDLC_INFO = 245
"""Largest information field this meter agrees to: gurux-dlms's getHdlcFrame computes the
format field's length bits 8..10 without the 7 bytes of format, control, HCS and FCS, so a
frame of 256..262 bytes (information field 246..252 with a 2-byte server address) goes out
with a length field 256 too small. Frames up to 255 bytes are right."""

DEFAULT_SERVER_PHYSICAL = 0x11
"""Lower HDLC address of this meter (physical device 17), so the server address is 2 bytes."""


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
    transport: str = "wrapper"
    server_physical: int | None = DEFAULT_SERVER_PHYSICAL
    hdlc_max_info: int = 128
    management_auth: str = "low"  # client 1: "low" (LLS) or "high-gmac" (HLS-GMAC, ciphered)
    security: SecurityConfig | None = None

    def hdlc_server_address(self) -> int:
        """The server HDLC address as gurux keeps it (logical << 7 | physical for 2 bytes)."""
        return hdlc_transport.server_address(self.server_address, self.server_physical)

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
            "transport": self.transport,
            "server_physical": self.server_physical if self.transport == "hdlc" else None,
            "clients": {
                str(PUBLIC_CLIENT): {"auth": "none"},
                str(MANAGEMENT_CLIENT): (
                    {"auth": "low", "password": self.password}
                    if self.management_auth == "low"
                    else {"auth": "high-gmac", **(self.security.as_json() if self.security else {})}
                ),
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

    def __init__(self, config: MeterConfig, counter: OutgoingCounter | None = None):
        interface = InterfaceType.HDLC if config.transport == "hdlc" else InterfaceType.WRAPPER
        super().__init__(True, interface)
        self.config = config
        self.counter = counter
        # The ciphered association in progress (client 1 with HLS-GMAC), a refused ciphered
        # request waiting for its exception-response, and whether the request being served
        # arrived ciphered. Set by the decipher hook (install_decipher_hooks) and the AARQ handler.
        self.session: SecureSession | None = None
        self.pending_failure: SecurityFailure | None = None
        self.request_ciphered = False
        self.settings.__class__ = MeterSettings
        self.settings.meter_ref = weakref.ref(self)
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
        if self.config.transport == "hdlc":
            wanted = self.config.hdlc_server_address()
        else:
            wanted = self.config.server_address
        return serverAddress == wanted and clientAddress in (PUBLIC_CLIENT, MANAGEMENT_CLIENT)

    def onValidateAuthentication(self, authentication, password):
        client = self.settings.clientAddress
        if client == PUBLIC_CLIENT:
            if authentication != Authentication.NONE:
                return SourceDiagnostic.NOT_RECOGNISED
            return SourceDiagnostic.NONE
        if client == MANAGEMENT_CLIENT and self.config.management_auth == "high-gmac":
            # Reached only through secure_aarq (mechanism 5, ciphered context, deciphered
            # InitiateRequest); anything else for client 1 is refused.
            if authentication != Authentication.HIGH_GMAC or self.session is None:
                return SourceDiagnostic.MECHANISM_NAME_REGUIRED
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
        """RLRE with correct BER length octets, and the LLC header over HDLC.

        gurux writes the RLRE length as the length of the InitiateResponse carried in
        user-information (14) instead of the length of the whole RLRE body (21), and the
        user-information [30] length as 1 + n instead of 2 + n for its OCTET STRING
        (tag, length, n bytes). A strict parser (dlms-cosem) rejects both. Rewrite the
        two octets (BER definite short form; the body is < 128 bytes here).
        Over HDLC it means to put the LLC bytes E6 E7 00 first, but calls
        `replyData.set(0, LLC_REPLY_BYTES)`, which appends nothing (the value 0 is
        falsy): the RLRE goes out without LLC header and dlms-cosem refuses it.
        """
        if self.session is not None:
            self.secure_release(data)
            return
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
        if self.config.transport == "hdlc":
            rlre = bytes(reply.array()[start:end])
            reply.size = start
            reply.set(LLC_REPLY + rlre)

    def handleSnrmRequest(self, data):
        """UA for an SNRM, with the negotiated HDLC parameters (IEC 62056-46 §6.4.4.4.3.2).

        gurux's own handler reads `self.hdlc.maxInfoTX` where `self.hdlc` (an HDLC setup
        object) is None unless the application made one, so every SNRM raised
        AttributeError. Here the client's proposal is parsed with gurux's parser and
        capped at --hdlc-max-info; window sizes are 1 (gurux sends one frame, then waits
        for RR).
        """
        self.session = None  # a new link ends any association
        hdlc = self.settings.hdlc
        limit = self.config.hdlc_max_info
        hdlc.maxInfoRX = hdlc.maxInfoTX = limit
        hdlc.windowSizeRX = hdlc.windowSizeTX = 1
        GXDLMS.parseSnrmUaResponse(data, hdlc)  # the client's maxima, seen from our side
        hdlc.maxInfoTX = min(hdlc.maxInfoTX, limit)
        hdlc.maxInfoRX = min(hdlc.maxInfoRX, limit)
        hdlc.windowSizeRX = hdlc.windowSizeTX = 1
        self.reset(True)
        params = bytearray()
        for ident, value, size in (
            (0x05, hdlc.maxInfoTX, 1 if hdlc.maxInfoTX < 0x100 else 2),
            (0x06, hdlc.maxInfoRX, 1 if hdlc.maxInfoRX < 0x100 else 2),
            (0x07, hdlc.windowSizeTX, 4),
            (0x08, hdlc.windowSizeRX, 4),
        ):
            params += bytes([ident, size]) + value.to_bytes(size, "big")
        self.replyData.set(bytes([0x81, 0x80, len(params)]) + bytes(params))
        self.settings.connected = ConnectionState.HDLC

    def generateDisconnectRequest(self):
        """UA for a DISC: no information field (IEC 62056-46 §6.4.4.4.3.3).

        gurux's own version reads `self.hdlc.maxInfoTX` (None, as for SNRM) and so raised
        AttributeError, which left the client waiting for its UA.
        """
        self.session = None

    # -- ciphered associations (meter_security.py does the cryptography)

    def llc(self) -> bytes:
        """LLC header in front of every APDU the server sends over HDLC; nothing over the wrapper."""
        return LLC_REPLY if self.config.transport == "hdlc" else b""

    def handleAarqRequest(self, data, connectionInfo):
        """AARQ: gurux's own handler, except for the ciphered LN context / HLS-GMAC (secure_aarq)."""
        self.session = None
        self.pending_failure = None
        raw = bytes(data.array()[data.position :])
        if wants_security(raw):
            if self.config.security is None:
                # gurux would try to decipher without keys and send a malformed AARE.
                self.replyData.set(self.llc() + acse.build_aare(context=acse.CONTEXT_LN, result=1, diagnostic=2))
                return
            self.secure_aarq(raw, connectionInfo)
            return
        super().handleAarqRequest(data, connectionInfo)

    def secure_aarq(self, raw: bytes, connection_info) -> None:
        """Associate client 1 with HLS-GMAC in the ciphered LN context; writes the AARE into replyData.

        Checks here: context LN with ciphering (3), client 1 configured for high-gmac,
        mechanism 5 with an 8..64-byte CtoS, an 8-byte calling-AP-title (equal to
        --client-system-title if given), a glo-initiateRequest that deciphers under the
        policy. gurux then gets the AARQ with the plain InitiateRequest and negotiates
        (conformance, PDU size, DLMS version) and generates StoC; its AARE is replaced by
        one encoded in acse_encoding.py. A glo-initiateRequest that fails to decipher is
        answered with exception-response deciphering-error.
        """
        sec = self.config.security
        assert sec is not None and self.counter is not None
        out = self.replyData

        def reject(diagnostic: int, context: int = acse.CONTEXT_LN_CIPHERED) -> None:
            sys.stderr.write(f"gurux_meter: AARQ rejected, diagnostic {diagnostic}: {raw.hex()}\n")
            self.session = None
            out.set(self.llc() + acse.build_aare(context=context, result=1, diagnostic=diagnostic))

        try:
            _tag, fields = acse.fields(raw)
        except acse.AcseError:
            return reject(1)
        if acse.context_name(fields.get(acse.APPLICATION_CONTEXT, b"")) != acse.CONTEXT_LN_CIPHERED:
            return reject(2, acse.CONTEXT_LN)
        if self.settings.clientAddress != MANAGEMENT_CLIENT or self.config.management_auth != "high-gmac":
            return reject(2)
        mechanism = acse.mechanism(fields.get(acse.MECHANISM_NAME_AARQ, b""))
        if mechanism != acse.MECHANISM_HLS_GMAC:
            return reject(12 if mechanism is None else 11)
        try:
            ctos = acse.inner_octets(fields.get(acse.CALLING_AUTHENTICATION_VALUE, b""), 0x80)
            client_title = acse.inner_octets(fields.get(acse.CALLING_AP_TITLE, b""))
            user_information = acse.inner_octets(fields.get(acse.USER_INFORMATION, b""))
        except acse.AcseError:
            return reject(1)
        if not 8 <= len(ctos) <= 64:
            return reject(13)
        if len(client_title) != 8 or (sec.client_system_title and client_title != sec.client_system_title):
            return reject(3)
        session = SecureSession(sec, self.counter, client_title, ctos)
        try:
            initiate_request = session.open_initiate_request(user_information)
        except SecurityFailure as exc:
            sys.stderr.write(f"gurux_meter: AARQ refused: {exc}\n")
            out.set(self.llc() + exception_response(exc))
            return
        self.session = session
        session.last_client_ic = suite0.parse_ciphered(user_information).invocation_counter
        plain_aarq = GXByteBuffer(acse.replace_user_information(raw, initiate_request))
        start = len(out)
        super().handleAarqRequest(plain_aarq, connection_info)
        gurux_aare = bytes(out.array()[start:])
        out.size = start
        if gurux_aare.startswith(LLC_REPLY):
            gurux_aare = gurux_aare[len(LLC_REPLY) :]
        result, diagnostic = acse.leading_result(gurux_aare)
        if result != 0 or diagnostic != SourceDiagnostic.AUTHENTICATION_REQUIRED:
            # gurux refused (conformance, PDU size, version, authentication check)
            sys.stderr.write(f"gurux_meter: AARQ refused by gurux: {gurux_aare.hex()}\n")
            self.session = None
            out.set(
                self.llc()
                + acse.build_aare(
                    context=acse.CONTEXT_LN_CIPHERED,
                    result=result if result else 1,
                    diagnostic=diagnostic if diagnostic is not None else 1,
                )
            )
            return
        session.stoc = bytes(self.settings.stoCChallenge)
        initiate_response = bytes(_GXAPDU.getUserInformation(self.settings, None))
        aare = acse.build_aare(
            context=acse.CONTEXT_LN_CIPHERED,
            result=0,
            diagnostic=SourceDiagnostic.AUTHENTICATION_REQUIRED,
            responding_ap_title=sec.server_system_title,
            mechanism_name=acse.MECHANISM_HLS_GMAC,
            stoc=session.stoc,
            user_information=session.seal_initiate_response(initiate_response),
        )
        out.set(self.llc() + aare)

    def secure_release(self, data) -> None:
        """RLRE for a ciphered association: a glo-initiateResponse when the RLRQ carried user-information.

        gurux would put its InitiateResponse ciphered with the AARE's invocation counter
        again (its getUserInformation never raises the counter).
        """
        session = self.session
        self.session = None
        user_information = None
        try:
            _tag, fields = acse.fields(bytes(data.array()))
            has_user_information = acse.USER_INFORMATION in fields
        except acse.AcseError:
            has_user_information = False
        if has_user_information and session is not None:
            initiate_response = bytes(_GXAPDU.getUserInformation(self.settings, None))
            user_information = session.seal_initiate_response(initiate_response)
        self.replyData.set(self.llc() + acse.build_rlre(user_information))

    def decipher_request(self, data) -> None:
        """The decipher hook: replace the ciphered request in `data` (a GXReplyData) by its plain APDU.

        On failure the request is left as its ciphered command with no data and the
        failure is kept for handleCommand, which answers with an exception-response.
        """
        buffer = data.data
        raw = bytes(buffer.array()[buffer.position - 1 :])
        try:
            if self.session is None:
                raise SecurityFailure("ciphered APDU outside a ciphered association")
            plain = self.session.open_request(raw)
        except SecurityFailure as exc:
            sys.stderr.write(f"gurux_meter: request refused: {exc}\n")
            self.pending_failure = exc
            buffer.clear()
            data.command = Command(raw[0])
            return
        self.request_ciphered = True
        buffer.clear()
        buffer.set(plain)
        buffer.position = 0
        data.command = Command(buffer.getUInt8())

    def secure_command(self, cmd, data):
        """Serve one xDLMS request of a ciphered association: (plain response to cipher, clear answer).

        Exactly one is not None: the response APDU that handleCommand ciphers in the
        request's form, or an exception-response sent in clear (request not ciphered,
        HLS not done or failed, unsupported service).
        """
        session = self.session
        ciphered, self.request_ciphered = self.request_ciphered, False
        if not ciphered:
            return None, service_not_allowed()
        if session.failed:
            return None, service_not_allowed()
        if not session.authenticated:
            if cmd != Command.METHOD_REQUEST:
                return None, service_not_allowed()
            plain_request = bytes([0xC3]) + bytes(data.array()[data.position :])
            response = session.reply_to_hls(plain_request)
            if session.authenticated:
                self.settings.connected |= ConnectionState.DLMS
                association = self.items.findByLN(ObjectType.ASSOCIATION_LOGICAL_NAME, CURRENT_ASSOCIATION_LN)
                if association is not None:
                    association.associationStatus = AssociationStatus.ASSOCIATED
            return response, None
        start = len(self.replyData)
        saved = self.settings.maxPduSize
        # Leave room for the protection (general-glo header, SC, IC, tag) in every block.
        self.settings.maxPduSize = max(64, saved - suite0.MAX_PROTECTION_OVERHEAD)
        try:
            if cmd == Command.GET_REQUEST:
                GXDLMSLNCommandHandler.handleGetRequest(self.settings, self, data, self.replyData, None)
            elif cmd == Command.SET_REQUEST:
                GXDLMSLNCommandHandler.handleSetRequest(self.settings, self, data, self.replyData, None)
            elif cmd == Command.METHOD_REQUEST:
                GXDLMSLNCommandHandler.handleMethodRequest(self.settings, self, data, None, self.replyData, None)
            else:
                return None, service_not_allowed()
        finally:
            self.settings.maxPduSize = saved
        plain = bytes(self.replyData.array()[start:])
        self.replyData.size = start
        if plain.startswith(LLC_REPLY):
            plain = plain[len(LLC_REPLY) :]
        return plain, None

    def handleCommand(self, cmd, data, sr):
        """gurux's handleCommand, plus the ciphered association, with failures answered, not raised.

        gurux's own recovery path calls `self.receivedData.size(0)` on an int and raises
        TypeError, so an exception in an object's getValue would otherwise kill the reply:
        here it is logged and answered with a hardware-fault result.
        """
        try:
            failure, self.pending_failure = self.pending_failure, None
            continuing = self.replyData.size != 0  # HDLC: the next segment of a long reply
            frame_ = 0  # a new I-frame sequence (gurux's getHdlcFrame picks N(S)/N(R))
            clear = None
            if failure is not None:
                self.request_ciphered = False
                clear = exception_response(failure)
            elif (
                self.session is not None
                and cmd in (Command.GET_REQUEST, Command.SET_REQUEST, Command.METHOD_REQUEST)
                and data is not None
                and data.size != 0
                and not continuing
            ):
                plain, clear = self.secure_command(cmd, data)
                if plain is not None:
                    self.replyData.set(self.llc() + self.session.seal_response(plain))
            else:
                return super().handleCommand(cmd, data, sr)
            if clear is not None:
                self.replyData.set(self.llc() + clear)
            if self.config.transport == "hdlc":
                return GXDLMS.getHdlcFrame(self.settings, frame_, self.replyData)
            return GXDLMS.getWrapperFrame(self.settings, cmd, self.replyData)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            self.replyData.clear()
            self.transaction = None
            self.settings.setCount(0)
            self.settings.setIndex(0)
            return self.reportError(cmd, ErrorCode.HARDWARE_FAULT)


def wants_security(aarq: bytes) -> bool:
    """True when an AARQ asks for the ciphered LN context, HLS-GMAC or carries a glo-initiateRequest."""
    fields = acse.fields_tolerant(aarq)
    if acse.context_name(fields.get(acse.APPLICATION_CONTEXT, b"")) == acse.CONTEXT_LN_CIPHERED:
        return True
    if acse.mechanism(fields.get(acse.MECHANISM_NAME_AARQ, b"")) == acse.MECHANISM_HLS_GMAC:
        return True
    user_information = fields.get(acse.USER_INFORMATION, b"")
    return len(user_information) > 2 and user_information[2] == suite0.GLO_INITIATE_REQUEST


def meter_of(settings) -> GuruxMeter | None:
    ref = getattr(settings, "meter_ref", None)
    return ref() if ref is not None else None


def install_decipher_hooks() -> None:
    """Route gurux's decipher entry points to GuruxMeter.decipher_request for our meters' settings.

    gurux-dlms 1.0.203 calls GXDLMS.handleGloDedRequest for glo- service-specific
    requests, which builds AesGcmParameter with three positional arguments in the wrong
    slots (system title as tag, key as system title, ...) and cannot decipher anything;
    for general-glo-ciphering its server calls GXDLMS.handleGloDedResponse, whose
    AES-GCM never verifies the tag (suite0.py). Any other caller (settings without a
    meter) gets gurux's original function.
    """
    original_request = GXDLMS.handleGloDedRequest
    original_response = GXDLMS.handleGloDedResponse

    def glo_request(cls, settings, data):
        meter = meter_of(settings)
        if meter is None:
            return original_request(settings, data)
        if data.moreData & RequestTypes.FRAME:
            data.data.position = data.data.position - 1  # not complete yet: wait for the last frame
            return None
        return meter.decipher_request(data)

    def glo_response(cls, settings, data, index):
        meter = meter_of(settings)
        if meter is None or not settings.isServer:
            return original_response(settings, data, index)
        if data.moreData & RequestTypes.FRAME:
            data.data.position = data.data.position - 1
            return None
        return meter.decipher_request(data)

    GXDLMS.handleGloDedRequest = classmethod(glo_request)
    GXDLMS.handleGloDedResponse = classmethod(glo_response)


install_decipher_hooks()


# --------------------------------------------------------------------------------------
# TCP plumbing.


def serve_connection(conn: socket.socket, config: MeterConfig, verbose: bool, counter: OutgoingCounter | None) -> None:
    meter = GuruxMeter(config, counter)
    if config.transport == "hdlc":
        recv_frame = HdlcFrameReader(conn).recv_frame_bytes
    else:
        recv_frame = lambda: recv_frame_bytes(conn)  # noqa: E731
    with conn:
        conn.settimeout(120)
        while True:
            try:
                frame = recv_frame()
            except (WrapperError, HdlcTransportError, OSError):
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
    counter = OutgoingCounter(config.security.first_invocation_counter) if config.security else None
    print(f"READY {listener.getsockname()[1]}", flush=True)
    # gurux prints diagnostics ("Unknown tag", "Invalid HDLC Frame") on stdout; after READY
    # nobody reads our stdout, so send them to stderr rather than fill a pipe.
    sys.stdout = sys.stderr
    while True:
        conn, _peer = listener.accept()
        threading.Thread(target=serve_connection, args=(conn, config, verbose, counter), daemon=True).start()


def parse_args(argv=None) -> tuple[MeterConfig, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        description="DLMS/COSEM test meter on gurux-dlms (TCP wrapper or HDLC, LN referencing, optional HLS-GMAC)."
    )
    parser.add_argument("port", type=int, help="TCP port to listen on; 0 picks a free one")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (loopback by default)")
    parser.add_argument("--serial", default="GRD0000000001", help="serial number served in 0.0.96.1.0.255")
    parser.add_argument("--serial-type", choices=("octet", "visible"), default="octet", help="A-XDR type of the serial")
    parser.add_argument("--ldn", default=None, help="logical device name (default: serial with a GRD prefix, 16 max)")
    parser.add_argument("--clock", type=read_cli.parse_iso, default=None, help="fixed clock time (ISO); default: now")
    parser.add_argument("--password", default="00000000", help="LLS password for client 1")
    parser.add_argument(
        "--server-address", type=int, default=1, help="server logical address (wPort / upper HDLC address)"
    )
    parser.add_argument(
        "--transport", choices=("wrapper", "hdlc"), default="wrapper", help="IEC 62056-47 wrapper or HDLC over TCP"
    )
    parser.add_argument(
        "--server-physical",
        type=read_cli.physical_address,
        default=DEFAULT_SERVER_PHYSICAL,
        help="HDLC lower (physical) server address, 0..127 or 'none' for a 1-byte address (default 17 = 0x11)",
    )
    parser.add_argument(
        "--hdlc-max-info",
        type=int,
        default=128,
        help=f"HDLC: largest information field the meter accepts and sends, 32..{MAX_HDLC_INFO} (default 128)",
    )
    parser.add_argument(
        "--management-auth",
        choices=("low", "high-gmac"),
        default="low",
        help="client 1's mechanism: low (LLS --password) or high-gmac (HLS-GMAC in the ciphered context, suite 0)",
    )
    sec = parser.add_argument_group("security (with --management-auth high-gmac)")
    sec.add_argument(
        "--key-encryption",
        type=read_cli.hex_bytes(16),
        default=bytes.fromhex(read_cli.GREEN_BOOK_ENCRYPTION_KEY),
        help="global unicast encryption key, 16 bytes hex (default: Green Book example key)",
    )
    sec.add_argument(
        "--key-authentication",
        type=read_cli.hex_bytes(16),
        default=bytes.fromhex(read_cli.GREEN_BOOK_AUTHENTICATION_KEY),
        help="authentication key, 16 bytes hex (default: Green Book example key)",
    )
    sec.add_argument(
        "--server-system-title",
        "--system-title",
        dest="server_system_title",
        type=read_cli.hex_bytes(8),
        default=bytes.fromhex(read_cli.DEFAULT_METER_SYSTEM_TITLE),
        help=f"the meter's system title, 8 bytes hex (default {read_cli.DEFAULT_METER_SYSTEM_TITLE})",
    )
    sec.add_argument(
        "--client-system-title",
        type=read_cli.hex_bytes(8),
        default=None,
        help="accept only this client system title (default: any, learned from the AARQ)",
    )
    sec.add_argument(
        "--security-policy",
        type=read_cli.security_policy,
        default=0x30,
        help="required protection: authenticated-encrypted (0x30, default), authenticated (0x10), encrypted (0x20)",
    )
    sec.add_argument(
        "--invocation-counter",
        type=read_cli.invocation_counter,
        default=1,
        help="the meter's first invocation counter (default 1); it rises across all connections",
    )
    neg = parser.add_argument_group("negative tests (with --management-auth high-gmac): the client must refuse")
    neg.add_argument(
        "--tamper-tag",
        nargs="?",
        const="response",
        choices=("response", "aare"),
        default=None,
        help="flip one bit of the GCM tag of every ciphered response after the AARE ('response', the default), "
        "or of the AARE's glo-initiateResponse as well ('aare')",
    )
    neg.add_argument(
        "--replay-invocation-counter",
        action="store_true",
        help="cipher the first response after the AARE with the AARE's invocation counter again",
    )
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
    if not 32 <= ns.hdlc_max_info <= MAX_HDLC_INFO:
        parser.error(
            f"--hdlc-max-info must be 32..{MAX_HDLC_INFO}: gurux's getHdlcFrame writes a wrong format field "
            "for frames of 256..262 bytes"
        )
    if ns.transport == "hdlc" and ns.server_address > 0x3FFF:
        parser.error("--server-address must be <= 0x3FFF over HDLC")
    security = None
    if ns.management_auth == "high-gmac":
        security = SecurityConfig(
            encryption_key=ns.key_encryption,
            authentication_key=ns.key_authentication,
            server_system_title=ns.server_system_title,
            client_system_title=ns.client_system_title,
            security_control=ns.security_policy,
            first_invocation_counter=ns.invocation_counter,
            tamper_tag=ns.tamper_tag,
            replay_invocation_counter=ns.replay_invocation_counter,
        )
    elif ns.tamper_tag or ns.replay_invocation_counter:
        parser.error("--tamper-tag and --replay-invocation-counter need --management-auth high-gmac")
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
        transport=ns.transport,
        server_physical=ns.server_physical,
        hdlc_max_info=ns.hdlc_max_info,
        management_auth=ns.management_auth,
        security=security,
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
