//! A trivial COSEM object model for the association targets: every GET returns the same
//! value, every SET succeeds, every ACTION returns `unsigned 1`.

use dlms::Data;
use dlms::association::{CosemServer, RequestContext};
use dlms::xdlms::{ActionResult, CosemAttributeDescriptor, CosemMethodDescriptor, DataAccessResult, SelectiveAccess};

/// Length of the octet-string in [`fixed_value`]: large enough (about 320 bytes encoded)
/// that a client max receive PDU size between 64 and 320 bytes forces the server into
/// block transfer (get-response-with-datablock / get-request-next).
pub const FIXED_OCTETS: usize = 300;

/// The value every GET returns: `structure { octet-string(300), double-long-unsigned
/// 123456, long -5, enum 30 }`.
pub fn fixed_value() -> Data {
    Data::Structure(vec![
        Data::OctetString((0..FIXED_OCTETS).map(|i| i as u8).collect()),
        Data::DoubleLongUnsigned(123_456),
        Data::Long(-5),
        Data::Enum(30),
    ])
}

/// The object model: counts the calls it received.
#[derive(Debug, Default)]
pub struct FixedServer {
    /// Number of GET calls.
    pub gets: usize,
    /// Number of SET calls.
    pub sets: usize,
    /// Number of ACTION calls.
    pub actions: usize,
}

impl CosemServer for FixedServer {
    fn get(
        &mut self,
        _ctx: &RequestContext,
        _attribute: &CosemAttributeDescriptor,
        _access: Option<&SelectiveAccess>,
    ) -> Result<Data, DataAccessResult> {
        self.gets += 1;
        Ok(fixed_value())
    }

    fn set(
        &mut self,
        _ctx: &RequestContext,
        _attribute: &CosemAttributeDescriptor,
        _access: Option<&SelectiveAccess>,
        _value: &Data,
    ) -> DataAccessResult {
        self.sets += 1;
        DataAccessResult::Success
    }

    fn action(
        &mut self,
        _ctx: &RequestContext,
        _method: &CosemMethodDescriptor,
        _parameters: Option<&Data>,
    ) -> Result<Option<Data>, ActionResult> {
        self.actions += 1;
        Ok(Some(Data::Unsigned(1)))
    }
}
