"""DLMS/COSEM security suite 0 (AES-GCM-128) for the gurux-based peers, on gurux-dlms's own AES-GCM.

IEC 62056-5-3 §9.2.7 / DLMS UA 1000-2 Green Book §9.2: a ciphered xDLMS APDU carries
a security header (security control SC, invocation counter IC) and the protected
content; the GCM IV is the sender's system title (8 bytes) || IC (4 bytes, big-endian);
the tag is truncated to 12 bytes; the authenticated data is

    SC 0x30 (authenticated and encrypted): AAD = SC || AK, content = ciphertext || tag
    SC 0x10 (authenticated only):          AAD = SC || AK || APDU, content = APDU || tag
    SC 0x20 (encrypted only):              no AAD, content = ciphertext, no tag

and HLS mechanism 5 (GMAC) answers a challenge X with f(X) = 0x10 || IC || GMAC, the GMAC
computed with the sender's system title and IC over SC || AK || X (Green Book §9.2.7.4).

Why not gurux's own decryption: GXDLMSChippering.decryptAesGcm runs its GCM stream in
*encrypt* mode for decryption (the decrypt-mode key schedule does not produce the CTR
keystream), and the stream checks the tag only in decrypt mode, so gurux-dlms 1.0.203
never verifies a GCM tag: a tampered APDU deciphers to garbage and is accepted. Here the
keystream comes from gurux's encrypt-mode stream (GCM CTR is its own inverse), and the
tag is verified by re-protecting the recovered plaintext and comparing the tags. So the
gurux peers use gurux's pure-Python AES-GCM, independent of dlms-cosem's (pyca/
cryptography, OpenSSL) and of gridedge's (RustCrypto).

Ciphered APDU forms handled (Green Book §9.3, IEC 62056-5-3 §8.3 tags):

    service-specific glo-: tag | length | SC | IC | content     (e.g. C8 glo-get-request)
    general-glo-ciphering: DB | length | system title | length | SC | IC | content
    glo-initiateRequest 0x21 / glo-initiateResponse 0x28 (service-specific layout)
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

import acse_encoding as acse
from acse_encoding import encode_length
from gurux_dlms.enums import Security
from gurux_dlms.GXDLMSChipperingStream import GXDLMSChipperingStream

TAG_LEN = 12
"""Suite 0 GCM tag length, bytes."""

MAX_PROTECTION_OVERHEAD = 1 + 1 + 8 + 3 + 5 + TAG_LEN
"""Most bytes ciphering adds to an APDU: general-glo tag, title length, title, 3-byte length, SC, IC, tag."""

SC_AUTHENTICATED = 0x10
SC_ENCRYPTED = 0x20
SC_AUTHENTICATED_ENCRYPTED = 0x30
SC_PROTECTION_MASK = 0x30
"""Bits 4 (authentication) and 5 (encryption) of the security control byte."""

GENERAL_GLO_CIPHERING = 0xDB
GLO_INITIATE_REQUEST = 0x21
GLO_INITIATE_RESPONSE = 0x28
EXCEPTION_RESPONSE = 0xD8

PLAIN_TO_GLO = {
    0x01: GLO_INITIATE_REQUEST,  # initiateRequest
    0x08: GLO_INITIATE_RESPONSE,  # initiateResponse
    0xC0: 0xC8,  # get-request
    0xC1: 0xC9,  # set-request
    0xC3: 0xCB,  # action-request
    0xC4: 0xCC,  # get-response
    0xC5: 0xCD,  # set-response
    0xC7: 0xCF,  # action-response
}
"""Plain xDLMS tag -> glo- (global key, service-specific) ciphered tag."""
GLO_TO_PLAIN = {v: k for k, v in PLAIN_TO_GLO.items()}

class SecurityFailure(Exception):
    """A ciphered APDU was refused: bad form, wrong policy, replayed counter or failed tag check."""

    def __init__(self, message: str, *, replay: bool = False, expected_counter: int | None = None):
        super().__init__(message)
        self.replay = replay
        self.expected_counter = expected_counter


def _iv(system_title: bytes, invocation_counter: int) -> bytearray:
    if len(system_title) != 8:
        raise ValueError(f"system title must be 8 bytes, got {len(system_title)}")
    if not 0 <= invocation_counter <= 0xFFFFFFFF:
        raise ValueError(f"invocation counter {invocation_counter} out of range")
    return bytearray(system_title + invocation_counter.to_bytes(4, "big"))


def _gcm(security: int, key: bytes, iv: bytearray, aad: bytes | None, data: bytes) -> tuple[bytes, bytes]:
    """One pass of gurux's GCM stream in encrypt mode: (CTR output, 12-byte tag over that output).

    The stream needs some AAD even when no tag is wanted (it hashes unconditionally), so
    encryption-only passes get a dummy byte; their tag is discarded.
    """
    stream = GXDLMSChipperingStream(Security(security), True, bytearray(key), bytearray(aad or b"\0"), iv, None)
    if data:
        stream.write(bytearray(data))
    out = bytes(stream.flushFinalBlock())
    tag = bytes(stream.tag[:TAG_LEN]) if security != Security.ENCRYPTION else b""
    return out, tag


def protect_content(sc: int, system_title: bytes, ic: int, ek: bytes, ak: bytes, plaintext: bytes) -> bytes:
    """The protected content (what follows SC || IC) of `plaintext` under security control `sc`."""
    iv = _iv(system_title, ic)
    protection = sc & SC_PROTECTION_MASK
    if protection == SC_AUTHENTICATED_ENCRYPTED:
        ciphertext, tag = _gcm(Security.AUTHENTICATION_ENCRYPTION, ek, iv, bytes([sc]) + ak, plaintext)
        return ciphertext + tag
    if protection == SC_AUTHENTICATED:
        _, tag = _gcm(Security.AUTHENTICATION, ek, iv, bytes([sc]) + ak + plaintext, b"")
        return plaintext + tag
    if protection == SC_ENCRYPTED:
        ciphertext, _ = _gcm(Security.ENCRYPTION, ek, iv, None, plaintext)
        return ciphertext
    raise ValueError(f"security control {sc:#04x} protects nothing")


def unprotect_content(sc: int, system_title: bytes, ic: int, ek: bytes, ak: bytes, content: bytes) -> bytes:
    """Reverse of protect_content; raises SecurityFailure when the tag does not verify."""
    protection = sc & SC_PROTECTION_MASK
    iv = _iv(system_title, ic)
    if protection == SC_ENCRYPTED:
        plaintext, _ = _gcm(Security.ENCRYPTION, ek, iv, None, content)
        return plaintext
    if len(content) < TAG_LEN:
        raise SecurityFailure(f"ciphered content of {len(content)} bytes is shorter than the {TAG_LEN}-byte tag")
    body, tag = content[:-TAG_LEN], content[-TAG_LEN:]
    if protection == SC_AUTHENTICATED:
        plaintext = body
    elif protection == SC_AUTHENTICATED_ENCRYPTED:
        plaintext, _ = _gcm(Security.ENCRYPTION, ek, iv, None, body)  # CTR keystream only
    else:
        raise SecurityFailure(f"security control {sc:#04x} protects nothing")
    expected = protect_content(sc, system_title, ic, ek, ak, plaintext)[-TAG_LEN:]
    if not hmac.compare_digest(expected, tag):
        raise SecurityFailure("GCM tag does not verify (wrong key, wrong system title or tampered APDU)")
    return plaintext


def hls_gmac(system_title: bytes, ic: int, ek: bytes, ak: bytes, challenge: bytes, suite: int = 0) -> bytes:
    """HLS mechanism 5: f(challenge) = SC || IC || GMAC(SC || AK || challenge), SC = 0x10 | suite (17 bytes)."""
    sc = SC_AUTHENTICATED | suite
    _, tag = _gcm(Security.AUTHENTICATION, ek, _iv(system_title, ic), bytes([sc]) + ak + challenge, b"")
    return bytes([sc]) + ic.to_bytes(4, "big") + tag


def verify_hls_gmac(response: bytes, system_title: bytes, ek: bytes, ak: bytes, challenge: bytes) -> int:
    """Check f(challenge) computed by the owner of `system_title`; returns its IC. Raises SecurityFailure."""
    if len(response) != 5 + TAG_LEN:
        raise SecurityFailure(f"HLS-GMAC response must be 17 bytes, got {len(response)}")
    if response[0] & 0xF0 != SC_AUTHENTICATED:
        raise SecurityFailure(f"HLS-GMAC response security control {response[0]:#04x} is not 0x10")
    ic = int.from_bytes(response[1:5], "big")
    expected = hls_gmac(system_title, ic, ek, ak, challenge, response[0] & 0x0F)
    if not hmac.compare_digest(expected, response):
        raise SecurityFailure("HLS-GMAC response does not verify (wrong key or system title)")
    return ic


# --------------------------------------------------------------------------------------
# The ciphered APDU layouts.


def decode_length(data: bytes, pos: int) -> tuple[int, int]:
    """acse.decode_length, failing with SecurityFailure (a malformed ciphered APDU is a deciphering error)."""
    try:
        return acse.decode_length(data, pos)
    except acse.AcseError as exc:
        raise SecurityFailure(str(exc)) from exc


@dataclass(frozen=True)
class CipheredApdu:
    """A parsed ciphered APDU: its tag, the system title (general-glo only), SC, IC and protected content."""

    tag: int
    system_title: bytes | None
    security_control: int
    invocation_counter: int
    content: bytes

    @property
    def general(self) -> bool:
        return self.tag == GENERAL_GLO_CIPHERING

    def to_bytes(self) -> bytes:
        body = bytes([self.security_control]) + self.invocation_counter.to_bytes(4, "big") + self.content
        if self.general:
            title = self.system_title or b""
            return bytes([self.tag]) + encode_length(len(title)) + title + encode_length(len(body)) + body
        return bytes([self.tag]) + encode_length(len(body)) + body

    def with_tag_bit_flipped(self) -> "CipheredApdu":
        """The same APDU with the lowest bit of its last byte (the last GCM tag byte) inverted."""
        content = self.content[:-1] + bytes([self.content[-1] ^ 0x01])
        return CipheredApdu(self.tag, self.system_title, self.security_control, self.invocation_counter, content)


def is_ciphered_tag(tag: int) -> bool:
    return tag == GENERAL_GLO_CIPHERING or tag in GLO_TO_PLAIN


def parse_ciphered(apdu: bytes) -> CipheredApdu:
    """Parse a glo- service-specific or general-glo-ciphering APDU (the whole APDU, tag first)."""
    if not apdu:
        raise SecurityFailure("empty APDU")
    tag = apdu[0]
    pos = 1
    title = None
    if tag == GENERAL_GLO_CIPHERING:
        n, pos = decode_length(apdu, pos)
        title = apdu[pos : pos + n]
        if len(title) != n:
            raise SecurityFailure("general-glo-ciphering truncated in the system title")
        pos += n
    elif tag not in GLO_TO_PLAIN:
        raise SecurityFailure(f"APDU tag {tag:#04x} is not a glo- or general-glo-ciphering APDU")
    n, pos = decode_length(apdu, pos)
    body = apdu[pos : pos + n]
    if len(body) != n or n < 5:
        raise SecurityFailure(
            f"ciphered APDU {tag:#04x}: length {n} does not match the {len(apdu) - pos} bytes present"
        )
    if pos + n != len(apdu):
        raise SecurityFailure(f"ciphered APDU {tag:#04x}: {len(apdu) - pos - n} bytes after its end")
    return CipheredApdu(tag, title, body[0], int.from_bytes(body[1:5], "big"), body[5:])


def protect_apdu(
    plain: bytes, *, general: bool, sc: int, system_title: bytes, ic: int, ek: bytes, ak: bytes
) -> bytes:
    """Cipher a plain xDLMS APDU: general-glo-ciphering (with `system_title`) or the glo- form of its tag."""
    if general:
        tag = GENERAL_GLO_CIPHERING
    else:
        if not plain or plain[0] not in PLAIN_TO_GLO:
            raise ValueError(f"no glo- form for APDU tag {plain[:1].hex()}")
        tag = PLAIN_TO_GLO[plain[0]]
    content = protect_content(sc, system_title, ic, ek, ak, plain)
    return CipheredApdu(tag, system_title if general else None, sc, ic, content).to_bytes()
