//! The outcome fields of the AARE (IEC 62056-5-3 §9.4.2.2, ISO/IEC 8650-1):
//! `result [2] Association-result` and `result-source-diagnostic [3]
//! Associate-source-diagnostic`.

use std::fmt;

use serde::Serialize;

use crate::codec::DecodeError;

/// `Association-result` INTEGER (ISO/IEC 8650-1), AARE `[2]`: `A2 03 02 01 <v>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[repr(u8)]
pub enum AssociationResult {
    /// (0) the association is established (with HLS: pending the challenge exchange).
    Accepted = 0,
    /// (1) rejected, retrying with the same parameters will fail again.
    RejectedPermanent = 1,
    /// (2) rejected for a transient reason.
    RejectedTransient = 2,
}

impl AssociationResult {
    /// Maps the INTEGER value.
    ///
    /// # Errors
    /// [`DecodeError::Invalid`] for values other than 0, 1, 2.
    pub fn from_value(v: i64) -> Result<Self, DecodeError> {
        match v {
            0 => Ok(AssociationResult::Accepted),
            1 => Ok(AssociationResult::RejectedPermanent),
            2 => Ok(AssociationResult::RejectedTransient),
            _ => Err(DecodeError::invalid("AARE result", format!("undefined association result {v}"))),
        }
    }
}

impl fmt::Display for AssociationResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AssociationResult::Accepted => "accepted",
            AssociationResult::RejectedPermanent => "rejected-permanent",
            AssociationResult::RejectedTransient => "rejected-transient",
        })
    }
}

/// `acse-service-user` diagnostic values (ISO/IEC 8650-1; IEC 62056-5-3 §9.4.2.2):
/// why the server's application (the COSEM association) accepted or refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[repr(u8)]
pub enum AcseServiceUserDiagnostic {
    /// (0) null: accepted.
    Null = 0,
    /// (1) no-reason-given (also used when the InitiateRequest is refused).
    NoReasonGiven = 1,
    /// (2) application-context-name-not-supported.
    ApplicationContextNameNotSupported = 2,
    /// (3) calling-AP-title-not-recognized.
    CallingApTitleNotRecognized = 3,
    /// (4) calling-AP-invocation-identifier-not-recognized.
    CallingApInvocationIdentifierNotRecognized = 4,
    /// (5) calling-AE-qualifier-not-recognized.
    CallingAeQualifierNotRecognized = 5,
    /// (6) calling-AE-invocation-identifier-not-recognized.
    CallingAeInvocationIdentifierNotRecognized = 6,
    /// (7) called-AP-title-not-recognized.
    CalledApTitleNotRecognized = 7,
    /// (8) called-AP-invocation-identifier-not-recognized.
    CalledApInvocationIdentifierNotRecognized = 8,
    /// (9) called-AE-qualifier-not-recognized.
    CalledAeQualifierNotRecognized = 9,
    /// (10) called-AE-invocation-identifier-not-recognized.
    CalledAeInvocationIdentifierNotRecognized = 10,
    /// (11) authentication-mechanism-name-not-recognised.
    AuthenticationMechanismNameNotRecognised = 11,
    /// (12) authentication-mechanism-name-required.
    AuthenticationMechanismNameRequired = 12,
    /// (13) authentication-failure (wrong LLS password).
    AuthenticationFailure = 13,
    /// (14) authentication-required: HLS accepted, the challenge exchange must follow.
    AuthenticationRequired = 14,
}

impl AcseServiceUserDiagnostic {
    const ALL: [AcseServiceUserDiagnostic; 15] = {
        use AcseServiceUserDiagnostic::*;
        [
            Null,
            NoReasonGiven,
            ApplicationContextNameNotSupported,
            CallingApTitleNotRecognized,
            CallingApInvocationIdentifierNotRecognized,
            CallingAeQualifierNotRecognized,
            CallingAeInvocationIdentifierNotRecognized,
            CalledApTitleNotRecognized,
            CalledApInvocationIdentifierNotRecognized,
            CalledAeQualifierNotRecognized,
            CalledAeInvocationIdentifierNotRecognized,
            AuthenticationMechanismNameNotRecognised,
            AuthenticationMechanismNameRequired,
            AuthenticationFailure,
            AuthenticationRequired,
        ]
    };

    /// Maps the INTEGER value; `None` above 14 or below 0.
    pub fn from_value(v: i64) -> Option<Self> {
        usize::try_from(v).ok().and_then(|i| Self::ALL.get(i).copied())
    }

