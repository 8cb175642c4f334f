//! The security context of one association (IEC 62056-5-3 §9.2.7.2, "Security
//! context"): the security suite and policy, the keys, both system titles and the
//! invocation counters, with [`SecurityContext::protect`] (plain xDLMS APDU → ciphered
//! APDU) and [`SecurityContext::unprotect`] (ciphered APDU → verified plain APDU).
//!
//! The association state machines own one context per association; a push listener
//! can use one directly to open general-glo-ciphering data-notifications.

use crate::codec::{Codec, DecodeError};
use crate::security::ciphered_apdu::{
    CipheredApdu, CipheredService, GeneralCiphered, KeyScope, ServiceSpecificCiphered,
};
use crate::security::control::{KeySet, Protection, SecurityControl, SecurityHeader, SecuritySuite};
use crate::security::error::SecurityError;
use crate::security::hls_gmac::{self, HlsGmacResponse};
use crate::security::invocation_counter::{
    CounterDirection, CounterId, DEFAULT_RESERVATION_BLOCK, MemoryCounterStore, OutgoingCounter, ReplayWindow,
    SharedCounterStore, check_incoming, lock, shared_store,
};
use crate::security::keys::{AesKey, GlobalKeys, KeyId, SystemTitle};
use crate::security::policy::SecurityPolicy;
use crate::security::suite0::{CipherKeys, Suite0Cipher, TAG_LEN};
use crate::security::suite1::{PublicKey, SigningKey, hls_ecdsa};

/// The largest number of bytes protection adds to an APDU (general-glo-ciphering with
/// an 8-byte system title, 3-byte lengths, security header and tag): 30. A server that
/// must keep ciphered APDUs within the client's max receive PDU size plans with it.
pub const MAX_PROTECTION_OVERHEAD: usize = 1 + 1 + 8 + 3 + SecurityHeader::LEN + TAG_LEN;

/// Default HLS challenge length, bytes.
pub const DEFAULT_CHALLENGE_LEN: usize = 16;

/// The asymmetric keys of one side of a security suite 1 association (IEC 62056-5-3
/// §9.2.3.4, Security setup certificates): what HLS mechanism 7 (ECDSA P-256) signs
/// with and verifies against. The private key never appears in `Debug` output.
#[derive(Debug, Clone)]
pub struct Suite1Keys {
    /// This side's private digital signature key (client: signs f(StoC); server: signs
    /// f(CtoS)).
    pub own_signing_key: SigningKey,
    /// The peer's public digital signature key (server: verifies the client's f(StoC);
    /// client: verifies the server's f(CtoS)), taken from its `C(DataSign)` certificate
    /// or configuration.
    pub peer_public_key: PublicKey,
}

/// Everything one side of a secured association is configured with (the content of its
/// Security setup object, class 64, plus where counters are kept).
#[derive(Debug, Clone)]
pub struct SecuritySettings {
    /// The security suite: [`SecuritySuite::Suite0`], or [`SecuritySuite::Suite1`]
    /// (same AES-GCM-128 ciphering with SC suite bits 1; set with
    /// [`SecuritySettings::with_suite1`]). Suite 2 is refused.
    pub suite: SecuritySuite,
    /// Which protection requests and responses need after association
    /// (default: authenticated and encrypted both ways, SC 0x30).
    pub policy: SecurityPolicy,
    /// Global unicast / broadcast encryption keys and authentication key.
    pub keys: GlobalKeys,
    /// This entity's system title (client: calling-AP-title; server:
    /// responding-AP-title).
    pub system_title: SystemTitle,
    /// The peer's system title when known in advance (Security setup
    /// client_system_title / server_system_title): the association is refused if the
    /// peer presents another one. `None` learns it from the AARQ/AARE.
    pub peer_system_title: Option<SystemTitle>,
    /// Client only: send a fresh random dedicated key in the InitiateRequest, so the
    /// association's xDLMS APDUs use ded- ciphering.
    pub use_dedicated_key: bool,
    /// Length of the HLS challenge this side generates (CtoS or StoC), 8..=64 bytes.
    pub challenge_len: usize,
    /// Where the invocation counters of this key set live; share one store between all
    /// associations of the same client–server pair.
    pub counters: SharedCounterStore,
    /// Outgoing counter values reserved per store write (see
    /// [`crate::security::invocation_counter`]).
    pub counter_reservation: u32,
    /// Suite 1 only: this side's signing key and the peer's public key, required by HLS
    /// mechanism 7 (HLS-ECDSA). `None` with suite 0.
    pub suite1: Option<Suite1Keys>,
}

