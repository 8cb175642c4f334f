//! HLS authentication mechanism 7 (ECDSA P-256, security suite 1) as the association
//! state machines run it (IEC 62056-5-3 §9.2.7.4, DLMS UA 1000-2 Green Book §9.2.7.4):
//! the glue between an association's [`SecuritySettings`] / [`SecurityContext`] (system
//! titles, [`Suite1Keys`]) and the pure computations of [`Hls7Exchange`].
//!
//! * pass 1/2: CtoS and StoC are 32..=64 random bytes ([`new_challenge`]);
//! * pass 3: the client sends `f(StoC)`, a 64-byte `R ‖ S` ECDSA signature
//!   ([`client_f_stoc`]), as the parameter of `reply_to_HLS_authentication`;
//! * pass 4: the server verifies it with the client's public key and returns `f(CtoS)`
//!   ([`server_f_ctos`]); the client verifies that with the server's public key
//!   ([`client_verify_f_ctos`]).
//!
//! Unlike HLS-GMAC, f(StoC)/f(CtoS) carry no invocation counter: the fresh challenges
//! alone prevent replay.

use crate::security::context::Suite1Keys;
use crate::security::suite1::{Hls7Exchange, hls_ecdsa};
use crate::security::{SecurityContext, SecurityError, SecuritySettings};

/// What [`SecurityError::MissingKey`] names when HLS-ECDSA is asked for without suite 1
/// keys in the security settings.
pub(crate) const MISSING_SUITE1_KEYS: &str =
    "digital signature (HLS-ECDSA needs suite 1 keys in the security settings)";

/// The suite 1 keys of `settings`.
///
/// # Errors
/// [`SecurityError::MissingKey`] when there are no settings or they carry no
/// [`Suite1Keys`].
pub(crate) fn suite1_keys(settings: Option<&SecuritySettings>) -> Result<&Suite1Keys, SecurityError> {
    settings.and_then(|s| s.suite1.as_ref()).ok_or(SecurityError::MissingKey(MISSING_SUITE1_KEYS))
}

/// A fresh CtoS or StoC of `len` bytes (the configured challenge length).
///
/// # Errors
/// [`SecurityError::InvalidChallenge`] when `len` is outside 32..=64;
/// [`SecurityError::Random`].
pub(crate) fn new_challenge(len: usize) -> Result<Vec<u8>, SecurityError> {
    Ok(hls_ecdsa::new_challenge(len)?)
}

/// Checks a received challenge is 32..=64 bytes.
pub(crate) fn challenge_ok(challenge: &[u8]) -> bool {
    hls_ecdsa::check_challenge(challenge.len()).is_ok()
}

/// The exchange as seen by the client (own title = SystemTitle-C, peer = SystemTitle-S).
fn client_view<'a>(ctx: &SecurityContext, ctos: &'a [u8], stoc: &'a [u8]) -> Result<Hls7Exchange<'a>, SecurityError> {
    let server = ctx.peer_system_title().ok_or(SecurityError::MissingSystemTitle)?;
    Ok(Hls7Exchange { client_system_title: ctx.own_system_title(), server_system_title: server, ctos, stoc })
}

/// The exchange as seen by the server (own title = SystemTitle-S, peer = SystemTitle-C).
fn server_view<'a>(ctx: &SecurityContext, ctos: &'a [u8], stoc: &'a [u8]) -> Result<Hls7Exchange<'a>, SecurityError> {
    let client = ctx.peer_system_title().ok_or(SecurityError::MissingSystemTitle)?;
    Ok(Hls7Exchange { client_system_title: client, server_system_title: ctx.own_system_title(), ctos, stoc })
}

/// Client, pass 3: `f(StoC) = ECDSA(SystemTitle-C ‖ SystemTitle-S ‖ StoC ‖ CtoS)`, 64
/// bytes `R ‖ S`, signed with the client's signing key.
///
/// # Errors
/// [`SecurityError::MissingSystemTitle`] before the server's title is known;
/// [`SecurityError::InvalidChallenge`] for a challenge outside 32..=64 bytes.
pub(crate) fn client_f_stoc(
    keys: &Suite1Keys,
    ctx: &SecurityContext,
    ctos: &[u8],
    stoc: &[u8],
) -> Result<Vec<u8>, SecurityError> {
    let signature = client_view(ctx, ctos, stoc)?.client_response(&keys.own_signing_key)?;
    Ok(signature.as_bytes().to_vec())
}

/// Server, passes 3 and 4: verifies the client's `f_stoc` with the client's public key
/// and returns `f(CtoS) = ECDSA(SystemTitle-S ‖ SystemTitle-C ‖ CtoS ‖ StoC)`, 64 bytes,
/// signed with the server's signing key.
///
/// # Errors
/// [`SecurityError::HlsVerificationFailed`] when `f_stoc` is not a 64-byte signature
/// that verifies (wrong client key, tampered signature or challenge);
/// [`SecurityError::MissingSystemTitle`]; [`SecurityError::InvalidChallenge`].
pub(crate) fn server_f_ctos(
    keys: &Suite1Keys,
    ctx: &SecurityContext,
    ctos: &[u8],
    stoc: &[u8],
    f_stoc: &[u8],
) -> Result<Vec<u8>, SecurityError> {
    let exchange = server_view(ctx, ctos, stoc)?;
    exchange.verify_client_response(&keys.peer_public_key, f_stoc)?;
    Ok(exchange.server_response(&keys.own_signing_key)?.as_bytes().to_vec())
}

/// Client, pass 4: verifies the server's `f_ctos` with the server's public key.
///
/// # Errors
/// [`SecurityError::HlsVerificationFailed`] when `f_ctos` is not a 64-byte signature
/// that verifies (wrong server key, tampered signature or challenge);
/// [`SecurityError::MissingSystemTitle`]; [`SecurityError::InvalidChallenge`].
pub(crate) fn client_verify_f_ctos(
    keys: &Suite1Keys,
    ctx: &SecurityContext,
    ctos: &[u8],
    stoc: &[u8],
    f_ctos: &[u8],
) -> Result<(), SecurityError> {
    Ok(client_view(ctx, ctos, stoc)?.verify_server_response(&keys.peer_public_key, f_ctos)?)
}
