//! The xDLMS `ConfirmedServiceError` APDU and the `ServiceError` CHOICE
//! (IEC 62056-5-3 §9.5 ASN.1). A server sends it instead of a confirmed response it
//! cannot give; the common case is a refused InitiateRequest, carried in the
//! user-information of a rejecting AARE: `0E 01 06 01` = initiateError, initiate,
//! dlms-version-too-low.
//!
//! A-XDR encoding: the APDU tag `0E`, the `ConfirmedServiceError` CHOICE index (which
//! service failed), the `ServiceError` CHOICE index (which kind of error) and the
//! one-byte ENUMERATED value.

use std::fmt;

use serde::Serialize;

use crate::codec::{Codec, DecodeError, Reader};

/// xDLMS APDU tag of `confirmedServiceError` (IEC 62056-5-3 §9.5).
pub const CONFIRMED_SERVICE_ERROR_TAG: u8 = 0x0E;

/// Declares a one-byte ASN.1 ENUMERATED with its standard names.
macro_rules! enumerated {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[repr(u8)]
        pub enum $name {
            $( $(#[$vmeta])* $variant = $value, )+
        }

        impl $name {
            /// Maps the ENUMERATED value; `None` for values the standard does not define.
            pub fn from_u8(v: u8) -> Option<Self> {
                match v {
                    $( $value => Some($name::$variant), )+
                    _ => None,
                }
            }

            /// The ENUMERATED value.
            pub fn to_u8(self) -> u8 {
                self as u8
            }

            /// The ASN.1 name of the value.
            pub fn name(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }

            #[allow(dead_code)]
            fn decode_value(v: u8) -> Result<Self, DecodeError> {
                Self::from_u8(v).ok_or_else(|| DecodeError::invalid($what, format!("undefined value {v}")))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

enumerated! {
    /// Which confirmed service failed: the `ConfirmedServiceError` CHOICE index
    /// (IEC 62056-5-3 §9.5). Only `InitiateError` occurs with logical-name referencing;
    /// `Read`/`Write` are short-name services; the others are reserved for DLMS
    /// services COSEM does not use.
    ConfirmedService, "ConfirmedServiceError service" {
        /// `[1] initiateError` (refused InitiateRequest).
        InitiateError = 1 => "initiateError",
        /// `[2] getStatus`.
        GetStatus = 2 => "getStatus",
        /// `[3] getNameList`.
        GetNameList = 3 => "getNameList",
        /// `[4] getVariableAttribute`.
        GetVariableAttribute = 4 => "getVariableAttribute",
        /// `[5] read` (short-name referencing).
        Read = 5 => "read",
        /// `[6] write` (short-name referencing).
        Write = 6 => "write",
        /// `[7] getDataSetAttribute`.
        GetDataSetAttribute = 7 => "getDataSetAttribute",
        /// `[8] getTIAttribute`.
        GetTiAttribute = 8 => "getTIAttribute",
        /// `[9] changeScope`.
        ChangeScope = 9 => "changeScope",
        /// `[10] start`.
        Start = 10 => "start",
        /// `[11] stop`.
        Stop = 11 => "stop",
        /// `[12] resume`.
        Resume = 12 => "resume",
        /// `[13] makeUsable`.
        MakeUsable = 13 => "makeUsable",
        /// `[14] initiateLoad`.
        InitiateLoad = 14 => "initiateLoad",
        /// `[15] loadSegment`.
        LoadSegment = 15 => "loadSegment",
        /// `[16] terminateLoad`.
        TerminateLoad = 16 => "terminateLoad",
        /// `[17] initiateUpLoad`.
        InitiateUpload = 17 => "initiateUpLoad",
        /// `[18] upLoadSegment`.
        UploadSegment = 18 => "upLoadSegment",
        /// `[19] terminateUpLoad`.
        TerminateUpload = 19 => "terminateUpLoad",
    }
}

enumerated! {
    /// `application-reference [0]` values of `ServiceError`.
    ApplicationReferenceError, "ServiceError application-reference" {
        /// (0)
        Other = 0 => "other",
        /// (1)
        TimeElapsed = 1 => "time-elapsed",
        /// (2)
        ApplicationUnreachable = 2 => "application-unreachable",
        /// (3)
        ApplicationReferenceInvalid = 3 => "application-reference-invalid",
        /// (4)
        ApplicationContextUnsupported = 4 => "application-context-unsupported",
        /// (5)
        ProviderCommunicationError = 5 => "provider-communication-error",
        /// (6) the server could not decipher the APDU.
        DecipheringError = 6 => "deciphering-error",
    }
}

enumerated! {
    /// `hardware-resource [1]` values of `ServiceError`.
    HardwareResourceError, "ServiceError hardware-resource" {
        /// (0)
        Other = 0 => "other",
        /// (1)
        MemoryUnavailable = 1 => "memory-unavailable",
        /// (2)
        ProcessorResourceUnavailable = 2 => "processor-resource-unavailable",
        /// (3)
        MassStorageUnavailable = 3 => "mass-storage-unavailable",
        /// (4)
        OtherResourceUnavailable = 4 => "other-resource-unavailable",
    }
}

enumerated! {
    /// `vde-state-error [2]` values of `ServiceError`.
    VdeStateError, "ServiceError vde-state-error" {
        /// (0)
        Other = 0 => "other",
        /// (1)
        NoDlmsContext = 1 => "no-dlms-context",
        /// (2)
        LoadingDataSet = 2 => "loading-data-set",
        /// (3)
        StatusNoChange = 3 => "status-nochange",
        /// (4)
        StatusInoperable = 4 => "status-inoperable",
    }
}

enumerated! {
    /// `service [3]` values of `ServiceError`.
    ServiceProblem, "ServiceError service" {
        /// (0)
        Other = 0 => "other",
        /// (1) the APDU is longer than the negotiated maximum PDU size.
        PduSize = 1 => "pdu-size",
        /// (2) the service is not in the negotiated conformance block.
        ServiceUnsupported = 2 => "service-unsupported",
    }
}

enumerated! {
    /// `definition [4]` values of `ServiceError`.
    DefinitionError, "ServiceError definition" {
        /// (0)
        Other = 0 => "other",
        /// (1)
        ObjectUndefined = 1 => "object-undefined",
        /// (2)
        ObjectClassInconsistent = 2 => "object-class-inconsistent",
        /// (3)
        ObjectAttributeInconsistent = 3 => "object-attribute-inconsistent",
    }
}

enumerated! {
    /// `access [5]` values of `ServiceError`.
    AccessError, "ServiceError access" {
        /// (0)
        Other = 0 => "other",
        /// (1)
        ScopeOfAccessViolated = 1 => "scope-of-access-violated",
        /// (2)
        ObjectAccessViolated = 2 => "object-access-violated",
        /// (3)
        HardwareFault = 3 => "hardware-fault",
        /// (4)
        ObjectUnavailable = 4 => "object-unavailable",
    }
}

enumerated! {
    /// `initiate [6]` values of `ServiceError`: why an InitiateRequest was refused.
    InitiateError, "ServiceError initiate" {
        /// (0)
        Other = 0 => "other",
        /// (1) the proposed DLMS version number is below the server's.
        DlmsVersionTooLow = 1 => "dlms-version-too-low",
        /// (2) no common conformance bit.
        IncompatibleConformance = 2 => "incompatible-conformance",
        /// (3) the client's max receive PDU size is too small.
        PduSizeTooShort = 3 => "pdu-size-too-short",
        /// (4)
        RefusedByTheVdeHandler = 4 => "refused-by-the-VDE-Handler",
    }
}

enumerated! {
    /// `load-data-set [7]` values of `ServiceError`.
    LoadDataSetError, "ServiceError load-data-set" {
        /// (0)
        Other = 0 => "other",
        /// (1)
        PrimitiveOutOfSequence = 1 => "primitive-out-of-sequence",
        /// (2)
        NotLoadable = 2 => "not-loadable",
        /// (3)
        DatasetSizeTooLarge = 3 => "dataset-size-too-large",
        /// (4)
        NotAwaitedSegment = 4 => "not-awaited-segment",
        /// (5)
        InterpretationFailure = 5 => "interpretation-failure",
        /// (6)
        StorageFailure = 6 => "storage-failure",
        /// (7)
        DataSetNotReady = 7 => "data-set-not-ready",
    }
}

enumerated! {
    /// `task [9]` values of `ServiceError`.
    TaskError, "ServiceError task" {
        /// (0)
        Other = 0 => "other",
        /// (1)
        NoRemoteControl = 1 => "no-remote-control",
        /// (2)
        TiStopped = 2 => "ti-stopped",
        /// (3)
        TiRunning = 3 => "ti-running",
        /// (4)
        TiUnusable = 4 => "ti-unusable",
    }
}

/// The `ServiceError` CHOICE (IEC 62056-5-3 §9.5): the kind of error (CHOICE index,
/// shown in brackets) and its ENUMERATED value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ServiceError {
    /// `[0] application-reference`.
    ApplicationReference(ApplicationReferenceError),
    /// `[1] hardware-resource`.
    HardwareResource(HardwareResourceError),
    /// `[2] vde-state-error`.
    VdeStateError(VdeStateError),
    /// `[3] service`.
    Service(ServiceProblem),
    /// `[4] definition`.
    Definition(DefinitionError),
    /// `[5] access`.
    Access(AccessError),
    /// `[6] initiate`.
    Initiate(InitiateError),
    /// `[7] load-data-set`.
    LoadDataSet(LoadDataSetError),
    /// `[8] change-scope` (no values are defined; the raw ENUMERATED byte).
    ChangeScope(u8),
    /// `[9] task`.
    Task(TaskError),
    /// `[10] other` (manufacturer specific; the raw ENUMERATED byte).
    Other(u8),
}

impl ServiceError {
    /// The CHOICE index (0..=10).
    pub fn choice_index(&self) -> u8 {
        match self {
            ServiceError::ApplicationReference(_) => 0,
            ServiceError::HardwareResource(_) => 1,
            ServiceError::VdeStateError(_) => 2,
            ServiceError::Service(_) => 3,
            ServiceError::Definition(_) => 4,
            ServiceError::Access(_) => 5,
            ServiceError::Initiate(_) => 6,
            ServiceError::LoadDataSet(_) => 7,
            ServiceError::ChangeScope(_) => 8,
            ServiceError::Task(_) => 9,
            ServiceError::Other(_) => 10,
        }
    }

    /// The ENUMERATED value.
    pub fn value(&self) -> u8 {
        match *self {
            ServiceError::ApplicationReference(v) => v.to_u8(),
            ServiceError::HardwareResource(v) => v.to_u8(),
            ServiceError::VdeStateError(v) => v.to_u8(),
            ServiceError::Service(v) => v.to_u8(),
            ServiceError::Definition(v) => v.to_u8(),
            ServiceError::Access(v) => v.to_u8(),
            ServiceError::Initiate(v) => v.to_u8(),
            ServiceError::LoadDataSet(v) => v.to_u8(),
            ServiceError::ChangeScope(v) => v,
            ServiceError::Task(v) => v.to_u8(),
            ServiceError::Other(v) => v,
        }
    }

    /// The ASN.1 name of the CHOICE alternative (e.g. `"initiate"`).
    pub fn kind_name(&self) -> &'static str {
        match self {
            ServiceError::ApplicationReference(_) => "application-reference",
            ServiceError::HardwareResource(_) => "hardware-resource",
            ServiceError::VdeStateError(_) => "vde-state-error",
            ServiceError::Service(_) => "service",
            ServiceError::Definition(_) => "definition",
            ServiceError::Access(_) => "access",
            ServiceError::Initiate(_) => "initiate",
            ServiceError::LoadDataSet(_) => "load-data-set",
            ServiceError::ChangeScope(_) => "change-scope",
            ServiceError::Task(_) => "task",
            ServiceError::Other(_) => "other",
        }
    }

    /// Builds from the CHOICE index and the ENUMERATED value.
    ///
    /// # Errors
    /// [`DecodeError::UnknownTag`] for a CHOICE index above 10;
    /// [`DecodeError::Invalid`] for a value the standard does not define.
    pub fn from_parts(choice_index: u8, value: u8) -> Result<Self, DecodeError> {
        Ok(match choice_index {
            0 => ServiceError::ApplicationReference(ApplicationReferenceError::decode_value(value)?),
            1 => ServiceError::HardwareResource(HardwareResourceError::decode_value(value)?),
            2 => ServiceError::VdeStateError(VdeStateError::decode_value(value)?),
            3 => ServiceError::Service(ServiceProblem::decode_value(value)?),
            4 => ServiceError::Definition(DefinitionError::decode_value(value)?),
            5 => ServiceError::Access(AccessError::decode_value(value)?),
            6 => ServiceError::Initiate(InitiateError::decode_value(value)?),
            7 => ServiceError::LoadDataSet(LoadDataSetError::decode_value(value)?),
            8 => ServiceError::ChangeScope(value),
            9 => ServiceError::Task(TaskError::decode_value(value)?),
            10 => ServiceError::Other(value),
            tag => return Err(DecodeError::UnknownTag { what: "ServiceError", tag }),
        })
    }
}

impl fmt::Display for ServiceError {
    /// `kind: value-name`, e.g. `initiate: dlms-version-too-low`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind_name();
        match *self {
            ServiceError::ApplicationReference(v) => write!(f, "{kind}: {v}"),
            ServiceError::HardwareResource(v) => write!(f, "{kind}: {v}"),
            ServiceError::VdeStateError(v) => write!(f, "{kind}: {v}"),
            ServiceError::Service(v) => write!(f, "{kind}: {v}"),
            ServiceError::Definition(v) => write!(f, "{kind}: {v}"),
            ServiceError::Access(v) => write!(f, "{kind}: {v}"),
            ServiceError::Initiate(v) => write!(f, "{kind}: {v}"),
            ServiceError::LoadDataSet(v) => write!(f, "{kind}: {v}"),
            ServiceError::Task(v) => write!(f, "{kind}: {v}"),
            ServiceError::ChangeScope(v) | ServiceError::Other(v) => write!(f, "{kind}: {v}"),
        }
    }
}

impl Codec for ServiceError {
    /// Appends the CHOICE index and the ENUMERATED byte.
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.choice_index(), self.value()]);
    }

    /// # Errors
    /// See [`ServiceError::from_parts`]; [`DecodeError::Truncated`].
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let index = r.u8("ServiceError")?;
        let value = r.u8("ServiceError value")?;
        ServiceError::from_parts(index, value)
    }
}

