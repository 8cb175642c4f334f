"""ACSE (ISO 8650 / IEC 62056-5-3 §7.3.2) encodings the interop peers build or inspect themselves.

gurux-dlms 1.0.203's server encodes the AARE of a ciphered or HLS association wrongly
(see README.md), so gurux_meter.py builds those AAREs here; the clients use the field
walker to check AARE results and the invocation counters gurux does not check.

Only the top level of an AARQ/AARE/RLRQ/RLRE is walked: a sequence of BER TLVs with
definite lengths (short form, or 0x81/0x82 long form).

    AARE ::= [APPLICATION 1] (61) {
      A1 application-context-name   06 07 60 85 74 05 08 01 xx   (1 LN, 3 LN with ciphering)
      A2 result                      02 01 r     (0 accepted, 1 rejected-permanent, 2 rejected-transient)
      A3 result-source-diagnostic    A1 03 02 01 d   (acse-service-user)
      A4 responding-AP-title         04 08 <server system title>
      88 responder-acse-requirements 07 80   (authentication functional unit)
      89 mechanism-name              60 85 74 05 08 02 m
      AA responding-authentication-value  80 n <StoC>
      BE user-information            04 n <(glo-)InitiateResponse or ConfirmedServiceError>
    }
"""

from __future__ import annotations


AARQ = 0x60
AARE = 0x61
RLRQ = 0x62
RLRE = 0x63

APPLICATION_CONTEXT = 0xA1
RESULT = 0xA2
RESULT_SOURCE_DIAGNOSTIC = 0xA3
RESPONDING_AP_TITLE = 0xA4
CALLING_AP_TITLE = 0xA6
SENDER_ACSE_REQUIREMENTS = 0x8A
MECHANISM_NAME_AARQ = 0x8B
CALLING_AUTHENTICATION_VALUE = 0xAC
RESPONDER_ACSE_REQUIREMENTS = 0x88
MECHANISM_NAME_AARE = 0x89
RESPONDING_AUTHENTICATION_VALUE = 0xAA
USER_INFORMATION = 0xBE

CONTEXT_LN = 1
CONTEXT_LN_CIPHERED = 3
MECHANISM_HLS_GMAC = 5

ACSE_DIAGNOSTICS = {
    0: "null",
    1: "no-reason-given",
    2: "application-context-name-not-supported",
    3: "calling-AP-title-not-recognized",
    11: "authentication-mechanism-name-not-recognised",
    12: "authentication-mechanism-name-required",
    13: "authentication-failure",
    14: "authentication-required",
}
RESULTS = {0: "accepted", 1: "rejected-permanent", 2: "rejected-transient"}

OID_PREFIX_CONTEXT = bytes([0x60, 0x85, 0x74, 0x05, 0x08, 0x01])
OID_PREFIX_MECHANISM = bytes([0x60, 0x85, 0x74, 0x05, 0x08, 0x02])


class AcseError(ValueError):
    """An ACSE APDU could not be walked."""


def encode_length(n: int) -> bytes:
    """BER / A-XDR definite length: one byte below 0x80, else 0x81/0x82 + big-endian."""
    if n < 0x80:
        return bytes([n])
    if n < 0x100:
        return bytes([0x81, n])
    if n < 0x10000:
        return bytes([0x82]) + n.to_bytes(2, "big")
    raise ValueError(f"length {n} too large")