    /// The ASN.1 name.
    pub fn name(self) -> &'static str {
        use AcseServiceUserDiagnostic::*;
        match self {
            Null => "null",
            NoReasonGiven => "no-reason-given",
            ApplicationContextNameNotSupported => "application-context-name-not-supported",
            CallingApTitleNotRecognized => "calling-AP-title-not-recognized",
            CallingApInvocationIdentifierNotRecognized => "calling-AP-invocation-identifier-not-recognized",
            CallingAeQualifierNotRecognized => "calling-AE-qualifier-not-recognized",
            CallingAeInvocationIdentifierNotRecognized => "calling-AE-invocation-identifier-not-recognized",
            CalledApTitleNotRecognized => "called-AP-title-not-recognized",
            CalledApInvocationIdentifierNotRecognized => "called-AP-invocation-identifier-not-recognized",
            CalledAeQualifierNotRecognized => "called-AE-qualifier-not-recognized",
            CalledAeInvocationIdentifierNotRecognized => "called-AE-invocation-identifier-not-recognized",
            AuthenticationMechanismNameNotRecognised => "authentication-mechanism-name-not-recognised",
            AuthenticationMechanismNameRequired => "authentication-mechanism-name-required",
            AuthenticationFailure => "authentication-failure",
            AuthenticationRequired => "authentication-required",
        }
    }
}

/// `acse-service-provider` diagnostic values (ISO/IEC 8650-1): refusals by the ACSE
/// protocol machine itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[repr(u8)]
pub enum AcseServiceProviderDiagnostic {
    /// (0) null.
    Null = 0,
    /// (1) no-reason-given.
    NoReasonGiven = 1,
    /// (2) no-common-acse-version.
    NoCommonAcseVersion = 2,
}

impl AcseServiceProviderDiagnostic {
    /// Maps the INTEGER value; `None` outside 0..=2.
    pub fn from_value(v: i64) -> Option<Self> {
        match v {
            0 => Some(AcseServiceProviderDiagnostic::Null),
            1 => Some(AcseServiceProviderDiagnostic::NoReasonGiven),
            2 => Some(AcseServiceProviderDiagnostic::NoCommonAcseVersion),
            _ => None,
        }
    }

    /// The ASN.1 name.
    pub fn name(self) -> &'static str {
        match self {
            AcseServiceProviderDiagnostic::Null => "null",
            AcseServiceProviderDiagnostic::NoReasonGiven => "no-reason-given",
            AcseServiceProviderDiagnostic::NoCommonAcseVersion => "no-common-acse-version",
        }
    }
}

/// `Associate-source-diagnostic` CHOICE, AARE `[3]`: `A3 05 A1 03 02 01 <v>` for
/// `acse-service-user`, `A3 05 A2 03 02 01 <v>` for `acse-service-provider`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum AssociateSourceDiagnostic {
    /// `acse-service-user [1]`.
    ServiceUser(AcseServiceUserDiagnostic),
    /// `acse-service-provider [2]`.
    ServiceProvider(AcseServiceProviderDiagnostic),
}

impl AssociateSourceDiagnostic {
    /// `acse-service-user: null`, the diagnostic of a plain acceptance.
    pub const ACCEPTED: AssociateSourceDiagnostic =
        AssociateSourceDiagnostic::ServiceUser(AcseServiceUserDiagnostic::Null);

    /// `(CHOICE identifier, value)`: `0xA1` or `0xA2` and the INTEGER.
    pub(crate) fn parts(self) -> (u8, i64) {
        match self {
            AssociateSourceDiagnostic::ServiceUser(d) => (0xA1, d as i64),
            AssociateSourceDiagnostic::ServiceProvider(d) => (0xA2, d as i64),
        }
    }

    /// Builds from the CHOICE identifier octet (`0xA1`/`0xA2`) and the INTEGER.
    ///
    /// # Errors
    /// [`DecodeError::UnknownTag`] for another identifier; [`DecodeError::Invalid`]
    /// for an undefined value.
    pub(crate) fn from_parts(identifier: u8, v: i64) -> Result<Self, DecodeError> {
        let what = "AARE result-source-diagnostic";
        let undefined = || DecodeError::invalid(what, format!("undefined diagnostic value {v}"));
        match identifier {
            0xA1 => Ok(AssociateSourceDiagnostic::ServiceUser(
                AcseServiceUserDiagnostic::from_value(v).ok_or_else(undefined)?,
            )),
            0xA2 => Ok(AssociateSourceDiagnostic::ServiceProvider(
                AcseServiceProviderDiagnostic::from_value(v).ok_or_else(undefined)?,
            )),
            tag => Err(DecodeError::UnknownTag { what, tag }),
        }
    }
}

impl fmt::Display for AssociateSourceDiagnostic {
    /// e.g. `acse-service-user: authentication-required (14)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AssociateSourceDiagnostic::ServiceUser(d) => write!(f, "acse-service-user: {} ({})", d.name(), *d as u8),
            AssociateSourceDiagnostic::ServiceProvider(d) => {
                write!(f, "acse-service-provider: {} ({})", d.name(), *d as u8)
            }
        }
    }
}
