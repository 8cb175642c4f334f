"""Command line and JSON output shared by gurux_client_read.py and dlms_cosem_client_read.py.

Both clients take the same arguments and print the same JSON document, so a test can
run either one against a meter (gridedge's or gurux_meter.py) and compare:

    {
      "clock": "2024-05-01T12:00:00+00:00",   # meter clock (0.0.1.0.0.255 attr 2), ISO 8601
                                               # with the offset the meter sent; no offset
                                               # when the meter left the deviation unspecified
      "serial": "GRD0000001",                  # 0.0.96.1.0.255 attr 2 as text
      "active_energy_import_wh": 123456,       # 1.0.1.8.0.255 attr 2 * 10**scaler
      "scaler": 0,                             # 1.0.1.8.0.255 attr 3, first element
      "unit": 30,                              # 1.0.1.8.0.255 attr 3, second element (30 = Wh)
      "profile": [                             # 1.0.99.1.0.255 attr 2, one entry a row
        {"time": "2024-05-01T00:00:00Z", "status": 0, "values": [A+, A-, R+, R-]}
      ]
    }

Profile values are the raw captured integers (no scaler applied). The columns are
found from the capture objects (attr 3): the first Clock (class 8) column is "time"
(converted to UTC), the first 0.0.96.10.x.255 column is "status", every other column
goes to "values" in capture order.

The command line (parse_args) adds to the original HOST PORT [--client] [--server]
[--auth none|low] [--password] [--from --to] [--skip-profile] [--timeout] [--debug]:
--transport wrapper|hdlc and --server-physical (HDLC server lower address), --auth
high-gmac with its keys, system title, security policy and first invocation counter,
and the negative-test hooks (--force-invocation-counter, --replay-invocation-counter,
--tamper-tag, --wrong-key). Defaults are the Green Book example keys and the interop
system titles below. Every failure, a refusal included, is `error: ...` and exit 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, NoReturn, Sequence

CLOCK_LN = "0.0.1.0.0.255"
SERIAL_LN = "0.0.96.1.0.255"
ACTIVE_ENERGY_IMPORT_LN = "1.0.1.8.0.255"
LOAD_PROFILE_LN = "1.0.99.1.0.255"

CLASS_DATA = 1
CLASS_REGISTER = 3
CLASS_PROFILE_GENERIC = 7
CLASS_CLOCK = 8

EXIT_USAGE = 2
"""argparse's own exit code for bad arguments."""
EXIT_FAILURE = 1
"""Exit code for any failure to connect, associate, read or decode."""


EXCEPTION_RESPONSE = 0xD8
"""xDLMS exception-response tag (IEC 62056-5-3 §9.5)."""
EXCEPTION_STATE_ERRORS = {1: "service-not-allowed", 2: "service-unknown"}
EXCEPTION_SERVICE_ERRORS = {
    1: "operation-not-possible",
    2: "service-not-supported",
    3: "other-reason",
    4: "pdu-too-long",
    5: "deciphering-error",
    6: "invocation-counter-error",
}


def exception_response_text(apdu: bytes) -> str | None:
    """A readable form of an exception-response APDU (D8 state-error service-error [IC]); None for other APDUs."""
    if len(apdu) < 3 or apdu[0] != EXCEPTION_RESPONSE:
        return None
    state = EXCEPTION_STATE_ERRORS.get(apdu[1], str(apdu[1]))
    service = EXCEPTION_SERVICE_ERRORS.get(apdu[2], str(apdu[2]))
    text = f"exception-response state-error {state}, service-error {service}"
    if apdu[2] == 6 and len(apdu) >= 7:
        text += f" (the meter expects an invocation counter of at least {int.from_bytes(apdu[3:7], 'big')})"
    return text


class ReadError(Exception):
    """A failure the client explains in one line (association refused, object missing, ...)."""


GREEN_BOOK_ENCRYPTION_KEY = "000102030405060708090A0B0C0D0E0F"
"""Global unicast encryption key of the DLMS UA Green Book examples (suite 0, 16 bytes)."""
GREEN_BOOK_AUTHENTICATION_KEY = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
"""Authentication key of the Green Book examples."""
DEFAULT_CLIENT_SYSTEM_TITLE = "4D4D4D0000000001"
"""Client system title used by the interop tests ("MMM" + 5 bytes)."""
DEFAULT_METER_SYSTEM_TITLE = "4D4D4D0000BC614E"
"""Meter system title used by the interop tests ("MMM" + 12345678)."""
DEFAULT_SERVER_PHYSICAL = 0x11
"""Default lower (physical) HDLC server address: 17, so the server address field is 2 bytes."""

