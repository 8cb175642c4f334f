//! The client association state machine (IEC 62056-5-3 §7.3, §9.3), fed arbitrary
//! server APDUs. The input is split into `op | length | payload` records (see
//! `dlms_fuzz::records`): before each payload is handed to `handle_apdu`, the op byte
//! picks what the client tries to do (nothing, GET, GET with selective access, GET with
//! list, SET, ACTION, release); the machine starts by queueing its AARQ. It must never
//! panic, every APDU it queues must decode as a request it may send, and `handle_apdu`
//! errors must be values, not panics.
#![no_main]

use dlms::Codec;
use dlms::Data;
use dlms::Obis;
use dlms::apdu::Apdu;
use dlms::association::{ClientAssociation, ClientConfig, ClientEvent, ClientState};
use dlms::xdlms::{
    AttributeDescriptorWithSelection, CosemAttributeDescriptor, CosemMethodDescriptor, EntryDescriptor,
    SelectiveAccess, XdlmsApdu,
};
use dlms_fuzz::records::Records;
use libfuzzer_sys::fuzz_target;

const CLOCK_TIME: CosemAttributeDescriptor = CosemAttributeDescriptor::new(8, Obis::new(0, 0, 1, 0, 0, 255), 2);
const LOAD_PROFILE_BUFFER: CosemAttributeDescriptor =
    CosemAttributeDescriptor::new(7, Obis::new(1, 0, 99, 1, 0, 255), 2);
const DISCONNECT: CosemMethodDescriptor = CosemMethodDescriptor::new(70, Obis::new(0, 0, 96, 3, 10, 255), 1);

fn act(client: &mut ClientAssociation, op: u8) {
    // Refusals (wrong state, service not negotiated) are fine; panics are not.
    let _ = match op % 8 {
        1 => client.get(CLOCK_TIME, None),
        2 => client.get(
            LOAD_PROFILE_BUFFER,
            Some(SelectiveAccess::Entry(EntryDescriptor {
                from_entry: 1,
                to_entry: 0,
                from_selected_value: 1,
                to_selected_value: 0,
            })),
        ),
        3 => client.get_with_list(vec![
            AttributeDescriptorWithSelection::new(CLOCK_TIME),
            AttributeDescriptorWithSelection::new(LOAD_PROFILE_BUFFER),
        ]),
        4 => client.set(CLOCK_TIME, Data::OctetString(vec![0xFF; 12])),
        5 => client.action(DISCONNECT, Some(Data::Integer(0))),
        6 => client.release(),
        7 => client.associate(),
        _ => Ok(()),
    };
}

fn check_sent(client: &mut ClientAssociation) {
    while let Some(bytes) = client.poll_transmit() {
        let apdu = Apdu::from_bytes(&bytes)
            .unwrap_or_else(|e| panic!("the client queued an undecodable APDU {bytes:02X?}: {e}"));
        let is_request = match &apdu {
            Apdu::Aarq(_) | Apdu::Rlrq(_) => true,
            Apdu::Xdlms(x) => x.is_request(),
            _ => false,
        };
        assert!(is_request, "the client queued {apdu:?}");
        if let Apdu::Xdlms(XdlmsApdu::GetRequest(r)) = &apdu {
            let _ = r.invoke_id_and_priority();
        }
    }
}

fuzz_target!(|input: &[u8]| {
    let mut client = ClientAssociation::new(ClientConfig::default());
    client.associate().expect("a new client refuses to associate");
    check_sent(&mut client);
    for record in Records::new(input) {
        act(&mut client, record.op);
        check_sent(&mut client);
        match client.handle_apdu(record.payload) {
            Ok(Some(ClientEvent::Associated(_))) => assert_eq!(client.state(), ClientState::Associated),
            Ok(Some(ClientEvent::Released)) => assert_eq!(client.state(), ClientState::Closed),
            Ok(_) => {}
            Err(e) => {
                let _ = e.to_string();
            }
        }
        let _ = client.negotiated();
        check_sent(&mut client);
    }
});
