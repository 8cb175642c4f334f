"""Suite 0 security and HLS-GMAC for gurux_meter.py (the parts gurux-dlms's server gets wrong).

What the gurux server keeps doing in a ciphered association: HDLC/wrapper framing, AARQ
parsing and negotiation (conformance, PDU size, DLMS version, its
onValidateAuthentication hook), GET handling with block transfer, the object model. What
this module does instead (README.md lists each gurux fault that made it necessary):

- AARQ: the glo-initiateRequest is deciphered here (suite0.py, on gurux's AES-GCM) and
  gurux is handed the same AARQ with the plain InitiateRequest; the AARE is encoded here
  (acse_encoding.py) with the responding-AP-title, the HLS-GMAC fields and a
  glo-initiateResponse.
- every later request: a hook on gurux's decipher entry points (GXDLMS.handleGloDedRequest
  for glo- service-specific APDUs, GXDLMS.handleGloDedResponse, which gurux's server
  calls for general-glo-ciphering) deciphers it, checks the security policy, the sender's
  system title and the invocation counter (strictly increasing within the association);
  the response is ciphered in the request's form (glo-get-request -> glo-get-response,
  general-glo-ciphering -> general-glo-ciphering with the meter's system title).
- reply_to_HLS_authentication (HLS pass 3/4): f(StoC) is verified and f(CtoS) returned.
- refusals are answered in clear with an exception-response: deciphering-error (tag,
  key, policy, system title) or invocation-counter-error with the lowest counter the
  meter would accept (IEC 62056-5-3 §9.5, ExceptionResponse).

Counters: the meter's own invocation counter is shared by every connection of the
process and only rises (a meter never reuses an IV); a client's counter must rise within
an association, but the meter does not remember it across associations, so every client
run may start again from --invocation-counter 1.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import suite0
from suite0 import SecurityFailure

STATE_SERVICE_NOT_ALLOWED = 1
STATE_SERVICE_UNKNOWN = 2
SERVICE_OPERATION_NOT_POSSIBLE = 1
SERVICE_DECIPHERING_ERROR = 5
SERVICE_INVOCATION_COUNTER_ERROR = 6

ACTION_REQUEST = 0xC3
ACTION_RESPONSE = 0xC7
ACTION_SUCCESS = 0
ACTION_READ_WRITE_DENIED = 3
ASSOCIATION_LN_CLASS = 15
CURRENT_ASSOCIATION_OBIS = bytes([0, 0, 40, 0, 0, 255])
REPLY_TO_HLS_AUTHENTICATION = 1


@dataclass(frozen=True)
class SecurityConfig:
    """The meter's Security setup: keys, system titles, policy, first counter and negative-test hooks."""

    encryption_key: bytes
    authentication_key: bytes
    server_system_title: bytes
    client_system_title: bytes | None  # None: accept any client system title (learned from the AARQ)
    security_control: int  # required SC of every request after the AARQ (0x30 by default)
    first_invocation_counter: int
    tamper_tag: str | None = None  # "response": every ciphered response after the AARE; "aare": the AARE too
    replay_invocation_counter: bool = False  # first ciphered response after the AARE reuses the AARE's IC

    def as_json(self) -> dict:
        return {
            "key_encryption": self.encryption_key.hex().upper(),
            "key_authentication": self.authentication_key.hex().upper(),
            "server_system_title": self.server_system_title.hex().upper(),
            "client_system_title": self.client_system_title.hex().upper() if self.client_system_title else None,
            "security_control": self.security_control,
            "first_invocation_counter": self.first_invocation_counter,
        }


class OutgoingCounter:
    """The meter's invocation counter for its global unicast key: strictly rising across all connections."""

    def __init__(self, first: int):
        self._next = first
        self._lock = threading.Lock()

    def take(self) -> int:
        with self._lock:
            if self._next > 0xFFFFFFFF:
                raise SecurityFailure("meter invocation counter exhausted")
            value = self._next
            self._next += 1
            return value