SECURITY_POLICIES = {
    "authenticated-encrypted": 0x30,
    "authenticated": 0x10,
    "encrypted": 0x20,
}
"""--security-policy names -> security control byte bits (IEC 62056-5-3 §9.2.7.2.4.2), suite 0."""


@dataclass
class ReadArgs:
    """Parsed command line shared by both clients."""

    host: str
    port: int
    client: int
    server: int
    auth: str
    password: str
    range_from: dt.datetime | None
    range_to: dt.datetime | None
    timeout: float
    skip_profile: bool
    debug: bool
    transport: str = "wrapper"
    server_physical: int | None = DEFAULT_SERVER_PHYSICAL
    key_encryption: bytes = bytes.fromhex(GREEN_BOOK_ENCRYPTION_KEY)
    key_authentication: bytes = bytes.fromhex(GREEN_BOOK_AUTHENTICATION_KEY)
    system_title: bytes = bytes.fromhex(DEFAULT_CLIENT_SYSTEM_TITLE)
    security_control: int = 0x30
    invocation_counter: int = 1
    force_invocation_counter: int | None = None
    replay_invocation_counter: bool = False
    tamper_tag: bool = False
    wrong_key: bool = False

    @property
    def ciphered(self) -> bool:
        """True with --auth high-gmac: the association uses the ciphered LN context."""
        return self.auth == "high-gmac"

    @property
    def encryption_key_in_use(self) -> bytes:
        """The encryption key as sent: with --wrong-key its last bit is flipped."""
        if self.wrong_key:
            return self.key_encryption[:-1] + bytes([self.key_encryption[-1] ^ 0x01])
        return self.key_encryption