def decode_length(data: bytes, pos: int) -> tuple[int, int]:
    """(length, position after it); AcseError on a truncated or unsupported (> 2 length bytes) form."""
    if pos >= len(data):
        raise AcseError("truncated in a length field")
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0 or count > 2 or pos + 1 + count > len(data):
        raise AcseError(f"unsupported length form {first:#04x}")
    return int.from_bytes(data[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def fields(apdu: bytes) -> tuple[int, dict[int, bytes]]:
    """(APDU tag, {field tag: field value}) of an AARQ/AARE/RLRQ/RLRE; raises AcseError when malformed."""
    if len(apdu) < 2:
        raise AcseError("ACSE APDU shorter than 2 bytes")
    try:
        length, pos = decode_length(apdu, 1)
    except ValueError as exc:
        raise AcseError(str(exc)) from exc
    if pos + length != len(apdu):
        raise AcseError(f"ACSE APDU length {length} does not match the {len(apdu) - pos} bytes present")
    out: dict[int, bytes] = {}
    while pos < len(apdu):
        tag = apdu[pos]
        try:
            n, start = decode_length(apdu, pos + 1)
        except ValueError as exc:
            raise AcseError(str(exc)) from exc
        if start + n > len(apdu):
            raise AcseError(f"ACSE field {tag:#04x} runs past the end of the APDU")
        out[tag] = apdu[start : start + n]
        pos = start + n
    return apdu[0], out


def fields_tolerant(apdu: bytes, stop_after: int | None = None) -> dict[int, bytes]:
    """The fields of an ACSE APDU, read up to the first malformed one or the field `stop_after`.

    For peers that encode some fields wrongly: after a wrong length the walk is out of
    step and reads content bytes as tags, so the first occurrence of a tag wins and
    `stop_after` ends the walk before the suspect part. (gurux's HLS AARE has a wrong
    responding-authentication-value length: a StoC ending in A3 05 once produced a
    second, bogus diagnostic field.)
    """
    out: dict[int, bytes] = {}
    try:
        _n, pos = decode_length(apdu, 1)
        while pos < len(apdu):
            tag = apdu[pos]
            n, start = decode_length(apdu, pos + 1)
            if start + n > len(apdu):
                break
            out.setdefault(tag, apdu[start : start + n])
            pos = start + n
            if tag == stop_after:
                break
    except ValueError:
        pass
    return out


def leading_result(aare: bytes) -> tuple[int | None, int | None]:
    """(result, diagnostic) of an AARE whose later fields may be malformed (they follow A2/A3)."""
    return result_and_diagnostic(fields_tolerant(aare, stop_after=RESULT_SOURCE_DIAGNOSTIC))


def inner_octets(value: bytes, tag: int = 0x04) -> bytes:
    """The content of a single inner TLV (e.g. A4 → 04 08 <title>, BE → 04 n <apdu>, AC → 80 n <value>)."""
    if len(value) < 2 or value[0] != tag:
        raise AcseError(f"expected inner tag {tag:#04x} in {value.hex()}")
    n, start = decode_length(value, 1)
    if start + n != len(value):
        raise AcseError(f"inner length {n} does not match {value.hex()}")
    return value[start:]


def context_name(value: bytes) -> int | None:
    """The last arc of an application-context-name field value (06 07 60 85 74 05 08 01 xx)."""
    if len(value) == 9 and value[:2] == b"\x06\x07" and value[2:8] == OID_PREFIX_CONTEXT:
        return value[8]
    return None


def mechanism(value: bytes) -> int | None:
    """The last arc of a mechanism-name field value (60 85 74 05 08 02 m)."""
    if len(value) == 7 and value[:6] == OID_PREFIX_MECHANISM:
        return value[6]
    return None


def result_and_diagnostic(aare_fields: dict[int, bytes]) -> tuple[int | None, int | None]:
    """(result, acse-service-user diagnostic) of a walked AARE; None where absent or malformed."""
    result = diagnostic = None
    value = aare_fields.get(RESULT)
    if value is not None and len(value) == 3 and value[:2] == b"\x02\x01":
        result = value[2]
    value = aare_fields.get(RESULT_SOURCE_DIAGNOSTIC)
    if value is not None and len(value) == 5 and value[2:4] == b"\x02\x01":
        diagnostic = value[4]
    return result, diagnostic


def _tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + encode_length(len(value)) + value


def build_aare(
    *,
    context: int,
    result: int,
    diagnostic: int,
    responding_ap_title: bytes | None = None,
    mechanism_name: int | None = None,
    stoc: bytes | None = None,
    user_information: bytes | None = None,
) -> bytes:
    """An AARE with correct BER lengths (fields in the order of the AARE definition)."""
    body = _tlv(APPLICATION_CONTEXT, bytes([0x06, 0x07]) + OID_PREFIX_CONTEXT + bytes([context]))
    body += _tlv(RESULT, bytes([0x02, 0x01, result]))
    body += _tlv(RESULT_SOURCE_DIAGNOSTIC, bytes([0xA1, 0x03, 0x02, 0x01, diagnostic]))
    if responding_ap_title is not None:
        body += _tlv(RESPONDING_AP_TITLE, _tlv(0x04, responding_ap_title))
    if mechanism_name is not None:
        body += _tlv(RESPONDER_ACSE_REQUIREMENTS, bytes([0x07, 0x80]))
        body += _tlv(MECHANISM_NAME_AARE, OID_PREFIX_MECHANISM + bytes([mechanism_name]))
    if stoc is not None:
        body += _tlv(RESPONDING_AUTHENTICATION_VALUE, _tlv(0x80, stoc))
    if user_information is not None:
        body += _tlv(USER_INFORMATION, _tlv(0x04, user_information))
    return _tlv(AARE, body)


def build_rlre(user_information: bytes | None) -> bytes:
    """RLRE with reason normal (0) and optional user-information."""
    body = _tlv(0x80, b"\x00")
    if user_information is not None:
        body += _tlv(USER_INFORMATION, _tlv(0x04, user_information))
    return _tlv(RLRE, body)


def replace_user_information(apdu: bytes, user_information: bytes) -> bytes:
    """The same ACSE APDU with the content of its user-information field replaced (lengths recomputed)."""
    tag, _ = fields(apdu)
    length, pos = decode_length(apdu, 1)
    body = bytearray()
    while pos < len(apdu):
        field_tag = apdu[pos]
        n, start = decode_length(apdu, pos + 1)
        if field_tag == USER_INFORMATION:
            body += _tlv(USER_INFORMATION, _tlv(0x04, user_information))
        else:
            body += apdu[pos : start + n]
        pos = start + n
    return _tlv(tag, bytes(body))


def refusal_text(aare: bytes) -> str | None:
    """'AARE result r (name), source diagnostic d (name)' for a rejected AARE; None when accepted or unreadable."""
    result, diagnostic = leading_result(aare)
    if result in (None, 0):
        return None
    return (
        f"AARE result {result} ({RESULTS.get(result, '?')}), "
        f"source diagnostic {diagnostic} ({ACSE_DIAGNOSTICS.get(diagnostic, '?')})"
    )