impl SecuritySettings {
    /// Settings with the default policy (authenticated encryption both ways), suite 0,
    /// no dedicated key, 16-byte challenges, counters in a fresh [`MemoryCounterStore`]
    /// (replace it with [`SecuritySettings::with_counter_store`] for durable counters).
    pub fn new(keys: GlobalKeys, system_title: SystemTitle) -> Self {
        SecuritySettings {
            suite: SecuritySuite::Suite0,
            policy: SecurityPolicy::default(),
            keys,
            system_title,
            peer_system_title: None,
            use_dedicated_key: false,
            challenge_len: DEFAULT_CHALLENGE_LEN,
            counters: shared_store(MemoryCounterStore::new()),
            counter_reservation: DEFAULT_RESERVATION_BLOCK,
            suite1: None,
        }
    }

    /// Switches to security suite 1 (ECDH-ECDSA-AES-GCM-128-SHA-256) with `keys`: the
    /// APDUs are ciphered as in suite 0 with SC suite bits 1, and HLS mechanism 7 signs
    /// with `keys.own_signing_key` and verifies with `keys.peer_public_key`. Raises the
    /// challenge length to 32 bytes, the HLS-ECDSA minimum (Green Book §9.2.7.4), when
    /// it is shorter.
    pub fn with_suite1(mut self, keys: Suite1Keys) -> Self {
        self.suite = SecuritySuite::Suite1;
        self.suite1 = Some(keys);
        self.challenge_len = self.challenge_len.max(hls_ecdsa::MIN_CHALLENGE_LEN);
        self
    }

    /// Pins the peer's system title.
    pub fn with_peer_system_title(mut self, peer: SystemTitle) -> Self {
        self.peer_system_title = Some(peer);
        self
    }

    /// Replaces the security policy.
    pub fn with_policy(mut self, policy: SecurityPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Replaces the invocation counter store.
    pub fn with_counter_store(mut self, counters: SharedCounterStore) -> Self {
        self.counters = counters;
        self
    }

    /// Client: proposes a dedicated key in each association.
    pub fn with_dedicated_key(mut self, on: bool) -> Self {
        self.use_dedicated_key = on;
        self
    }
}

/// Which ciphered APDU form carries (or carried) an APDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CipheringForm {
    /// glo-/ded- service-specific ciphering.
    ServiceSpecific(KeyScope),
    /// general-glo-/general-ded-ciphering.
    General(KeyScope),
}

/// A ciphered APDU opened and verified by [`SecurityContext::unprotect`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unprotected {
    /// The plain xDLMS APDU.
    pub apdu: Vec<u8>,
    /// How it was ciphered (a server answers in the same form).
    pub form: CipheringForm,
    /// Its security header.
    pub security_header: SecurityHeader,
    /// The sender's system title used in the IV.
    pub system_title: SystemTitle,
    /// The last counter accepted for that key before this APDU.
    pub previous_counter: Option<u32>,
}

#[derive(Debug)]
struct Dedicated {
    key: AesKey,
    next_out: u32,
    incoming: ReplayWindow,
}

enum KeyChoice {
    Stored(KeyId),
    Dedicated,
}

/// The runtime security state of one association (see the module docs). Dropping it
/// gives the unused part of its outgoing counter reservation back to the store.
#[derive(Debug)]
pub struct SecurityContext {
    suite: SecuritySuite,
    policy: SecurityPolicy,
    keys: GlobalKeys,
    own: SystemTitle,
    peer: Option<SystemTitle>,
    challenge_len: usize,
    dedicated: Option<Dedicated>,
    store: SharedCounterStore,
    reservation: u32,
    out_unicast: Option<OutgoingCounter>,
    out_broadcast: Option<OutgoingCounter>,
    /// The global unicast key's cipher, prepared on first use and kept for the context's
    /// life (the keys of a context never change).
    unicast_cipher: Option<Suite0Cipher>,
}

