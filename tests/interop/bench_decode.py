"""Times gurux-dlms and dlms-cosem decoding the load-profile responses of `gridedge bench codec`.

    bench_decode.py MANIFEST.json

`gridedge bench codec` writes the manifest and one hex file per case (one APDU, or for
HDLC the whole frame stream, per line) and runs this script with the interop venv's
Python; it compares the times printed here with its own. The bytes are those of
gridedge's `dlms::bench_fixtures`: a Profile generic buffer of N rows, each
structure { octet-string(12) date-time, unsigned status, 4 x double-long-unsigned }.

Cases (ids as in gridedge, `form/rows/operation`), and what each library is asked to do;
each is the library's public decoding path a client of it would use, and each run ends
with the whole profile as Python values (checked: row count, first and last +A register):

  plain-normal/N/decode         gurux: GXDLMSClient (InterfaceType.PDU).getData
                                dlms-cosem: XDlmsApduFactory.apdu_from_bytes + utils.parse_as_dlms_data
  datablocks/N/decode           the same per get-response-with-datablock; gurux's block index is
                                advanced as receiverReady() does (without building the next request);
                                dlms-cosem: raw data joined, then parse_as_dlms_data (as DlmsClient.get)
  glo-normal/N/unprotect+decode gurux: GXDLMSSecureClient.getData (its pure-Python AES-GCM; gurux
  general-glo/N/...             1.0.203 does not verify the GCM tag, see suite0.py)
  glo-datablocks/N/...          dlms-cosem: GeneralGlobalCipher.from_bytes + security.decrypt (pyca
                                cryptography, tag verified) + the plain decode; it has no parser for the
                                service-specific glo-get-response (0xCC): reported as an error
  hdlc/N/parse+decode           frames split by their length field (as a transport delivers them), then
                                gurux: GXDLMSClient (InterfaceType.HDLC).getData per frame, receiverReady
                                between segments; dlms-cosem: hdlc.frames.InformationFrame.from_bytes per
                                frame, LLC header removed, then the plain decode

Timing: each case runs for the manifest's `seconds` of wall-clock time (at least twice),
the first run untimed (warm-up and correctness check). seconds_per_run is the thread's
CPU time over all timed runs divided by the runs (time.thread_time: the scheduler clock
gridedge reads from /proc/thread-self/schedstat, blind to other processes competing for
the cores); wall_seconds_per_run is the median wall-clock run. Output on stdout, JSON:
{"python": "3.11.7", "libraries": {"gurux-dlms": "1.0.203", "dlms-cosem": "25.1.0"},
 "results": [{"id", "library", "runs", "seconds_per_run", "wall_seconds_per_run", "clock",
 "rows", "error"}]}.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Callable

from dlms_cosem import utils as dc_utils
from dlms_cosem.connection import XDlmsApduFactory
from dlms_cosem.hdlc.frames import InformationFrame
from dlms_cosem.protocol.xdlms import GeneralGlobalCipher
from dlms_cosem.security import decrypt as dc_decrypt
from gurux_dlms import GXByteBuffer, GXDLMSClient, GXReplyData
from gurux_dlms.enums import Authentication, InterfaceType, Security
from gurux_dlms.secure import GXDLMSSecureClient

LLC_RESPONSE = bytes([0xE6, 0xE7, 0x00])
PUBLIC_CLIENT = 16


class Keys:
    def __init__(self, m: dict):
        self.ek = bytes.fromhex(m["encryption_key"])
        self.ak = bytes.fromhex(m["authentication_key"])
        self.server_title = bytes.fromhex(m["server_system_title"])
        self.client_title = bytes.fromhex(m["client_system_title"])


def split_frames(stream: bytes) -> list[bytes]:
    """HDLC frames (flag to flag) of a stream, by their frame length field."""
    frames, i = [], 0
    while i < len(stream):
        length = ((stream[i + 1] & 0x07) << 8) | stream[i + 2]
        frames.append(stream[i : i + length + 2])
        i += length + 2
    return frames


# ---------------------------------------------------------------- gurux-dlms


def gurux_client(interface: int, server: int = 1) -> GXDLMSClient:
    return GXDLMSClient(True, PUBLIC_CLIENT, server, Authentication.NONE, None, interface)


def gurux_secure_client(keys: Keys) -> GXDLMSSecureClient:
    c = GXDLMSSecureClient(True, PUBLIC_CLIENT, 1, Authentication.NONE, None, InterfaceType.PDU)
    c.ciphering.security = Security.AUTHENTICATION_ENCRYPTION
    c.ciphering.systemTitle = bytearray(keys.client_title)
    c.ciphering.blockCipherKey = bytearray(keys.ek)
    c.ciphering.authenticationKey = bytearray(keys.ak)
    c.settings.sourceSystemTitle = bytearray(keys.server_title)  # learnt from the AARE in a session
    return c


def gurux_apdus(client: GXDLMSClient, apdus: list[bytes]):
    """Feeds whole APDUs (one, or the blocks of a long GET) to getData; returns the value."""
    client.settings.resetBlockIndex()
    reply = GXReplyData()
    for apdu in apdus:
        client.getData(GXByteBuffer(apdu), reply, None)
        if reply.isMoreData():
            client.settings.increaseBlockIndex()  # what receiverReady() does before building GET-next
    if reply.isMoreData():
        raise ValueError("gurux still expects more data")
    return reply.value


def gurux_case(form: str, items: list[bytes], keys: Keys, hdlc: dict) -> Callable[[], list]:
    if form in ("plain-normal", "datablocks"):
        client = gurux_client(InterfaceType.PDU)
        return lambda: gurux_apdus(client, items)
    if form in ("glo-normal", "general-glo", "glo-datablocks"):
        client = gurux_secure_client(keys)
        return lambda: gurux_apdus(client, items)
    if form == "hdlc":
        logical, physical = hdlc["server_logical"], hdlc["server_physical"]
        if logical > 0x7F or physical > 0x7F:
            raise ValueError("only the 2-byte server address form is set up here")
        client = gurux_client(InterfaceType.HDLC, logical << 7 | physical)
        client.serverAddressSize = 2
        frames = split_frames(items[0])

        def run():
            client.settings.resetFrameSequence()
            reply = GXReplyData()
            for frame in frames:
                buf = GXByteBuffer()
                buf.set(frame)
                client.getData(buf, reply, None)
                if reply.isMoreData():
                    client.receiverReady(reply)  # the RR of window size 1
            return reply.value

        return run
    raise ValueError(f"unknown form {form}")


# ---------------------------------------------------------------- dlms-cosem


def dlms_cosem_value(apdus: list[bytes]):
    """get-response-normal or -with-datablock APDUs (as DlmsClient.get joins them), then the A-XDR parser."""
    data = bytearray()
    for apdu in apdus:
        data.extend(XDlmsApduFactory.apdu_from_bytes(apdu).data)
    return dc_utils.parse_as_dlms_data(bytes(data))


def dlms_cosem_unprotect(apdu: bytes, keys: Keys) -> bytes:
    ciphered = XDlmsApduFactory.apdu_from_bytes(apdu)  # GeneralGlobalCipher for 0xDB; 0xCC raises
    if not isinstance(ciphered, GeneralGlobalCipher):
        raise ValueError(f"not a general-glo-ciphering APDU: {type(ciphered).__name__}")
    return dc_decrypt(
        ciphered.security_control,
        ciphered.system_title or keys.server_title,
        ciphered.invocation_counter,
        keys.ek,
        ciphered.ciphered_text,
        keys.ak,
    )


def dlms_cosem_case(form: str, items: list[bytes], keys: Keys, hdlc: dict) -> Callable[[], list]:
    if form in ("plain-normal", "datablocks"):
        return lambda: dlms_cosem_value(items)
    if form in ("glo-normal", "general-glo", "glo-datablocks"):
        return lambda: dlms_cosem_value([dlms_cosem_unprotect(a, keys) for a in items])
    if form == "hdlc":
        frames = split_frames(items[0])

        def run():
            pdu = bytearray()
            for frame in frames:
                pdu.extend(InformationFrame.from_bytes(frame).payload)
            if not pdu.startswith(LLC_RESPONSE):
                raise ValueError("no LLC response header")
            return dlms_cosem_value([bytes(pdu[3:])])

        return run
    raise ValueError(f"unknown form {form}")


# ---------------------------------------------------------------- timing


def check(value, expected: dict) -> int:
    """Raises unless the decoded profile has the expected rows and +A registers."""
    rows = list(value)
    if len(rows) != expected["rows"]:
        raise ValueError(f"decoded {len(rows)} rows, expected {expected['rows']}")
    if rows and (rows[0][2] != expected["first_active_import_wh"] or rows[-1][2] != expected["last_active_import_wh"]):
        raise ValueError("decoded +A registers differ from the fixture's")
    return len(rows)


def measure(run: Callable[[], list], expected: dict, seconds: float) -> dict:
    rows = check(run(), expected)  # warm-up and correctness
    wall: list[float] = []
    cpu_start = time.thread_time()
    start = time.perf_counter()
    while len(wall) < 2 or time.perf_counter() - start < seconds:
        t = time.perf_counter()
        run()
        wall.append(time.perf_counter() - t)
    cpu = time.thread_time() - cpu_start
    return {
        "runs": len(wall),
        "seconds_per_run": cpu / len(wall),
        "wall_seconds_per_run": statistics.median(wall),
        "clock": "thread-cpu",
        "rows": rows,
    }


LIBRARIES: dict[str, Callable[..., Callable[[], list]]] = {
    "gurux-dlms": gurux_case,
    "dlms-cosem": dlms_cosem_case,
}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write(__doc__ or "")
        return 2
    manifest_path = Path(argv[1])
    manifest = json.loads(manifest_path.read_text())
    keys = Keys(manifest["keys"])
    seconds = float(manifest["seconds"])
    out = sys.stdout
    # gurux prints "Encryption is applied." on every decipher: keep stdout for the JSON.
    sys.stdout = open(os.devnull, "w")
    results = []
    for case in manifest["cases"]:
        lines = (manifest_path.parent / case["file"]).read_text().split()
        items = [bytes.fromhex(line) for line in lines]
        for library, make in LIBRARIES.items():
            result = {"id": case["id"], "library": library}
            try:
                run = make(case["form"], items, keys, manifest["hdlc"])
                result.update(measure(run, case["check"], seconds))
                result["error"] = None
            except Exception as e:  # report what the library could not do, keep going
                result.update({"runs": 0, "seconds_per_run": None, "rows": None, "error": f"{type(e).__name__}: {e}"})
            results.append(result)
    sys.stdout = out
    json.dump(
        {
            "python": platform.python_version(),
            "libraries": {
                "gurux-dlms": metadata.version("gurux_dlms"),
                "dlms-cosem": metadata.version("dlms-cosem"),
            },
            "results": results,
        },
        out,
        indent=1,
    )
    out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
