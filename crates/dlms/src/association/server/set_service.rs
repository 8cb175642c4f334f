//! The server's SET service (IEC 62056-5-3:2017 §9.3.7): set-request-normal, -with-list,
//! and the service-specific block transfer of long values (set-request-with-first-datablock
//! / -with-list-and-first-datablock / -with-datablock), acknowledged block by block
//! (set-response-datablock) and checked for sequence; the object model sees the assembled
//! value only, in set-response-last-datablock(-with-list).

use super::{CosemServer, LongWrite, MAX_ASSEMBLED_REQUEST_LEN, ServerAssociation};
use crate::apdu::Apdu;
use crate::association::datablock::{BlockRefusal, DataBlockAssembler, decode_data_list};
use crate::data::Data;
use crate::xdlms::apdu::XdlmsApdu;
use crate::xdlms::conformance::Conformance;
use crate::xdlms::descriptor::{AttributeDescriptorWithSelection, CosemAttributeDescriptor, DataAccessResult};
use crate::xdlms::exception::{ExceptionServiceError, StateError};
use crate::xdlms::invoke_id::InvokeIdAndPriority;
use crate::xdlms::selective_access::SelectiveAccess;
use crate::xdlms::set::{DataBlockSA, SetRequest, SetResponse};

/// What a long SET writes.
#[derive(Debug)]
pub(super) enum SetTarget {
    Attribute(CosemAttributeDescriptor, Option<SelectiveAccess>),
    List(Vec<AttributeDescriptorWithSelection>),
}

impl ServerAssociation {
    pub(super) fn on_set(&mut self, req: SetRequest, server: &mut impl CosemServer) {
        if !self.negotiated.contains(Conformance::SET) {
            return self.exception(StateError::ServiceNotAllowed, ExceptionServiceError::ServiceNotSupported);
        }
        if !matches!(req, SetRequest::WithDataBlock { .. }) {
            self.long_set = None;
        }
        let blocks = self.negotiated.contains(Conformance::BLOCK_TRANSFER_WITH_SET_OR_WRITE);
        let lists = self.negotiated.contains(Conformance::MULTIPLE_REFERENCES);
        match req {
            SetRequest::Normal { invoke_id_and_priority, attribute_descriptor, access_selection, value } => {
                let result = server.set(&self.ctx, &attribute_descriptor, access_selection.as_ref(), &value);
                self.send(Apdu::Xdlms(XdlmsApdu::SetResponse(SetResponse::Normal { invoke_id_and_priority, result })));
            }
            SetRequest::WithList { invoke_id_and_priority, attribute_descriptor_list, value_list } if lists => {
                let result = self.set_list(&attribute_descriptor_list, Some(value_list), server);
                self.send(Apdu::Xdlms(XdlmsApdu::SetResponse(SetResponse::WithList {
                    invoke_id_and_priority,
                    result,
                })));
            }
            SetRequest::WithFirstDataBlock {
                invoke_id_and_priority,
                attribute_descriptor,
                access_selection,
                datablock,
            } if blocks => {
                let target = SetTarget::Attribute(attribute_descriptor, access_selection);
                self.start_long_set(invoke_id_and_priority, target, &datablock, server);
            }
            SetRequest::WithListAndFirstDataBlock { invoke_id_and_priority, attribute_descriptor_list, datablock }
                if blocks && lists =>
            {
                let target = SetTarget::List(attribute_descriptor_list);
                self.start_long_set(invoke_id_and_priority, target, &datablock, server);
            }
            SetRequest::WithDataBlock { invoke_id_and_priority: invoke, datablock } if blocks => {
                let Some(mut long) = self.long_set.take() else {
                    return self.send_set_refusal(
                        invoke,
                        None,
                        datablock.block_number,
                        DataAccessResult::NoLongSetInProgress,
                    );
                };
                let pushed = if long.invoke.invoke_id() == invoke.invoke_id() {
                    long.assembler.push(&datablock).map_err(set_refusal)
                } else {
                    Err(DataAccessResult::LongSetAborted)
                };
                match pushed {
                    Err(e) => self.send_set_refusal(invoke, Some(&long.target), datablock.block_number, e),
                    Ok(()) if datablock.last_block => {
                        let value = long.assembler.into_bytes();
                        self.finish_long_set(invoke, long.target, &value, datablock.block_number, server);
                    }
                    Ok(()) => {
                        self.long_set = Some(long);
                        self.send(Apdu::Xdlms(XdlmsApdu::SetResponse(SetResponse::DataBlock {
                            invoke_id_and_priority: invoke,
                            block_number: datablock.block_number,
                        })));
                    }
                }
            }
            _ => self.exception(StateError::ServiceNotAllowed, ExceptionServiceError::ServiceNotSupported),
        }
    }