/// A short name for the APDU with first byte `t`, for error messages.
pub fn apdu_name(t: u8) -> &'static str {
    match t {
        0x01 => "InitiateRequest",
        0x08 => "InitiateResponse",
        0x0E => "confirmed-service-error",
        0x0F => "data-notification",
        0xC0 => "get-request",
        0xC1 => "set-request",
        0xC2 => "event-notification-request",
        0xC3 => "action-request",
        0xC4 => "get-response",
        0xC5 => "set-response",
        0xC7 => "action-response",
        0xD8 => "exception-response",
        0x60 => "AARQ",
        0x61 => "AARE",
        0x62 => "RLRQ",
        0x63 => "RLRE",
        _ => "APDU",
    }
}

fn is_initiate(t: u8) -> bool {
    matches!(t, 0x01 | 0x08 | 0x0E)
}

fn is_request(t: u8) -> bool {
    matches!(t, 0x01 | 0xC0 | 0xC1 | 0xC3)
}

impl SecurityContext {
    /// A context for one association.
    ///
    /// # Errors
    /// [`SecurityError::UnsupportedSecuritySuite`] for suite 2 (suites 0 and 1 both
    /// cipher with AES-GCM-128);
    /// [`SecurityError::UnsupportedPolicy`] for a policy that requires signatures;
    /// [`SecurityError::InvalidChallenge`] for a challenge length outside 8..=64.
    pub fn new(settings: &SecuritySettings) -> Result<Self, SecurityError> {
        if settings.suite == SecuritySuite::Suite2 {
            return Err(SecurityError::UnsupportedSecuritySuite(settings.suite as u8));
        }
        if settings.policy.requires_signing() {
            return Err(SecurityError::UnsupportedPolicy(settings.policy.bits()));
        }
        hls_gmac::check_challenge(settings.challenge_len)?;
        Ok(SecurityContext {
            suite: settings.suite,
            policy: settings.policy,
            keys: settings.keys.clone(),
            own: settings.system_title,
            peer: settings.peer_system_title,
            challenge_len: settings.challenge_len,
            dedicated: None,
            store: settings.counters.clone(),
            reservation: settings.counter_reservation,
            out_unicast: None,
            out_broadcast: None,
            unicast_cipher: None,
        })
    }

    /// The security policy.
    pub fn policy(&self) -> SecurityPolicy {
        self.policy
    }

    /// This entity's system title.
    pub fn own_system_title(&self) -> SystemTitle {
        self.own
    }

    /// The peer's system title, once configured or learnt.
    pub fn peer_system_title(&self) -> Option<SystemTitle> {
        self.peer
    }

    /// The configured HLS challenge length.
    pub fn challenge_len(&self) -> usize {
        self.challenge_len
    }

    /// Records the peer's system title from a calling-/responding-AP-title.
    ///
    /// # Errors
    /// [`SecurityError::InvalidSystemTitle`] unless 8 bytes;
    /// [`SecurityError::SystemTitleMismatch`] when another title is configured or was
    /// learnt before.
    pub fn set_peer_system_title(&mut self, title: &[u8]) -> Result<SystemTitle, SecurityError> {
        let received = SystemTitle::from_slice(title)?;
        match self.peer {
            Some(expected) if expected != received => Err(SecurityError::SystemTitleMismatch { expected, received }),
            _ => {
                self.peer = Some(received);
                Ok(received)
            }
        }
    }

    /// Installs the dedicated key of this association (sent in the InitiateRequest), or
    /// removes it; its counters start afresh (the key is new).
    pub fn set_dedicated_key(&mut self, key: Option<AesKey>) {
        self.dedicated = key.map(|key| Dedicated { key, next_out: 1, incoming: ReplayWindow::new() });
    }

    /// True when a dedicated key is installed (xDLMS APDUs then use ded- ciphering).
    pub fn has_dedicated_key(&self) -> bool {
        self.dedicated.is_some()
    }

