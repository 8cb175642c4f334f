//! Pushes: the meter tells the head-end on its own (IEC 62056-5-3:2017 §9.3.10
//! DataNotification and §9.3.11 EventNotification, unconfirmed services; the Push setup
//! interface class 40 of IEC 62056-6-2 §4.4.8 says what, where and when).
//!
//! | module | holds |
//! |---|---|
//! | [`setup`] | the Push setup object 0.0.25.9.0.255 (class 40 version 0): attributes, method 1 `push`, communication windows |
//! | [`notification`] | pure builders: the data-notification of the push object list (with or without date-time), the event-notification of one attribute |
//! | [`sender`] | delivery over TCP or UDP with the IEC 62056-47 wrapper to `host:port`, optional general-glo-ciphering, retries and randomised start |
//!
//! A meter has a Push setup when its [`crate::MeterConfig::push`] is set.

pub mod notification;
pub mod sender;
pub mod setup;

pub use sender::{
    PushDelivery, PushError, PushReport, PushTransport, push_data_notification, push_event_notification, push_requested,
};
pub use setup::{CommunicationWindow, PUSH_SETUP, PushObject, PushSetup, SendDestinationAndMethod};
