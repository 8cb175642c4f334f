"""IEC 62056-47 (DLMS/COSEM TCP-UDP wrapper) framing over a blocking TCP socket.

Used by gurux_client_read.py and gurux_meter.py: gurux-dlms builds and parses
whole wrapper frames itself, but it needs someone to move bytes on a socket and to
know where one frame ends. That is all this module does.

Wrapper PDU (IEC 62056-47 §5.3, DLMS UA 1000-2 Green Book "TCP-UDP based
transport layers"): an 8-byte header of four big-endian unsigned 16-bit fields,
then the APDU:

    version (always 0x0001) | source wPort | destination wPort | length of APDU

A client's wPort is its client SAP (16 public, 1 management); the logical device's
wPort is its server logical address (1 = management logical device).
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

WRAPPER_VERSION = 0x0001
"""The only wrapper version defined by IEC 62056-47 §5.3."""

WRAPPER_HEADER_LEN = 8
"""Bytes in the wrapper header: version, source wPort, destination wPort, length."""

MAX_APDU_LEN = 0xFFFF
"""The length field is 16 bits, so one wrapper PDU carries at most 65535 APDU bytes."""


class WrapperError(Exception):
    """A wrapper frame could not be read: peer closed, bad version, or timeout."""


@dataclass(frozen=True)
class WrapperFrame:
    """One wrapper PDU: source wPort, destination wPort and the APDU bytes it carries."""

    source_wport: int
    destination_wport: int
    apdu: bytes

    def header(self) -> bytes:
        """The 8 header bytes (IEC 62056-47 §5.3)."""
        return struct.pack(">HHHH", WRAPPER_VERSION, self.source_wport, self.destination_wport, len(self.apdu))

    def to_bytes(self) -> bytes:
        """Header followed by the APDU."""
        if len(self.apdu) > MAX_APDU_LEN:
            raise WrapperError(f"APDU of {len(self.apdu)} bytes does not fit one wrapper PDU (max {MAX_APDU_LEN})")
        return self.header() + self.apdu


def recv_exact(sock: socket.socket, count: int) -> bytes:
    """Read exactly `count` bytes, or raise WrapperError if the peer closes first.

    socket.timeout (an OSError) propagates unchanged so callers can tell a silent
    peer from a closed one.
    """
    chunks = bytearray()
    while len(chunks) < count:
        chunk = sock.recv(count - len(chunks))
        if not chunk:
            if not chunks:
                raise WrapperError("connection closed by peer")
            raise WrapperError(f"connection closed after {len(chunks)} of {count} bytes")
        chunks.extend(chunk)
    return bytes(chunks)


def recv_frame(sock: socket.socket) -> WrapperFrame:
    """Read one complete wrapper PDU from the socket.

    Raises WrapperError if the version is not 0x0001 or the stream ends early.
    """
    header = recv_exact(sock, WRAPPER_HEADER_LEN)
    version, source, destination, length = struct.unpack(">HHHH", header)
    if version != WRAPPER_VERSION:
        raise WrapperError(f"wrapper version {version:#06x} is not 0x0001 (header {header.hex()})")
    apdu = recv_exact(sock, length) if length else b""
    return WrapperFrame(source, destination, apdu)


def recv_frame_bytes(sock: socket.socket) -> bytes:
    """Read one complete wrapper PDU and return it as raw bytes, header included.

    gurux-dlms parses the header itself, so its client and server want the whole frame.
    """
    frame = recv_frame(sock)
    return frame.header() + frame.apdu