    /// The protection this side applies to an outgoing APDU with first byte `tag`:
    /// authenticated encryption for the Initiate APDUs, else the policy for requests
    /// (get/set/action-request) or responses (everything else the server sends);
    /// `None` when the policy requires nothing.
    pub fn outgoing_protection(&self, tag: u8) -> Option<Protection> {
        if is_initiate(tag) {
            Some(Protection::AuthenticatedEncryption)
        } else if is_request(tag) {
            self.policy.request_protection()
        } else {
            self.policy.response_protection()
        }
    }

    /// The least protection an incoming APDU with first byte `tag` must carry: the
    /// policy for its direction, and always authentication for the Initiate APDUs;
    /// `None` when unciphered APDUs are acceptable.
    pub fn required_protection(&self, tag: u8) -> Option<Protection> {
        let by_policy =
            if is_request(tag) { self.policy.request_protection() } else { self.policy.response_protection() };
        if is_initiate(tag) {
            let encrypted = by_policy.is_some_and(Protection::encrypted);
            Protection::from_flags(true, encrypted)
        } else {
            by_policy
        }
    }

    fn scope_for(&self, tag: u8) -> KeyScope {
        if self.dedicated.is_some() && !is_initiate(tag) { KeyScope::Dedicated } else { KeyScope::Global }
    }

    /// Protects a plain xDLMS APDU as the policy asks: service-specific ciphering where
    /// the service has one (general ciphering otherwise), ded- when a dedicated key is
    /// installed (glo- always for the Initiate APDUs). Returns the plain bytes unchanged
    /// when the policy requires no protection for this APDU.
    ///
    /// # Errors
    /// [`SecurityError::Decode`] for an empty APDU; the errors of
    /// [`SecurityContext::protect_with`].
    pub fn protect(&mut self, plain: &[u8]) -> Result<Vec<u8>, SecurityError> {
        let tag = *plain.first().ok_or(DecodeError::Truncated { what: "APDU to protect", needed: 1 })?;
        let form = CipheringForm::ServiceSpecific(self.scope_for(tag));
        self.protect_as(plain, form)
    }

    /// As [`SecurityContext::protect`], in the given form (a server answers in the form
    /// of the request). An APDU without a service-specific form is general-ciphered.
    ///
    /// # Errors
    /// As [`SecurityContext::protect_with`].
    pub fn protect_as(&mut self, plain: &[u8], form: CipheringForm) -> Result<Vec<u8>, SecurityError> {
        let tag = *plain.first().ok_or(DecodeError::Truncated { what: "APDU to protect", needed: 1 })?;
        match self.outgoing_protection(tag) {
            None => Ok(plain.to_vec()),
            Some(protection) => {
                // The Initiate APDUs are always glo-.
                let form = if is_initiate(tag) { CipheringForm::ServiceSpecific(KeyScope::Global) } else { form };
                self.protect_with(plain, form, protection, KeySet::Unicast)
            }
        }
    }

    /// Protects `plain` exactly as told: form, protection and key set (broadcast uses
    /// the global broadcast key, glo- only). Takes a fresh invocation counter.
    ///
    /// # Errors
    /// [`SecurityError::MissingKey`] when the broadcast or dedicated key is absent;
    /// [`SecurityError::CounterExhausted`] / [`SecurityError::CounterStore`] when no
    /// counter value can be reserved; [`SecurityError::Decode`] for an empty APDU.
    pub fn protect_with(
        &mut self,
        plain: &[u8],
        form: CipheringForm,
        protection: Protection,
        key_set: KeySet,
    ) -> Result<Vec<u8>, SecurityError> {
        let tag = *plain.first().ok_or(DecodeError::Truncated { what: "APDU to protect", needed: 1 })?;
        let scope = match form {
            CipheringForm::ServiceSpecific(s) | CipheringForm::General(s) => s,
        };
        let choice = match (key_set, scope) {
            (KeySet::Broadcast, _) => KeyChoice::Stored(KeyId::GlobalBroadcastEncryption),
            (KeySet::Unicast, KeyScope::Global) => KeyChoice::Stored(KeyId::GlobalUnicastEncryption),
            (KeySet::Unicast, KeyScope::Dedicated) => KeyChoice::Dedicated,
        };
        let scope = if key_set == KeySet::Broadcast { KeyScope::Global } else { scope };
        let sc = SecurityControl::new(self.suite, protection, key_set);
        self.encryption_key(&choice)?;
        let ic = self.take_outgoing(&choice)?;
        let own = self.own;
        let ciphered_information = self.with_cipher(&choice, |c, ak| c.encrypt(sc, &own, ic, ak, plain))?;
        let security_header = SecurityHeader { security_control: sc, invocation_counter: ic };
        let service = match form {
            CipheringForm::ServiceSpecific(_) => CipheredService::from_plain_tag(tag),
            CipheringForm::General(_) => None,
        };
        let apdu = match service {
            Some(service) => CipheredApdu::ServiceSpecific(ServiceSpecificCiphered {
                service,
                scope,
                security_header,
                ciphered_information,
            }),
            None => CipheredApdu::General(GeneralCiphered {
                scope,
                system_title: self.own.as_bytes().to_vec(),
                security_header,
                ciphered_information,
            }),
        };
        Ok(apdu.to_bytes())
    }