def parse_iso(text: str) -> dt.datetime:
    """Parse an ISO 8601 date-time; a value without an offset is taken as UTC."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date-time: {text!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed


def hex_bytes(length: int) -> Callable[[str], bytes]:
    """argparse type: exactly `length` bytes written in hex (spaces and colons allowed)."""

    def parse(text: str) -> bytes:
        cleaned = text.replace(" ", "").replace(":", "")
        try:
            value = bytes.fromhex(cleaned)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"not hex: {text!r}") from exc
        if len(value) != length:
            raise argparse.ArgumentTypeError(f"must be {length} bytes ({2 * length} hex digits), got {len(value)}")
        return value

    return parse


def physical_address(text: str) -> int | None:
    """--server-physical: an integer (decimal or 0x..), or 'none' for a 1-byte server address."""
    if text.lower() == "none":
        return None
    try:
        value = int(text, 0)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an address: {text!r}") from exc
    if not 0 <= value <= 0x3FFF:
        raise argparse.ArgumentTypeError(f"physical address {value} out of range 0..0x3FFF")
    return value


def invocation_counter(text: str) -> int:
    """argparse type: an unsigned 32-bit invocation counter."""
    value = int(text, 0)
    if not 0 <= value <= 0xFFFFFFFF:
        raise argparse.ArgumentTypeError(f"invocation counter {value} out of range 0..2^32-1")
    return value


def security_policy(text: str) -> int:
    """--security-policy: a name from SECURITY_POLICIES, or the security control byte (0x10/0x20/0x30)."""
    if text in SECURITY_POLICIES:
        return SECURITY_POLICIES[text]
    try:
        value = int(text, 0)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"unknown security policy {text!r}") from exc
    if value not in SECURITY_POLICIES.values():
        raise argparse.ArgumentTypeError(f"security control {value:#04x} is not 0x10, 0x20 or 0x30 (suite 0)")
    return value


def parse_args(description: str, argv: Sequence[str] | None = None) -> ReadArgs:
    """Parse the shared command line (see README.md, "Clients")."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("host", help="meter address, e.g. 127.0.0.1")
    parser.add_argument("port", type=int, help="meter TCP port (IEC 62056-47 wrapper; 4059 by default on meters)")
    parser.add_argument("--client", type=int, default=16, help="client SAP / source wPort (16 public, 1 management)")
    parser.add_argument("--server", type=int, default=1, help="server logical address / destination wPort")
    parser.add_argument(
        "--auth",
        choices=("none", "low", "high-gmac"),
        default=None,
        help="authentication mechanism: none, low (LLS password) or high-gmac (HLS mechanism 5 with "
        "suite 0 ciphering). Default: low for --client 1, else none",
    )
    parser.add_argument("--password", default="00000000", help="LLS password (with --auth low), ASCII")
    parser.add_argument("--from", dest="range_from", type=parse_iso, help="load profile range start (ISO 8601)")
    parser.add_argument("--to", dest="range_to", type=parse_iso, help="load profile range end (ISO 8601)")
    parser.add_argument("--timeout", type=float, default=10.0, help="socket timeout in seconds")
    parser.add_argument("--skip-profile", action="store_true", help="do not read the load profile")
    parser.add_argument("--debug", action="store_true", help="print a traceback on failure")
    parser.add_argument(
        "--transport", choices=("wrapper", "hdlc"), default="wrapper", help="IEC 62056-47 wrapper or HDLC over TCP"
    )
    parser.add_argument(
        "--server-physical",
        type=physical_address,
        default=DEFAULT_SERVER_PHYSICAL,
        help="HDLC only: lower (physical) server address, or 'none' for a 1-byte server address (default 17)",
    )
    sec = parser.add_argument_group("security (with --auth high-gmac)")
    sec.add_argument(
        "--key-encryption",
        type=hex_bytes(16),
        default=bytes.fromhex(GREEN_BOOK_ENCRYPTION_KEY),
        help="global unicast encryption key, 16 bytes hex (default: Green Book example key)",
    )
    sec.add_argument(
        "--key-authentication",
        type=hex_bytes(16),
        default=bytes.fromhex(GREEN_BOOK_AUTHENTICATION_KEY),
        help="authentication key, 16 bytes hex (default: Green Book example key)",
    )
    sec.add_argument(
        "--system-title",
        type=hex_bytes(8),
        default=bytes.fromhex(DEFAULT_CLIENT_SYSTEM_TITLE),
        help=f"the client's system title, 8 bytes hex (default {DEFAULT_CLIENT_SYSTEM_TITLE})",
    )
    sec.add_argument(
        "--security-policy",
        type=security_policy,
        default=0x30,
        help="protection of xDLMS APDUs: authenticated-encrypted (0x30, default), authenticated (0x10), "
        "encrypted (0x20)",
    )
    sec.add_argument(
        "--invocation-counter",
        type=invocation_counter,
        default=1,
        help="the client's first invocation counter (default 1); it rises by one per ciphered APDU",
    )
    neg = parser.add_argument_group("negative tests (with --auth high-gmac); each must make the meter refuse")
    neg.add_argument(
        "--force-invocation-counter",
        type=invocation_counter,
        default=None,
        metavar="N",
        help="send the first GET after the association with invocation counter N (a stale one)",
    )
    neg.add_argument(
        "--replay-invocation-counter",
        action="store_true",
        help="send the first GET after the association with the invocation counter of the previous APDU",
    )
    neg.add_argument(
        "--tamper-tag",
        action="store_true",
        help="flip one bit of the GCM tag of the first GET after the association",
    )
    neg.add_argument(
        "--wrong-key",
        action="store_true",
        help="use the encryption key with its last bit flipped (the AARQ fails to decipher)",
    )
    ns = parser.parse_args(argv)
    auth = ns.auth if ns.auth is not None else ("low" if ns.client == 1 else "none")
    range_from, range_to = ns.range_from, ns.range_to
    if (range_from is None) != (range_to is None):
        # One end given: open the other end wide.
        range_from = range_from or dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
        range_to = range_to or dt.datetime(2099, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc)
    if range_from is not None and range_to is not None and range_from > range_to:
        parser.error("--from is after --to")
    negative = [ns.force_invocation_counter is not None, ns.replay_invocation_counter, ns.tamper_tag, ns.wrong_key]
    if any(negative) and auth != "high-gmac":
        parser.error(
            "--force-invocation-counter, --replay-invocation-counter, --tamper-tag and --wrong-key "
            "need --auth high-gmac"
        )
    if sum(negative) > 1:
        parser.error(
            "give at most one of --force-invocation-counter, --replay-invocation-counter, --tamper-tag, --wrong-key"
        )
    return ReadArgs(
        host=ns.host,
        port=ns.port,
        client=ns.client,
        server=ns.server,
        auth=auth,
        password=ns.password,
        range_from=range_from,
        range_to=range_to,
        timeout=ns.timeout,
        skip_profile=ns.skip_profile,
        debug=ns.debug,
        transport=ns.transport,
        server_physical=ns.server_physical,
        key_encryption=ns.key_encryption,
        key_authentication=ns.key_authentication,
        system_title=ns.system_title,
        security_control=ns.security_policy,
        invocation_counter=ns.invocation_counter,
        force_invocation_counter=ns.force_invocation_counter,
        replay_invocation_counter=ns.replay_invocation_counter,
        tamper_tag=ns.tamper_tag,
        wrong_key=ns.wrong_key,
    )


