//! xDLMS services (IEC 62056-5-3 §9.3, ASN.1 in §9.5): the APDUs of GET, SET, ACTION,
//! exception-response, confirmed-service-error, data-notification, general-block-transfer and the
//! InitiateRequest/InitiateResponse carried in the ACSE user-information.

pub mod action;
pub mod apdu;
pub mod conformance;
pub mod descriptor;
pub mod exception;
pub mod general_block_transfer;
pub mod get;
pub mod initiate;
pub mod invoke_id;
pub mod notification;
pub mod selective_access;
pub mod service_error;
pub mod set;

pub use action::{ActionRequest, ActionResponse, ActionResponseWithOptionalData};
pub use apdu::XdlmsApdu;
pub use conformance::Conformance;
pub use descriptor::AttributeDescriptorWithSelection;
pub use descriptor::{ActionResult, CosemAttributeDescriptor, CosemMethodDescriptor, DataAccessResult};
pub use exception::{ExceptionResponse, ExceptionServiceError, StateError};
pub use general_block_transfer::{BlockControl, GeneralBlockTransfer};
pub use get::{DataBlockG, DataBlockGResult, GetDataResult, GetRequest, GetResponse};
pub use initiate::{InitiateRequest, InitiateResponse};
pub use invoke_id::{InvokeIdAndPriority, LongInvokeIdAndPriority};
pub use notification::{DataNotification, EventNotificationRequest};
pub use selective_access::{CaptureObjectDefinition, EntryDescriptor, RangeDescriptor, SelectiveAccess};
pub use service_error::{ConfirmedService, ConfirmedServiceError, InitiateError, ServiceError};
pub use set::{DataBlockSA, SetRequest, SetResponse};