    /// Opens a ciphered APDU: checks the security suite and control, the sender's system
    /// title, the invocation counter (replay), the tag, that the plain APDU is the
    /// service the ciphered tag announces, and the security policy; only then accepts
    /// the counter and returns the plain APDU.
    ///
    /// # Errors
    /// [`SecurityError::Decode`] for a malformed ciphered APDU;
    /// [`SecurityError::UnsupportedSecuritySuite`] /
    /// [`SecurityError::UnsupportedSecurityControl`]; [`SecurityError::MissingSystemTitle`]
    /// / [`SecurityError::SystemTitleMismatch`] / [`SecurityError::InvalidSystemTitle`];
    /// [`SecurityError::MissingKey`]; [`SecurityError::Replay`];
    /// [`SecurityError::AuthenticationFailed`]; [`SecurityError::ServiceMismatch`];
    /// [`SecurityError::PolicyViolation`]; [`SecurityError::CounterStore`].
    pub fn unprotect(&mut self, bytes: &[u8]) -> Result<Unprotected, SecurityError> {
        let apdu = CipheredApdu::from_bytes(bytes)?;
        let header = apdu.security_header();
        let sc = header.security_control;
        if sc.suite_id() != self.suite as u8 {
            return Err(SecurityError::UnsupportedSecuritySuite(sc.suite_id()));
        }
        let protection = match sc.protection() {
            Some(p) if !sc.compression() => p,
            _ => return Err(SecurityError::UnsupportedSecurityControl(sc.0)),
        };
        let system_title = match &apdu {
            CipheredApdu::General(g) if !g.system_title.is_empty() => {
                let received = SystemTitle::from_slice(&g.system_title)?;
                match self.peer {
                    Some(expected) if expected != received => {
                        return Err(SecurityError::SystemTitleMismatch { expected, received });
                    }
                    _ => received,
                }
            }
            _ => self.peer.ok_or(SecurityError::MissingSystemTitle)?,
        };
        let choice = match (sc.key_set(), apdu.scope()) {
            (KeySet::Broadcast, KeyScope::Global) => KeyChoice::Stored(KeyId::GlobalBroadcastEncryption),
            (KeySet::Broadcast, KeyScope::Dedicated) => return Err(SecurityError::UnsupportedSecurityControl(sc.0)),
            (KeySet::Unicast, KeyScope::Global) => KeyChoice::Stored(KeyId::GlobalUnicastEncryption),
            (KeySet::Unicast, KeyScope::Dedicated) => KeyChoice::Dedicated,
        };
        self.encryption_key(&choice)?;
        let previous_counter = self.last_incoming(&choice)?;
        check_incoming(header.invocation_counter, previous_counter)?;
        let (form, announced) = match &apdu {
            CipheredApdu::ServiceSpecific(s) => (CipheringForm::ServiceSpecific(s.scope), Some(s.service)),
            CipheredApdu::General(g) => (CipheringForm::General(g.scope), None),
        };
        if let Some(service) = announced {
            self.check_policy(service.plain_tag(), protection, sc)?;
        }
        let ic = header.invocation_counter;
        let plain =
            self.with_cipher(&choice, |c, ak| c.decrypt(sc, &system_title, ic, ak, apdu.ciphered_information()))?;
        let plain_tag = plain.first().copied().unwrap_or(0);
        match announced {
            Some(service) if service.plain_tag() != plain_tag => {
                return Err(SecurityError::ServiceMismatch { ciphered_tag: apdu.tag(), plain_tag });
            }
            Some(_) => {}
            None => {
                if plain.is_empty() {
                    return Err(SecurityError::ServiceMismatch { ciphered_tag: apdu.tag(), plain_tag });
                }
                self.check_policy(plain_tag, protection, sc)?;
            }
        }
        self.accept_incoming(&choice, header.invocation_counter)?;
        Ok(Unprotected { apdu: plain, form, security_header: header, system_title, previous_counter })
    }

