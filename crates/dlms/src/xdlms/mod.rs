//! xDLMS services (IEC 62056-5-3 §9.3, ASN.1 in §9.5): the APDUs of GET, SET, ACTION,
//! exception-response, confirmed-service-error, data-notification and the
//! InitiateRequest/InitiateResponse carried in the ACSE user-information.

pub mod descriptor;
pub mod selective_access;

pub use descriptor::{ActionResult, CosemAttributeDescriptor, CosemMethodDescriptor, DataAccessResult};
pub use selective_access::{CaptureObjectDefinition, EntryDescriptor, RangeDescriptor, SelectiveAccess};
