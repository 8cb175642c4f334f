//! The client's SET and ACTION requests, normal and with list (IEC 62056-5-3:2017 §9.3.7,
//! §9.3.8), and the service-specific block transfer of their values: a request that does
//! not fit the server's max receive PDU size is split into `DataBlock-SA`s
//! (set-request-with-first-datablock / -with-datablock, action-request-with-first-pblock /
//! -with-pblock, and the with-list forms) unless general-block-transfer carries it.

use std::collections::VecDeque;

use super::{ClientAssociation, ClientError, ClientState, Pending};
use crate::association::datablock::{self, encode_data_list};
use crate::codec::Codec;
use crate::data::Data;
use crate::xdlms::action::ActionRequest;
use crate::xdlms::apdu::XdlmsApdu;
use crate::xdlms::conformance::Conformance;
use crate::xdlms::descriptor::{AttributeDescriptorWithSelection, CosemAttributeDescriptor, CosemMethodDescriptor};
use crate::xdlms::invoke_id::InvokeIdAndPriority;
use crate::xdlms::set::{DataBlockSA, SetRequest};

impl ClientAssociation {
    /// Queues a SET of one attribute. A value whose request does not fit the server's max
    /// receive PDU size travels in General-Block-Transfer blocks when negotiated, else in
    /// set-request-with-first-datablock / set-request-with-datablock blocks
    /// (IEC 62056-5-3 §9.3.7), transparently; the result is [`crate::association::ClientEvent::Set`].
    ///
    /// # Errors
    /// [`ClientError::InvalidState`] unless associated and idle; `NotNegotiated("set")`;
    /// [`ClientError::RequestTooLarge`] when the value needs blocks and neither GBT nor
    /// block transfer with set was negotiated (or the server's PDU is too small for one).
    pub fn set(&mut self, attribute: CosemAttributeDescriptor, value: Data) -> Result<(), ClientError> {
        self.require(ClientState::Associated, "set")?;
        self.require_conformance(Conformance::SET, "set")?;
        let invoke = self.next_invoke();
        let normal = XdlmsApdu::SetRequest(SetRequest::Normal {
            invoke_id_and_priority: invoke,
            attribute_descriptor: attribute,
            access_selection: None,
            value: value.clone(),
        });
        let blocks = if self.needs_datablocks(&normal, Conformance::BLOCK_TRANSFER_WITH_SET_OR_WRITE) {
            let first = |datablock| {
                XdlmsApdu::SetRequest(SetRequest::WithFirstDataBlock {
                    invoke_id_and_priority: invoke,
                    attribute_descriptor: attribute,
                    access_selection: None,
                    datablock,
                })
            };
            self.send_datablocks(invoke, &value.to_bytes(), first, set_next_block)?
        } else {
            self.send_request(normal)?;
            OutgoingBlocks::default()
        };
        self.start(Pending::Set { invoke, list: None, blocks });
        Ok(())
    }

    /// Queues a SET with list: several attributes written in one request
    /// (set-request-with-list, IEC 62056-5-3 §9.3.7; needs multiple-references). Long
    /// requests travel as [`ClientAssociation::set`] describes (GBT, else
    /// set-request-with-list-and-first-datablock carrying the encoded value list). The
    /// result is [`crate::association::ClientEvent::SetWithList`], one Data-Access-Result per item.
    ///
    /// # Errors
    /// As [`ClientAssociation::set`], plus `NotNegotiated("multiple-references")`.
    pub fn set_with_list(&mut self, items: Vec<(AttributeDescriptorWithSelection, Data)>) -> Result<(), ClientError> {
        self.require(ClientState::Associated, "set-with-list")?;
        self.require_conformance(Conformance::SET, "set")?;
        self.require_conformance(Conformance::MULTIPLE_REFERENCES, "multiple-references")?;
        let invoke = self.next_invoke();
        let count = items.len();
        let (attribute_descriptor_list, value_list): (Vec<_>, Vec<_>) = items.into_iter().unzip();
        let raw = encode_data_list(&value_list);
        let with_list = XdlmsApdu::SetRequest(SetRequest::WithList {
            invoke_id_and_priority: invoke,
            attribute_descriptor_list: attribute_descriptor_list.clone(),
            value_list,
        });
        let blocks = if self.needs_datablocks(&with_list, Conformance::BLOCK_TRANSFER_WITH_SET_OR_WRITE) {
            let first = |datablock| {
                XdlmsApdu::SetRequest(SetRequest::WithListAndFirstDataBlock {
                    invoke_id_and_priority: invoke,
                    attribute_descriptor_list: attribute_descriptor_list.clone(),
                    datablock,
                })
            };
            self.send_datablocks(invoke, &raw, first, set_next_block)?
        } else {
            self.send_request(with_list)?;
            OutgoingBlocks::default()
        };
        self.start(Pending::Set { invoke, list: Some(count), blocks });
        Ok(())
    }