    fn check_policy(&self, plain_tag: u8, protection: Protection, sc: SecurityControl) -> Result<(), SecurityError> {
        match self.required_protection(plain_tag) {
            Some(required) if !protection.satisfies(required) => {
                Err(SecurityError::PolicyViolation { apdu: apdu_name(plain_tag), received: sc.0 })
            }
            _ => Ok(()),
        }
    }

    /// The last incoming counter accepted for a global key (from the store).
    ///
    /// # Errors
    /// [`SecurityError::CounterStore`].
    pub fn last_incoming_counter(&self, key: KeyId) -> Result<Option<u32>, SecurityError> {
        lock(&self.store).load(CounterId::new(key, CounterDirection::Incoming))
    }

    /// HLS pass 3/4, this side: f(`challenge`) with the own system title, the global
    /// unicast key and a fresh outgoing counter of that key.
    ///
    /// # Errors
    /// [`SecurityError::InvalidChallenge`]; the counter errors of
    /// [`SecurityContext::protect_with`].
    pub fn hls_response(&mut self, challenge: &[u8]) -> Result<HlsGmacResponse, SecurityError> {
        hls_gmac::check_challenge(challenge.len())?;
        let ic = self.take_outgoing(&KeyChoice::Stored(KeyId::GlobalUnicastEncryption))?;
        let keys = CipherKeys {
            encryption_key: &self.keys.global_unicast_encryption_key,
            authentication_key: &self.keys.authentication_key,
        };
        HlsGmacResponse::compute(&self.own, ic, keys, challenge)
    }

    /// HLS pass 3/4, the peer's side: verifies the peer's f(`own_challenge`) in
    /// `response` (17 bytes). Its invocation counter must be above `counter_floor` (the
    /// last global unicast counter accepted before the APDU that carried it); once
    /// verified it is accepted as an incoming counter.
    ///
    /// # Errors
    /// [`SecurityError::MissingSystemTitle`]; [`SecurityError::Replay`];
    /// [`SecurityError::HlsVerificationFailed`] for a malformed or wrong response;
    /// [`SecurityError::CounterStore`].
    pub fn verify_hls_response(
        &mut self,
        response: &[u8],
        own_challenge: &[u8],
        counter_floor: Option<u32>,
    ) -> Result<(), SecurityError> {
        let peer = self.peer.ok_or(SecurityError::MissingSystemTitle)?;
        let f = HlsGmacResponse::from_bytes(response).map_err(|_| SecurityError::HlsVerificationFailed)?;
        check_incoming(f.invocation_counter, counter_floor)?;
        let keys = CipherKeys {
            encryption_key: &self.keys.global_unicast_encryption_key,
            authentication_key: &self.keys.authentication_key,
        };
        f.verify(&peer, keys, own_challenge)?;
        let id = CounterId::new(KeyId::GlobalUnicastEncryption, CounterDirection::Incoming);
        let mut s = lock(&self.store);
        if check_incoming(f.invocation_counter, s.load(id)?).is_ok() {
            s.save(id, f.invocation_counter)?;
        }
        Ok(())
    }

