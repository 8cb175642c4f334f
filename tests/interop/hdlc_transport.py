"""IEC 62056-46 HDLC frames carried directly on a TCP stream ("HDLC over TCP").

Used by gurux_client_read.py and gurux_meter.py: gurux-dlms builds and parses whole
HDLC frames itself (flags, addresses, control field, HCS/FCS, LLC bytes, segmentation);
it needs someone to move bytes on a socket and to know where one frame ends. That is
all this module does. There is no wrapper header: the bytes on the TCP stream are
exactly the bytes a serial line would carry.

HDLC frame format type 3 (IEC 62056-46 §6.4, Green Book §8.4):

    7E | format (2 bytes: 0xA, S, 11-bit length) | dest addr | src addr | control
       | HCS | [information | FCS] | 7E

The 11-bit length counts every byte between the two flags. Consecutive frames may
share one flag (a single 7E closes one frame and opens the next); extra flags between
frames are allowed and skipped.

Addresses (IEC 62056-46 §6.4.2.2): the client address is one byte (client SAP: 16
public, 1 management); the server address is the logical device (upper address, 1 =
management logical device) and optionally the physical device (lower address). gurux
combines them into one integer, `logical << 7 | physical` for the 2-byte form
(GXDLMSClient.getServerAddress); dlms-cosem takes them separately.
"""

from __future__ import annotations

import socket

HDLC_FLAG = 0x7E
"""Opening and closing flag of every frame."""

FORMAT_TYPE_3 = 0xA
"""The frame format type used by DLMS/COSEM (upper nibble of the first format byte)."""

MIN_FRAME_LENGTH = 7
"""Smallest length field: format (2) + 1-byte dest + 1-byte src + control + HCS (2)."""


class HdlcTransportError(Exception):
    """An HDLC frame could not be read: peer closed, or the bytes are not a type 3 frame."""


def server_address(logical: int, physical: int | None) -> int:
    """gurux's integer form of a server HDLC address.

    No physical address: the logical address alone (1-byte field). Otherwise both parts
    in the 2-byte form (`logical << 7 | physical`, both 0..0x7F), or the 4-byte form
    (`logical << 14 | physical`, both 0..0x3FFF) when either part needs more than 7 bits.
    """
    if physical is None:
        if not 0 <= logical <= 0x7F:
            raise ValueError(f"server logical address {logical} needs a physical address with it (1-byte form)")
        return logical
    if 0 <= logical <= 0x7F and 0 <= physical <= 0x7F:
        return logical << 7 | physical
    if 0 <= logical <= 0x3FFF and 0 <= physical <= 0x3FFF:
        return logical << 14 | physical
    raise ValueError(f"server address logical {logical} / physical {physical} out of range")


def address_size(logical: int, physical: int | None) -> int:
    """Bytes of the server address field for these parts: 1, 2 or 4."""
    if physical is None:
        return 1
    if logical <= 0x7F and physical <= 0x7F:
        return 2
    return 4


def _recv_byte(sock: socket.socket, got: int) -> int:
    chunk = sock.recv(1)
    if not chunk:
        if got == 0:
            raise HdlcTransportError("connection closed by peer")
        raise HdlcTransportError(f"connection closed inside an HDLC frame after {got} bytes")
    return chunk[0]


def _recv_exact(sock: socket.socket, count: int, got: int) -> bytes:
    data = bytearray()
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise HdlcTransportError(f"connection closed inside an HDLC frame after {got + len(data)} bytes")
        data.extend(chunk)
    return bytes(data)


class HdlcFrameReader:
    """Reads HDLC frames one at a time from a blocking socket.

    Remembers whether the last frame's closing flag may also be the next frame's
    opening flag (frames sharing one flag), so both `7E f1 7E 7E f2 7E` and
    `7E f1 7E f2 7E` are read as two frames.
    """

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.after_flag = False

    def recv_frame_bytes(self) -> bytes:
        """Read one complete HDLC frame and return it with both flags, `7E ... 7E`.

        Bytes before the opening flag and repeated flags are skipped. The frame length
        comes from the format field; the byte after it must be the closing flag.
        socket.timeout (an OSError) propagates unchanged so callers can tell a silent
        peer from a closed one.
        """
        sock = self.sock
        first = _recv_byte(sock, 0)
        if not (self.after_flag and first >> 4 == FORMAT_TYPE_3):
            skipped = 0
            while first != HDLC_FLAG:
                skipped += 1
                first = _recv_byte(sock, skipped)
            while first == HDLC_FLAG:  # one or more flags; the next byte starts the format field
                first = _recv_byte(sock, 1)
        self.after_flag = False
        if first >> 4 != FORMAT_TYPE_3:
            raise HdlcTransportError(f"not an HDLC frame format type 3: first format byte {first:#04x}")
        second = _recv_byte(sock, 2)
        length = (first & 0x07) << 8 | second
        if length < MIN_FRAME_LENGTH:
            raise HdlcTransportError(f"HDLC frame length {length} is below the minimum {MIN_FRAME_LENGTH}")
        rest = _recv_exact(sock, length - 2, 3)
        closing = _recv_byte(sock, length + 1)
        if closing != HDLC_FLAG:
            raise HdlcTransportError(f"HDLC frame of length {length} not closed by a flag (got {closing:#04x})")
        self.after_flag = True
        return bytes([HDLC_FLAG, first, second]) + rest + bytes([HDLC_FLAG])


def fcs16(data: bytes) -> int:
    """HDLC frame check sequence: CRC-16/X.25 (RFC 1662 FCS-16), sent low byte first (IEC 62056-46 §6.4.2.5)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


def _address_end(body: bytes, pos: int) -> int:
    """Index after an HDLC address field starting at `pos` (its last byte has bit 0 set)."""
    for end in range(pos, min(pos + 4, len(body))):
        if body[end] & 0x01:
            return end + 1
    raise HdlcTransportError(f"HDLC address field at {pos} has no end byte")


def split_frame(frame: bytes) -> tuple[int, bool, bytes]:
    """(control field, segmentation bit, information field) of one frame `7E ... 7E` (no FCS checks)."""
    if len(frame) < 9 or frame[0] != HDLC_FLAG or frame[-1] != HDLC_FLAG:
        raise HdlcTransportError(f"not a flagged HDLC frame: {frame.hex()}")
    body = frame[1:-1]
    segmented = bool(body[0] & 0x08)
    pos = _address_end(body, _address_end(body, 2))
    control = body[pos]
    header_end = pos + 1 + 2  # control, HCS
    info = body[header_end:-2] if len(body) > header_end + 2 else b""
    return control, segmented, bytes(info)


def with_information(frame: bytes, info: bytes) -> bytes:
    """The same I-frame with another information field of the same length, FCS recomputed."""
    control, _segmented, old = split_frame(frame)
    if len(old) != len(info):
        raise HdlcTransportError("the information field must keep its length")
    body = bytearray(frame[1:-1])
    body[-2 - len(info) : -2] = info
    fcs = fcs16(bytes(body[:-2]))
    body[-2:] = fcs.to_bytes(2, "little")
    return bytes([HDLC_FLAG]) + bytes(body) + bytes([HDLC_FLAG])