    /// Queues an ACTION (method invocation) with optional parameters. Parameters whose
    /// request does not fit the server's max receive PDU size travel in
    /// General-Block-Transfer blocks when negotiated, else in
    /// action-request-with-first-pblock / action-request-with-pblock blocks
    /// (IEC 62056-5-3 §9.3.8), transparently.
    ///
    /// # Errors
    /// [`ClientError::InvalidState`] unless associated and idle; `NotNegotiated("action")`;
    /// [`ClientError::RequestTooLarge`] when the parameters need blocks and neither GBT
    /// nor block transfer with action was negotiated.
    pub fn action(&mut self, method: CosemMethodDescriptor, parameters: Option<Data>) -> Result<(), ClientError> {
        self.require(ClientState::Associated, "action")?;
        self.require_conformance(Conformance::ACTION, "action")?;
        let invoke = self.next_invoke();
        let raw = parameters.as_ref().map(Data::to_bytes);
        let normal = XdlmsApdu::ActionRequest(ActionRequest::Normal {
            invoke_id_and_priority: invoke,
            method_descriptor: method,
            method_invocation_parameters: parameters,
        });
        let blocks = match raw {
            Some(raw) if self.needs_datablocks(&normal, Conformance::BLOCK_TRANSFER_WITH_ACTION) => {
                let first = |pblock| {
                    XdlmsApdu::ActionRequest(ActionRequest::WithFirstPBlock {
                        invoke_id_and_priority: invoke,
                        method_descriptor: method,
                        pblock,
                    })
                };
                self.send_datablocks(invoke, &raw, first, action_next_block)?
            }
            _ => {
                self.send_request(normal)?;
                OutgoingBlocks::default()
            }
        };
        self.start(Pending::Action { invoke, list: None, blocks });
        Ok(())
    }

    /// Queues an ACTION with list: several methods invoked in one request
    /// (action-request-with-list, IEC 62056-5-3 §9.3.8; needs multiple-references). Each
    /// method gets one parameter value (`Data::NullData` for a method without
    /// parameters). Long requests travel as [`ClientAssociation::action`] describes (GBT,
    /// else action-request-with-list-and-first-pblock carrying the encoded parameter
    /// list). The result is [`crate::association::ClientEvent::ActionWithList`], one per method.
    ///
    /// # Errors
    /// As [`ClientAssociation::action`], plus `NotNegotiated("multiple-references")`.
    pub fn action_with_list(&mut self, items: Vec<(CosemMethodDescriptor, Data)>) -> Result<(), ClientError> {
        self.require(ClientState::Associated, "action-with-list")?;
        self.require_conformance(Conformance::ACTION, "action")?;
        self.require_conformance(Conformance::MULTIPLE_REFERENCES, "multiple-references")?;
        let invoke = self.next_invoke();
        let count = items.len();
        let (method_descriptor_list, parameters): (Vec<_>, Vec<_>) = items.into_iter().unzip();
        let raw = encode_data_list(&parameters);
        let with_list = XdlmsApdu::ActionRequest(ActionRequest::WithList {
            invoke_id_and_priority: invoke,
            method_descriptor_list: method_descriptor_list.clone(),
            method_invocation_parameters: parameters,
        });
        let blocks = if self.needs_datablocks(&with_list, Conformance::BLOCK_TRANSFER_WITH_ACTION) {
            let first = |pblock| {
                XdlmsApdu::ActionRequest(ActionRequest::WithListAndFirstPBlock {
                    invoke_id_and_priority: invoke,
                    method_descriptor_list: method_descriptor_list.clone(),
                    pblock,
                })
            };
            self.send_datablocks(invoke, &raw, first, action_next_block)?
        } else {
            self.send_request(with_list)?;
            OutgoingBlocks::default()
        };
        self.start(Pending::Action { invoke, list: Some(count), blocks });
        Ok(())
    }