    /// Runs `f` with the prepared cipher of `choice`'s encryption key and the
    /// authentication key: the global unicast key's cipher is kept between calls, the
    /// others are prepared for the call.
    fn with_cipher<T>(
        &mut self,
        choice: &KeyChoice,
        f: impl FnOnce(&Suite0Cipher, &AesKey) -> Result<T, SecurityError>,
    ) -> Result<T, SecurityError> {
        match choice {
            KeyChoice::Stored(KeyId::GlobalBroadcastEncryption) | KeyChoice::Dedicated => {
                let cipher = Suite0Cipher::new(self.encryption_key(choice)?);
                f(&cipher, &self.keys.authentication_key)
            }
            KeyChoice::Stored(_) => {
                let cipher = match self.unicast_cipher.take() {
                    Some(c) => c,
                    None => Suite0Cipher::new(&self.keys.global_unicast_encryption_key),
                };
                let out = f(&cipher, &self.keys.authentication_key);
                self.unicast_cipher = Some(cipher);
                out
            }
        }
    }

    fn encryption_key(&self, choice: &KeyChoice) -> Result<&AesKey, SecurityError> {
        match choice {
            KeyChoice::Stored(KeyId::GlobalBroadcastEncryption) => self
                .keys
                .global_broadcast_encryption_key
                .as_ref()
                .ok_or(SecurityError::MissingKey("global broadcast encryption")),
            KeyChoice::Stored(_) => Ok(&self.keys.global_unicast_encryption_key),
            KeyChoice::Dedicated => {
                self.dedicated.as_ref().map(|d| &d.key).ok_or(SecurityError::MissingKey("dedicated"))
            }
        }
    }

    fn take_outgoing(&mut self, choice: &KeyChoice) -> Result<u32, SecurityError> {
        match choice {
            KeyChoice::Dedicated => {
                let d = self.dedicated.as_mut().ok_or(SecurityError::MissingKey("dedicated"))?;
                if d.next_out == u32::MAX {
                    return Err(SecurityError::CounterExhausted(KeyId::GlobalUnicastEncryption));
                }
                let v = d.next_out;
                d.next_out += 1;
                Ok(v)
            }
            KeyChoice::Stored(key) => {
                let slot = if *key == KeyId::GlobalBroadcastEncryption {
                    &mut self.out_broadcast
                } else {
                    &mut self.out_unicast
                };
                let counter = match slot {
                    Some(c) => c,
                    None => slot.insert(OutgoingCounter::load(&self.store, *key, 1)?),
                };
                counter.take(&self.store, *key, self.reservation)
            }
        }
    }

    fn last_incoming(&self, choice: &KeyChoice) -> Result<Option<u32>, SecurityError> {
        match choice {
            KeyChoice::Dedicated => Ok(self.dedicated.as_ref().and_then(|d| d.incoming.last())),
            KeyChoice::Stored(key) => self.last_incoming_counter(*key),
        }
    }

    fn accept_incoming(&mut self, choice: &KeyChoice, ic: u32) -> Result<(), SecurityError> {
        match choice {
            KeyChoice::Dedicated => {
                self.dedicated.as_mut().ok_or(SecurityError::MissingKey("dedicated"))?.incoming.accept(ic)
            }
            KeyChoice::Stored(key) => {
                let id = CounterId::new(*key, CounterDirection::Incoming);
                let mut s = lock(&self.store);
                // Re-check under the lock: a concurrent association may have moved on.
                check_incoming(ic, s.load(id)?)?;
                s.save(id, ic)
            }
        }
    }
}

impl Drop for SecurityContext {
    fn drop(&mut self) {
        if let Some(c) = &self.out_unicast {
            c.release(&self.store, KeyId::GlobalUnicastEncryption);
        }
        if let Some(c) = &self.out_broadcast {
            c.release(&self.store, KeyId::GlobalBroadcastEncryption);
        }
    }
}