def iso_with_offset(value: dt.datetime) -> str:
    """ISO 8601 with the value's own offset (no offset for a naive value), seconds precision."""
    return value.replace(microsecond=0).isoformat()


def iso_utc(value: dt.datetime) -> str:
    """ISO 8601 in UTC with a trailing Z. A naive value is taken as already UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc)
    return value.replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def apply_scaler(raw: int, scaler: int) -> int | float:
    """raw * 10**scaler (IEC 62056-6-2 §4.3.2 scaler_unit); an int when the result is whole."""
    if scaler >= 0:
        return raw * 10**scaler
    # Divide by a power of ten instead of multiplying by 10**-n: 2301 / 10 == 230.1 exactly as printed.
    value = raw / 10 ** (-scaler)
    return int(value) if value == int(value) else value


def text_from_octets(value: bytes | bytearray | str) -> str:
    """A serial number as text: visible-string as is, octet-string as ASCII if printable, else hex."""
    if isinstance(value, str):
        return value
    raw = bytes(value)
    if raw and all(0x20 <= b < 0x7F for b in raw):
        return raw.decode("ascii")
    return raw.hex()


@dataclass(frozen=True)
class CaptureColumn:
    """One capture object definition (IEC 62056-6-2 §4.3.6): class id, logical name, attribute, data index."""

    class_id: int
    logical_name: str
    attribute: int
    data_index: int = 0


@dataclass
class ProfileLayout:
    """Where time, status and values sit in a load profile row."""

    time_index: int
    status_index: int | None
    value_indexes: list[int] = field(default_factory=list)

    @classmethod
    def from_columns(cls, columns: Sequence[CaptureColumn]) -> "ProfileLayout":
        """Clock column -> time, first 0.0.96.10.x.255 column -> status, the rest -> values."""
        time_index = next((i for i, c in enumerate(columns) if c.class_id == CLASS_CLOCK), None)
        if time_index is None:
            raise ReadError(f"load profile has no Clock capture object: {columns}")
        status_index = next(
            (
                i
                for i, c in enumerate(columns)
                if c.logical_name.startswith("0.0.96.10.") and c.logical_name.endswith(".255")
            ),
            None,
        )
        values = [i for i in range(len(columns)) if i not in (time_index, status_index)]
        return cls(time_index, status_index, values)


def profile_entry(layout: ProfileLayout, row: Sequence[Any], time_of: Callable[[Any], dt.datetime]) -> dict:
    """One JSON profile entry from a decoded buffer row. `time_of` turns the clock cell into a datetime."""
    if len(row) <= max([layout.time_index, layout.status_index or 0, *layout.value_indexes]):
        raise ReadError(f"profile row has {len(row)} cells, capture objects promise more: {row!r}")
    status = row[layout.status_index] if layout.status_index is not None else None
    return {
        "time": iso_utc(time_of(row[layout.time_index])),
        "status": int(status) if status is not None else None,
        "values": [int(row[i]) if row[i] is not None else None for i in layout.value_indexes],
    }


def emit(document: dict) -> None:
    """Print the JSON document on stdout, one line, keys in a stable order."""
    sys.stdout.write(json.dumps(document, sort_keys=False) + "\n")
    sys.stdout.flush()


def die(message: str) -> NoReturn:
    """Print `error: message` on stderr and exit with EXIT_FAILURE."""
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()
    raise SystemExit(EXIT_FAILURE)


def run(main: Callable[[ReadArgs], dict], description: str, argv: Sequence[str] | None = None) -> None:
    """Parse arguments, run `main`, print its document; turn any exception into a one-line error and exit 1."""
    args = parse_args(description, argv)
    try:
        document = main(args)
    except ReadError as exc:
        if args.debug:
            traceback.print_exc()
        die(str(exc))
    except (OSError, TimeoutError) as exc:
        if args.debug:
            traceback.print_exc()
        die(f"I/O with {args.host}:{args.port} failed: {exc.__class__.__name__}: {exc}")
    except Exception as exc:  # noqa: BLE001 - any library failure must become a clear exit, not a hang
        if args.debug:
            traceback.print_exc()
        die(f"{exc.__class__.__name__}: {exc}")
    emit(document)