    /// True when `request` does not fit the server's max receive PDU size, GBT is not
    /// negotiated and the service-specific block transfer `block_bit` is.
    pub(super) fn needs_datablocks(&self, request: &XdlmsApdu, block_bit: Conformance) -> bool {
        let fits = request.to_bytes().len() + self.protection_overhead() <= self.server_max_pdu();
        !fits && !self.has_conformance(Conformance::GENERAL_BLOCK_TRANSFER) && self.has_conformance(block_bit)
    }

    /// Splits `raw` into `DataBlock-SA`s that keep every request within the server's max
    /// receive PDU size, queues the first (built by `first`) and returns the others;
    /// `next` builds the requests of the following blocks (for the size computation).
    pub(super) fn send_datablocks<T: Into<XdlmsApdu>>(
        &mut self,
        invoke: InvokeIdAndPriority,
        raw: &[u8],
        first: impl Fn(DataBlockSA) -> XdlmsApdu,
        next: fn(InvokeIdAndPriority, DataBlockSA) -> T,
    ) -> Result<OutgoingBlocks, ClientError> {
        let empty = DataBlockSA { last_block: false, block_number: 1, raw_data: Vec::new() };
        let header = first(empty.clone()).to_bytes().len().max(next(invoke, empty).into().to_bytes().len());
        let max = self.server_max_pdu();
        let room = datablock::raw_data_room(max.saturating_sub(self.protection_overhead()), header);
        let mut remaining: VecDeque<DataBlockSA> = datablock::split(raw, room).into();
        let (Some(block), true) = (remaining.pop_front(), room > 0) else {
            return Err(ClientError::RequestTooLarge { len: header + raw.len(), max });
        };
        let awaiting = Some(block.block_number);
        self.send_request(first(block))?;
        Ok(OutgoingBlocks { remaining, awaiting })
    }
}

/// The service-specific blocks of a long SET or ACTION still to send.
#[derive(Debug, Default)]
pub(super) struct OutgoingBlocks {
    /// Blocks not yet sent, in order.
    pub(super) remaining: VecDeque<DataBlockSA>,
    /// The block sent last and not yet acknowledged (`None` before the first block or
    /// for a request sent in one APDU).
    pub(super) awaiting: Option<u32>,
}

/// The block to send after the server acknowledged `acked`.
pub(super) fn next_block_to_send(blocks: &mut OutgoingBlocks, acked: u32) -> Result<DataBlockSA, ClientError> {
    match blocks.awaiting {
        Some(sent) if sent == acked => {}
        Some(sent) => return Err(ClientError::BlockNumberMismatch { expected: sent, got: acked }),
        None => return Err(ClientError::Unexpected { expected: "the final response", got: "a block acknowledgement" }),
    }
    let next = blocks
        .remaining
        .pop_front()
        .ok_or(ClientError::Unexpected { expected: "the final response", got: "a block acknowledgement" })?;
    blocks.awaiting = Some(next.block_number);
    Ok(next)
}

pub(super) fn set_next_block(invoke_id_and_priority: InvokeIdAndPriority, datablock: DataBlockSA) -> SetRequest {
    SetRequest::WithDataBlock { invoke_id_and_priority, datablock }
}

pub(super) fn action_next_block(invoke_id_and_priority: InvokeIdAndPriority, pblock: DataBlockSA) -> ActionRequest {
    ActionRequest::WithPBlock { invoke_id_and_priority, pblock }
}
