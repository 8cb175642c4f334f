//! Client and server application-association state machines (IEC 62056-5-3 §7.3
//! "Application association establishment and release" and §9.3 data-transfer
//! services), written in the sans-I/O style of quinn-proto: they are fed received APDUs
//! (`handle_apdu`) and asked what to send (`poll_transmit`); they own no socket and no
//! timer. The same machines run over the TCP wrapper, HDLC or the field-network model.
//!
//! Logical-name referencing is negotiated, with no authentication (lowest level
//! security), low level security (a password), high level security mechanism 5
//! (HLS-GMAC, suite 0 or 1) or mechanism 7 (HLS-ECDSA, suite 1). With [`crate::security::SecuritySettings`] (client:
//! [`ClientConfig::security`]; server: [`ServerAssociation::with_security`]) the
//! association uses the `Logical_Name_Referencing_With_Ciphering` context: the
//! InitiateRequest/Response travel as glo-initiateRequest/Response, and afterwards every
//! xDLMS APDU is protected as the security policy requires (glo- or, with a dedicated
//! key, ded- ciphering), transparently for the callers (IEC 62056-5-3 §9.2.7).
//!
//! Long requests and responses are split transparently: service-specific block transfer
//! for GET (get-response-with-datablock), SET (set-request-with-datablock) and ACTION
//! (action-request-with-pblock), and the windowed general block transfer ([`gbt`]) when
//! its conformance bit is negotiated (IEC 62056-5-3:2017 §9.3.5-§9.3.8).

pub mod client;
mod datablock;
pub mod gbt;
mod hls_ecdsa;
pub mod server;

pub use client::{ClientAssociation, ClientConfig, ClientError, ClientEvent, ClientState};
pub use gbt::{BlockTransferError, DEFAULT_GBT_WINDOW};
pub use server::{CosemServer, RequestContext, ServerAssociation, ServerConfig, ServerState};

/// How a client authenticates when it opens an association (IEC 62056-5-3 §9.2.7.2
/// "Authentication mechanisms").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authentication {
    /// Lowest level security: no authentication (mechanism 0), e.g. the public client 16.
    None,
    /// Low level security (mechanism 1): the password travels in the AARQ's
    /// calling-authentication-value.
    Low {
        /// The LLS secret.
        password: Vec<u8>,
    },
    /// High level security mechanism 5, HLS-GMAC (IEC 62056-5-3 §9.2.7.4): a 4-pass
    /// challenge exchange proved with the global unicast encryption key and the
    /// authentication key of the association's security settings (which are therefore
    /// required).
    HighGmac,
    /// High level security mechanism 7, HLS-ECDSA (IEC 62056-5-3 §9.2.7.4, security
    /// suite 1): the same 4-pass exchange with 32..=64-byte challenges, proved with ECDSA
    /// P-256 / SHA-256 signatures (64 bytes `R ‖ S`) made with this side's signing key
    /// and verified with the peer's public key. Requires security settings with
    /// [`crate::security::context::Suite1Keys`]
    /// ([`crate::security::SecuritySettings::with_suite1`]).
    HighEcdsa,
}

impl Authentication {
    /// The ACSE mechanism name of this authentication.
    pub fn mechanism(&self) -> crate::acse::MechanismName {
        match self {
            Authentication::None => crate::acse::MechanismName::None,
            Authentication::Low { .. } => crate::acse::MechanismName::Lls,
            Authentication::HighGmac => crate::acse::MechanismName::HlsGmac,
            Authentication::HighEcdsa => crate::acse::MechanismName::HlsEcdsa,
        }
    }
}