/// Raises the stored outgoing counter of `key` to at least `at_least`: how a client
/// recovers after a server answered with exception-response invocation-counter-error
/// (its expected value) because the client's counters were lost or reset.
///
/// # Errors
/// [`SecurityError::CounterStore`].
pub fn raise_outgoing_counter(store: &SharedCounterStore, key: KeyId, at_least: u32) -> Result<(), SecurityError> {
    let id = CounterId::new(key, CounterDirection::Outgoing);
    let mut s = lock(store);
    match s.load(id)? {
        Some(v) if v >= at_least => Ok(()),
        _ => s.save(id, at_least),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(store: &SharedCounterStore) -> SecuritySettings {
        SecuritySettings::new(GlobalKeys::new(AesKey::new([1; 16]), AesKey::new([2; 16])), SystemTitle([3; 8]))
            .with_counter_store(store.clone())
    }

    fn ic_of(bytes: &[u8]) -> u32 {
        CipheredApdu::from_bytes(bytes).unwrap().security_header().invocation_counter
    }

    #[test]
    fn dropping_a_context_gives_back_its_reservation_and_a_crash_does_not() {
        let store = shared_store(MemoryCounterStore::new());
        let out = CounterId::new(KeyId::GlobalUnicastEncryption, CounterDirection::Outgoing);
        let mut a = SecurityContext::new(&settings(&store)).unwrap();
        assert_eq!(ic_of(&a.protect(&[0xC0, 1]).unwrap()), 1);
        assert_eq!(lock(&store).load(out).unwrap(), Some(1 + DEFAULT_RESERVATION_BLOCK));
        drop(a);
        assert_eq!(lock(&store).load(out).unwrap(), Some(2));
        let mut b = SecurityContext::new(&settings(&store)).unwrap();
        assert_eq!(ic_of(&b.protect(&[0xC0, 1]).unwrap()), 2);
        std::mem::forget(b); // a crash: the reservation stays
        let mut c = SecurityContext::new(&settings(&store)).unwrap();
        assert_eq!(ic_of(&c.protect(&[0xC0, 1]).unwrap()), 2 + DEFAULT_RESERVATION_BLOCK);
    }

    #[test]
    fn raising_the_outgoing_counter_after_an_invocation_counter_error() {
        let store = shared_store(MemoryCounterStore::new());
        raise_outgoing_counter(&store, KeyId::GlobalUnicastEncryption, 500).unwrap();
        raise_outgoing_counter(&store, KeyId::GlobalUnicastEncryption, 10).unwrap();
        let mut a = SecurityContext::new(&settings(&store)).unwrap();
        assert_eq!(ic_of(&a.protect(&[0xC0, 1]).unwrap()), 500);
    }

    #[test]
    fn missing_keys_and_titles_are_typed_errors() {
        let store = shared_store(MemoryCounterStore::new());
        let mut a = SecurityContext::new(&settings(&store)).unwrap();
        let ss = CipheringForm::ServiceSpecific(KeyScope::Global);
        assert_eq!(
            a.protect_with(&[0xC0], ss, Protection::AuthenticatedEncryption, KeySet::Broadcast),
            Err(SecurityError::MissingKey("global broadcast encryption"))
        );
        assert!(matches!(a.protect(&[]), Err(SecurityError::Decode(_))));
        let sent = a.protect(&[0xC0, 1]).unwrap();
        let mut b = SecurityContext::new(&settings(&shared_store(MemoryCounterStore::new()))).unwrap();
        assert_eq!(b.unprotect(&sent), Err(SecurityError::MissingSystemTitle));
        assert_eq!(b.set_peer_system_title(&[3; 7]), Err(SecurityError::InvalidSystemTitle { len: 7 }));
        b.set_peer_system_title(&[3; 8]).unwrap();
        assert_eq!(
            b.set_peer_system_title(&[4; 8]),
            Err(SecurityError::SystemTitleMismatch { expected: SystemTitle([3; 8]), received: SystemTitle([4; 8]) })
        );
        assert_eq!(b.unprotect(&sent).unwrap().apdu, vec![0xC0, 1]);
        let mut s = settings(&store);
        s.challenge_len = 4;
        assert!(matches!(SecurityContext::new(&s), Err(SecurityError::InvalidChallenge { len: 4 })));
        s.challenge_len = 16;
        s.suite = SecuritySuite::Suite2;
        assert!(matches!(SecurityContext::new(&s), Err(SecurityError::UnsupportedSecuritySuite(2))));
        s.suite = SecuritySuite::Suite1;
        assert!(SecurityContext::new(&s).is_ok());
    }
}