class SecureSession:
    """One ciphered association (client 1 with HLS-GMAC) on one connection."""

    def __init__(self, config: SecurityConfig, counter: OutgoingCounter, client_system_title: bytes, ctos: bytes):
        self.config = config
        self.counter = counter
        self.client_system_title = client_system_title
        self.ctos = ctos
        self.stoc = b""
        self.authenticated = False  # True once f(StoC) verified
        self.failed = False  # HLS failed: nothing more is served
        self.last_client_ic: int | None = None  # last IC accepted from the client in this association
        self.floor_before_current: int | None = None  # last IC accepted before the APDU being served
        self.request_general = False  # form of the request being served
        self.request_sc = config.security_control
        self.aare_ic: int | None = None
        self.responses = 0  # ciphered xDLMS responses sent after the AARE

    # -- requests

    def accept_counter(self, ic: int) -> None:
        last = self.last_client_ic
        if last is not None and ic <= last:
            raise SecurityFailure(
                f"invocation counter {ic} is not above the last one accepted ({last})",
                replay=True,
                expected_counter=last + 1,
            )

    def open_initiate_request(self, apdu: bytes) -> bytes:
        """Decipher the AARQ's glo-initiateRequest; returns the plain InitiateRequest."""
        c = suite0.parse_ciphered(apdu)
        if c.tag != suite0.GLO_INITIATE_REQUEST:
            raise SecurityFailure(f"AARQ user-information {c.tag:#04x} is not a glo-initiateRequest")
        plain = self._open(c)
        if not plain or plain[0] != 0x01:
            raise SecurityFailure("deciphered AARQ user-information is not an InitiateRequest")
        return plain

    def open_request(self, apdu: bytes) -> bytes:
        """Decipher a glo- or general-glo-ciphering request; returns the plain xDLMS APDU."""
        if self.failed:
            raise SecurityFailure("HLS authentication failed in this association")
        c = suite0.parse_ciphered(apdu)
        if c.tag == suite0.GLO_INITIATE_REQUEST:
            raise SecurityFailure("glo-initiateRequest outside an AARQ")
        if c.general and c.system_title and c.system_title != self.client_system_title:
            raise SecurityFailure(
                f"general-glo-ciphering from system title {c.system_title.hex()}, "
                f"the association's client is {self.client_system_title.hex()}"
            )
        plain = self._open(c)
        self.request_general = c.general
        if not c.general and (not plain or suite0.PLAIN_TO_GLO.get(plain[0]) != c.tag):
            raise SecurityFailure(f"{c.tag:#04x} deciphers to a {plain[:1].hex()} APDU")
        return plain

    def _open(self, c: suite0.CipheredApdu) -> bytes:
        if c.security_control != self.config.security_control:
            raise SecurityFailure(
                f"security control {c.security_control:#04x}, the policy asks for {self.config.security_control:#04x}"
            )
        self.accept_counter(c.invocation_counter)
        plain = suite0.unprotect_content(
            c.security_control,
            self.client_system_title,
            c.invocation_counter,
            self.config.encryption_key,
            self.config.authentication_key,
            c.content,
        )
        self.floor_before_current = self.last_client_ic
        self.last_client_ic = c.invocation_counter
        self.request_sc = c.security_control
        return plain

    # -- responses

    def seal_initiate_response(self, initiate_response: bytes) -> bytes:
        """glo-initiateResponse for the AARE (or RLRE), ciphered with a fresh meter IC."""
        ic = self.counter.take()
        self.aare_ic = ic
        apdu = suite0.protect_apdu(
            initiate_response,
            general=False,
            sc=self.config.security_control,
            system_title=self.config.server_system_title,
            ic=ic,
            ek=self.config.encryption_key,
            ak=self.config.authentication_key,
        )
        if self.config.tamper_tag == "aare":
            apdu = suite0.parse_ciphered(apdu).with_tag_bit_flipped().to_bytes()
        return apdu

    def seal_response(self, plain: bytes) -> bytes:
        """Cipher an xDLMS response in the form of the request it answers."""
        if self.config.replay_invocation_counter and self.responses == 0 and self.aare_ic is not None:
            ic = self.aare_ic  # negative test: reuse the previous counter
        else:
            ic = self.counter.take()
        self.responses += 1
        apdu = suite0.protect_apdu(
            plain,
            general=self.request_general,
            sc=self.request_sc,
            system_title=self.config.server_system_title,
            ic=ic,
            ek=self.config.encryption_key,
            ak=self.config.authentication_key,
        )
        if self.config.tamper_tag in ("response", "aare"):
            apdu = suite0.parse_ciphered(apdu).with_tag_bit_flipped().to_bytes()
        return apdu

    # -- HLS pass 3/4

    def reply_to_hls(self, action_request: bytes) -> bytes:
        """Answer reply_to_HLS_authentication (the plain action-request) with the plain action-response.

        Success: result success with f(CtoS) as an octet-string. Failure: result
        read-write-denied, and the association serves nothing more.
        """
        invoke = action_request[2] if len(action_request) > 2 else 0x81
        try:
            f_stoc = self._hls_parameter(action_request)
            ic = suite0.verify_hls_gmac(
                f_stoc,
                self.client_system_title,
                self.config.encryption_key,
                self.config.authentication_key,
                self.stoc,
            )
            floor = self.floor_before_current
            if floor is not None and ic <= floor:
                raise SecurityFailure(f"f(StoC) invocation counter {ic} is not above {floor}")
            f_ctos = suite0.hls_gmac(
                self.config.server_system_title,
                self.counter.take(),
                self.config.encryption_key,
                self.config.authentication_key,
                self.ctos,
            )
        except SecurityFailure:
            self.failed = True
            return bytes([ACTION_RESPONSE, 0x01, invoke, ACTION_READ_WRITE_DENIED, 0x00])
        self.authenticated = True
        return bytes([ACTION_RESPONSE, 0x01, invoke, ACTION_SUCCESS, 0x01, 0x00, 0x09, len(f_ctos)]) + f_ctos

    @staticmethod
    def _hls_parameter(apdu: bytes) -> bytes:
        # C3 01 invoke | class(2) | OBIS(6) | method(1) | 01 (parameters present) | 09 len f(StoC)
        if len(apdu) < 15 or apdu[0] != ACTION_REQUEST or apdu[1] != 0x01:
            raise SecurityFailure("not an action-request-normal")
        if int.from_bytes(apdu[3:5], "big") != ASSOCIATION_LN_CLASS or apdu[5:11] != CURRENT_ASSOCIATION_OBIS:
            raise SecurityFailure("action is not on the current Association LN")
        if apdu[11] != REPLY_TO_HLS_AUTHENTICATION or apdu[12] != 0x01 or apdu[13] != 0x09:
            raise SecurityFailure("not reply_to_HLS_authentication with an octet-string")
        n, start = suite0.decode_length(apdu, 14)
        value = apdu[start : start + n]
        if len(value) != n or start + n != len(apdu):
            raise SecurityFailure("reply_to_HLS_authentication parameter has a bad length")
        return value


def exception_response(failure: SecurityFailure) -> bytes:
    """The clear exception-response refusing a ciphered APDU (IEC 62056-5-3 §9.5)."""
    if failure.replay and failure.expected_counter is not None:
        return bytes(
            [suite0.EXCEPTION_RESPONSE, STATE_SERVICE_UNKNOWN, SERVICE_INVOCATION_COUNTER_ERROR]
        ) + failure.expected_counter.to_bytes(4, "big")
    return bytes([suite0.EXCEPTION_RESPONSE, STATE_SERVICE_UNKNOWN, SERVICE_DECIPHERING_ERROR])


def service_not_allowed() -> bytes:
    """exception-response service-not-allowed / operation-not-possible (e.g. a GET before HLS completed)."""
    return bytes([suite0.EXCEPTION_RESPONSE, STATE_SERVICE_NOT_ALLOWED, SERVICE_OPERATION_NOT_POSSIBLE])