/// The xDLMS ConfirmedServiceError APDU (tag `0x0E`, IEC 62056-5-3 §9.5): which service
/// failed and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct ConfirmedServiceError {
    /// The `ConfirmedServiceError` CHOICE alternative (the failed service).
    pub service: ConfirmedService,
    /// The error.
    pub error: ServiceError,
}

impl ConfirmedServiceError {
    /// A refused InitiateRequest: `initiateError` with `initiate: reason`
    /// (`0E 01 06 xx`), sent in the user-information of a rejecting AARE.
    pub fn initiate(reason: InitiateError) -> Self {
        ConfirmedServiceError { service: ConfirmedService::InitiateError, error: ServiceError::Initiate(reason) }
    }
}

impl fmt::Display for ConfirmedServiceError {
    /// e.g. `initiateError (initiate: dlms-version-too-low)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.service, self.error)
    }
}

impl Codec for ConfirmedServiceError {
    /// Appends `0E`, the service CHOICE index and the [`ServiceError`].
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[CONFIRMED_SERVICE_ERROR_TAG, self.service.to_u8()]);
        self.error.encode(out);
    }

    /// # Errors
    /// [`DecodeError::UnknownTag`] when the first byte is not `0E` or a CHOICE index is
    /// unknown (service 0 or above 19, error kind above 10); [`DecodeError::Invalid`]
    /// for an undefined ENUMERATED value; [`DecodeError::Truncated`].
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let tag = r.u8("ConfirmedServiceError")?;
        if tag != CONFIRMED_SERVICE_ERROR_TAG {
            return Err(DecodeError::UnknownTag { what: "ConfirmedServiceError", tag });
        }
        let index = r.u8("ConfirmedServiceError service")?;
        let service = ConfirmedService::from_u8(index)
            .ok_or(DecodeError::UnknownTag { what: "ConfirmedServiceError service", tag: index })?;
        let error = ServiceError::decode(r)?;
        Ok(ConfirmedServiceError { service, error })
    }
}
