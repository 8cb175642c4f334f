//! DLMS/COSEM security (IEC 62056-5-3 §9.2, DLMS UA 1000-2 Green Book §9.2): security
//! suite 0 (AES-GCM-128), the ciphered xDLMS APDUs, invocation counters, HLS mechanism 5
//! (GMAC), AES key wrap and the Security setup interface class (class 64).
//!
//! | module | what |
//! |---|---|
//! | [`control`] | security control byte, security header `SC ‖ IC`, suite, protection |
//! | [`suite0`] | AES-GCM-128 cipher/decipher and GMAC with 12-byte tags |
//! | [`ciphered_apdu`] | glo-/ded- service-specific and general-glo/ded-ciphering APDUs |
//! | [`context`] | [`SecuritySettings`] and the per-association [`SecurityContext`] (`protect` / `unprotect`) |
//! | [`policy`] | [`SecurityPolicy`] (Security setup attribute 2) |
//! | [`invocation_counter`] | replay rule, [`InvocationCounterStore`], in-memory store |
//! | [`file_counter_store`] | [`FileCounterStore`]: durable counters, atomic writes |
//! | [`hls_gmac`] | HLS mechanism 5: challenges and f(StoC)/f(CtoS) |
//! | [`key_wrap`] | RFC 3394 AES key wrap for key_transfer |
//! | [`keys`] | [`AesKey`], [`SystemTitle`], [`KeyId`], [`GlobalKeys`] |
//! | [`security_setup`] | Security setup (class 64) attribute and method encodings |
//! | [`error`] | [`SecurityError`] |

pub mod ciphered_apdu;
pub mod context;
pub mod control;
pub mod error;
pub mod file_counter_store;
pub mod hls_gmac;
pub mod invocation_counter;
pub mod key_wrap;
pub mod keys;
pub mod policy;
pub mod security_setup;
pub mod suite0;
pub mod suite1;

pub use ciphered_apdu::{CipheredApdu, CipheredService, GeneralCiphered, KeyScope, ServiceSpecificCiphered};
pub use context::{CipheringForm, SecurityContext, SecuritySettings, Suite1Keys, Unprotected, raise_outgoing_counter};
pub use control::{KeySet, Protection, SecurityControl, SecurityHeader, SecuritySuite};
pub use error::SecurityError;
pub use file_counter_store::FileCounterStore;
pub use hls_gmac::HlsGmacResponse;
pub use invocation_counter::{
    CounterDirection, CounterId, InvocationCounterStore, MemoryCounterStore, ReplayWindow, SharedCounterStore,
    shared_store,
};
pub use keys::{AesKey, GlobalKeys, KeyId, SystemTitle};
pub use policy::SecurityPolicy;