    /// The first block of a long SET.
    pub(super) fn start_long_set(
        &mut self,
        invoke: InvokeIdAndPriority,
        target: SetTarget,
        block: &DataBlockSA,
        server: &mut impl CosemServer,
    ) {
        match DataBlockAssembler::first(block, MAX_ASSEMBLED_REQUEST_LEN) {
            Err(e) => self.send_set_refusal(invoke, Some(&target), block.block_number, set_refusal(e)),
            Ok(assembler) if block.last_block => {
                self.finish_long_set(invoke, target, &assembler.into_bytes(), block.block_number, server);
            }
            Ok(assembler) => {
                self.long_set = Some(LongWrite { invoke, target, assembler });
                self.send(Apdu::Xdlms(XdlmsApdu::SetResponse(SetResponse::DataBlock {
                    invoke_id_and_priority: invoke,
                    block_number: block.block_number,
                })));
            }
        }
    }

    /// The last block of a long SET arrived: write the assembled value(s).
    pub(super) fn finish_long_set(
        &mut self,
        invoke: InvokeIdAndPriority,
        target: SetTarget,
        value: &[u8],
        block_number: u32,
        server: &mut impl CosemServer,
    ) {
        let response = match target {
            SetTarget::Attribute(attribute, access) => {
                let result = match Data::from_bytes(value) {
                    Ok(v) => server.set(&self.ctx, &attribute, access.as_ref(), &v),
                    Err(_) => DataAccessResult::TypeUnmatched,
                };
                SetResponse::LastDataBlock { invoke_id_and_priority: invoke, result, block_number }
            }
            SetTarget::List(list) => {
                let result = self.set_list(&list, decode_data_list(value).ok(), server);
                SetResponse::LastDataBlockWithList { invoke_id_and_priority: invoke, result, block_number }
            }
        };
        self.send(Apdu::Xdlms(XdlmsApdu::SetResponse(response)));
    }

    /// Writes each attribute of a SET with list; `values` `None` (undecodable) or of
    /// another length than the list refuses every item.
    pub(super) fn set_list(
        &mut self,
        list: &[AttributeDescriptorWithSelection],
        values: Option<Vec<Data>>,
        server: &mut impl CosemServer,
    ) -> Vec<DataAccessResult> {
        match values {
            Some(values) if values.len() == list.len() => list
                .iter()
                .zip(&values)
                .map(|(item, v)| server.set(&self.ctx, &item.attribute_descriptor, item.access_selection.as_ref(), v))
                .collect(),
            Some(_) => vec![DataAccessResult::OtherReason; list.len()],
            None => vec![DataAccessResult::TypeUnmatched; list.len()],
        }
    }

    /// Ends a long SET with `result` (for a list: for every item).
    pub(super) fn send_set_refusal(
        &mut self,
        invoke: InvokeIdAndPriority,
        target: Option<&SetTarget>,
        block_number: u32,
        result: DataAccessResult,
    ) {
        self.long_set = None;
        let response = match target {
            Some(SetTarget::List(list)) => SetResponse::LastDataBlockWithList {
                invoke_id_and_priority: invoke,
                result: vec![result; list.len()],
                block_number,
            },
            _ => SetResponse::LastDataBlock { invoke_id_and_priority: invoke, result, block_number },
        };
        self.send(Apdu::Xdlms(XdlmsApdu::SetResponse(response)));
    }
}

/// The Data-Access-Result that ends a long SET whose block is refused.
fn set_refusal(e: BlockRefusal) -> DataAccessResult {
    match e {
        BlockRefusal::OutOfSequence => DataAccessResult::DataBlockNumberInvalid,
        BlockRefusal::TooLarge => DataAccessResult::LongSetAborted,
    }
}
