//! The meter's alarm objects and their state: Alarm register 1, Alarm filter 1, Alarm
//! descriptor 1 (interface class 1 Data, IEC 62056-6-2 §4.3.1, value double-long-unsigned,
//! bits per [`crate::alarm::bits`]) and the alarm Push setup 0.4.25.9.0.255 (class 40,
//! [`crate::push::setup`]); plus whether the meter has supply (a meter without supply is
//! dark: its DLMS server does not answer).
//!
//! Semantics (IDIS practice, as the GXF/OSGP and Connexo head-ends use these objects):
//! * **Alarm register 1** latches every alarm that occurs, whatever the filter says. A SET
//!   of attribute 2 clears the alarms whose bits are 0 in the written value (`register &=
//!   value`): writing 0 resets every alarm, as a head-end does after handling an alarm
//!   push; a write never raises an alarm.
//! * **Alarm filter 1**: bit = 1 enables the push of that alarm (0 = recorded in the
//!   register only). Read-write.
//! * **Alarm descriptor 1** (0.0.97.98.20.255, read-only): the alarms the latest alarm push
//!   reported: those raised and enabled by the filter since the push before it. A head-end
//!   takes the new alarms from it; the register tells what is still unreset.
//! * The alarm push is a data-notification of the alarm Push setup's push_object_list or an
//!   event-notification of one alarm object's value ([`AlarmNotification`]).

use dlms::xdlms::{ActionResult, DataAccessResult};
use dlms::{Data, Obis};

use crate::alarm::bits::{ASSIGNED_BITS, AlarmBit};
use crate::objects::CosemObject;
use crate::objects::access::AttributeAccessMode::{Read, ReadWrite};
use crate::objects::access::{AttributeAccess, attr};
use crate::push::setup::{
    CLASS_PUSH_SETUP, PUSH_SETUP_ATTRIBUTES, PUSH_SETUP_METHODS, PushObject, PushSetup, SendDestinationAndMethod,
};

/// Alarm register 1, 0.0.97.98.0.255 (Data, double-long-unsigned).
pub const ALARM_REGISTER_1: Obis = Obis::new(0, 0, 97, 98, 0, 255);
/// Alarm filter 1, 0.0.97.98.10.255 (Data, double-long-unsigned).
pub const ALARM_FILTER_1: Obis = Obis::new(0, 0, 97, 98, 10, 255);
/// Alarm descriptor 1, 0.0.97.98.20.255 (Data, double-long-unsigned).
pub const ALARM_DESCRIPTOR_1: Obis = Obis::new(0, 0, 97, 98, 20, 255);
/// The alarm Push setup, 0.4.25.9.0.255 (IDIS "Push setup – Alarm", class 40).
pub const ALARM_PUSH_SETUP: Obis = Obis::new(0, 4, 25, 9, 0, 255);
/// Profile status bit 7, power down: the meter had no supply during (part of) the interval
/// (the DSMR / IDIS "AMR profile status" bit PDN).
pub const STATUS_POWER_DOWN: u8 = 0x80;
/// Default clock reserve: the clock keeps time 7 days without supply.
pub const DEFAULT_CLOCK_RESERVE_S: u32 = 7 * 86_400;

/// Which alarm object a COSEM object of the tree is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlarmObjectKind {
    /// Alarm register 1.
    Register,
    /// Alarm filter 1.
    Filter,
    /// Alarm descriptor 1.
    Descriptor,
    /// The alarm Push setup 0.4.25.9.0.255.
    PushSetup,
}

/// The alarm value an event-notification reports (attribute 2 of a Data object).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlarmValue {
    /// Alarm register 1: every alarm not yet reset.
    Register,
    /// Alarm descriptor 1: the alarms of this push.
    Descriptor,
}

impl AlarmValue {
    /// The Data object's logical name.
    pub const fn logical_name(self) -> Obis {
        match self {
            AlarmValue::Register => ALARM_REGISTER_1,
            AlarmValue::Descriptor => ALARM_DESCRIPTOR_1,
        }
    }
}

/// How the meter pushes its alarms (IEC 62056-5-3:2017 §9.3.10 DataNotification, §9.3.11
/// EventNotification).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlarmNotification {
    /// A data-notification of the alarm Push setup's push_object_list, with the meter's
    /// date-time.
    DataNotification,
    /// An event-notification-request of attribute 2 of the alarm register or descriptor,
    /// with the meter's date-time.
    EventNotification(AlarmValue),
}

/// The alarm configuration of a meter ([`crate::MeterConfig::alarm`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmConfig {
    /// Initial attributes of the alarm Push setup (see [`alarm_push_setup`]).
    pub push: PushSetup,
    /// Data-notification or event-notification. Default data-notification.
    pub notification: AlarmNotification,
    /// Initial Alarm filter 1 (bit = 1: pushed). Default every assigned alarm.
    pub filter: u32,
    /// How long the clock keeps time without supply, s; power coming back after a longer
    /// outage raises clock invalid. Default [`DEFAULT_CLOCK_RESERVE_S`].
    pub clock_reserve_s: u32,
}

impl Default for AlarmConfig {
    /// The alarm Push setup without a destination (alarm pushes fail until one is set),
    /// data-notification, every alarm enabled, 7 days of clock reserve.
    fn default() -> Self {
        AlarmConfig::pushing_to(SendDestinationAndMethod::tcp(""))
    }
}

impl AlarmConfig {
    /// Data-notifications of every alarm to `destination` (e.g.
    /// `SendDestinationAndMethod::udp("192.0.2.10:4059")`).
    pub fn pushing_to(destination: SendDestinationAndMethod) -> Self {
        let mut push = alarm_push_setup("");
        push.send_destination_and_method = destination;
        AlarmConfig {
            push,
            notification: AlarmNotification::DataNotification,
            filter: ASSIGNED_BITS,
            clock_reserve_s: DEFAULT_CLOCK_RESERVE_S,
        }
    }
}

/// The alarm Push setup 0.4.25.9.0.255 in the IDIS alarm notification layout: push objects
/// the Push setup's logical name (class 40 attribute 1), the COSEM logical device name
/// (0.0.42.0.0.255 attribute 2), Alarm register 1 and Alarm descriptor 1 (attribute 2
/// each); TCP to `destination` (`host:port`), no window, no randomisation, 3 retries 10 s
/// apart.
pub fn alarm_push_setup(destination: &str) -> PushSetup {
    let mut p = PushSetup::new(destination);
    p.logical_name = ALARM_PUSH_SETUP;
    p.push_object_list = vec![
        PushObject::new(CLASS_PUSH_SETUP, ALARM_PUSH_SETUP, 1),
        PushObject::new(crate::objects::CLASS_DATA, dlms::obis::codes::LOGICAL_DEVICE_NAME, 2),
        PushObject::new(crate::objects::CLASS_DATA, ALARM_REGISTER_1, 2),
        PushObject::new(crate::objects::CLASS_DATA, ALARM_DESCRIPTOR_1, 2),
    ];
    p
}

const ALARM_RW_ATTRIBUTES: &[AttributeAccess] = &[attr(1, Read), attr(2, ReadWrite)];
const ALARM_READ_ATTRIBUTES: &[AttributeAccess] = &[attr(1, Read), attr(2, Read)];

const fn alarm_data(logical_name: Obis, attributes: &'static [AttributeAccess], kind: AlarmObjectKind) -> CosemObject {
    CosemObject {
        class_id: crate::objects::CLASS_DATA,
        version: 0,
        logical_name,
        attributes,
        methods: &[],
        role: crate::objects::ObjectRole::Alarm(kind),
    }
}

/// Alarm register 1 in the object tree (class 1 version 0; attribute 2 read-write: reset).
pub const ALARM_REGISTER_OBJECT: CosemObject =
    alarm_data(ALARM_REGISTER_1, ALARM_RW_ATTRIBUTES, AlarmObjectKind::Register);
/// Alarm filter 1 in the object tree (class 1 version 0; attribute 2 read-write).
pub const ALARM_FILTER_OBJECT: CosemObject = alarm_data(ALARM_FILTER_1, ALARM_RW_ATTRIBUTES, AlarmObjectKind::Filter);
/// Alarm descriptor 1 in the object tree (class 1 version 0; read-only).
pub const ALARM_DESCRIPTOR_OBJECT: CosemObject =
    alarm_data(ALARM_DESCRIPTOR_1, ALARM_READ_ATTRIBUTES, AlarmObjectKind::Descriptor);
/// The alarm Push setup in the object tree (class 40 version 0).
pub const ALARM_PUSH_SETUP_OBJECT: CosemObject = CosemObject {
    class_id: CLASS_PUSH_SETUP,
    version: 0,
    logical_name: ALARM_PUSH_SETUP,
    attributes: PUSH_SETUP_ATTRIBUTES,
    methods: PUSH_SETUP_METHODS,
    role: crate::objects::ObjectRole::Alarm(AlarmObjectKind::PushSetup),
};

/// The alarm objects' state and the meter's supply state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmState {
    register: u32,
    filter: u32,
    descriptor: u32,
    /// Raised, enabled by the filter, not yet in a push.
    pending: u32,
    push: PushSetup,
    notification: AlarmNotification,
    clock_reserve_ms: i64,
    /// Meter time (UTC ms) the supply failed, while it is failed.
    dark_since_ms: Option<i64>,
}

impl AlarmState {
    /// The state of a new meter with `config`: no alarm, supply on.
    pub fn new(config: &AlarmConfig) -> Self {
        AlarmState {
            register: 0,
            filter: config.filter,
            descriptor: 0,
            pending: 0,
            push: config.push.clone(),
            notification: config.notification,
            clock_reserve_ms: i64::from(config.clock_reserve_s) * 1000,
            dark_since_ms: None,
        }
    }

    /// Alarm register 1.
    pub fn register(&self) -> u32 {
        self.register
    }

    /// Alarm filter 1.
    pub fn filter(&self) -> u32 {
        self.filter
    }

    /// Alarm descriptor 1: the alarms of the latest alarm push.
    pub fn descriptor(&self) -> u32 {
        self.descriptor
    }

    /// Alarms raised and enabled since the latest alarm push (the next push's descriptor);
    /// 0 when no alarm push is due.
    pub fn pending(&self) -> u32 {
        self.pending
    }

    /// The alarm Push setup.
    pub fn push_setup(&self) -> &PushSetup {
        &self.push
    }

    /// The alarm Push setup, mutable (destination, retries, …).
    pub fn push_setup_mut(&mut self) -> &mut PushSetup {
        &mut self.push
    }

    /// How alarms are pushed.
    pub fn notification(&self) -> AlarmNotification {
        self.notification
    }

    /// Changes how alarms are pushed.
    pub fn set_notification(&mut self, notification: AlarmNotification) {
        self.notification = notification;
    }

    /// Whether the meter has supply (else it is dark and unreachable).
    pub fn is_energised(&self) -> bool {
        self.dark_since_ms.is_none()
    }

    /// Raises the alarms of `mask` (bits outside [`ASSIGNED_BITS`] are ignored): they latch
    /// in the register; those the filter enables become pending for the next alarm push.
    /// Returns the newly pending bits (non-zero: an alarm push is due).
    pub fn raise(&mut self, mask: u32) -> u32 {
        let bits = mask & ASSIGNED_BITS;
        self.register |= bits;
        let enabled = bits & self.filter;
        self.pending |= enabled;
        enabled
    }

    /// Raises one alarm (see [`AlarmState::raise`]).
    pub fn raise_alarm(&mut self, alarm: AlarmBit) -> u32 {
        self.raise(alarm.mask())
    }

    /// Starts an alarm push: the pending alarms become the descriptor and are no longer
    /// pending. Returns them (0: nothing to push).
    pub fn begin_push(&mut self) -> u32 {
        let bits = std::mem::take(&mut self.pending);
        if bits != 0 {
            self.descriptor = bits;
        }
        bits
    }

    /// The alarm push of `bits` could not be built: they are pending again.
    pub fn abort_push(&mut self, bits: u32) {
        self.pending |= bits;
    }

    /// The supply fails at meter time `t_ms`: raises power down. `false` when already dark.
    pub(crate) fn power_down(&mut self, t_ms: i64) -> bool {
        if self.dark_since_ms.is_some() {
            return false;
        }
        self.dark_since_ms = Some(t_ms);
        self.raise_alarm(AlarmBit::PowerDown);
        true
    }

    /// The supply comes back at meter time `t_ms`: raises power up, and clock invalid when
    /// the outage outlasted the clock reserve. `false` when the meter had supply.
    pub(crate) fn power_up(&mut self, t_ms: i64) -> bool {
        let Some(since) = self.dark_since_ms.take() else { return false };
        let mut bits = AlarmBit::PowerUp.mask();
        if t_ms.saturating_sub(since) > self.clock_reserve_ms {
            bits |= AlarmBit::ClockInvalid.mask();
        }
        self.raise(bits);
        true
    }

    /// GET of attribute `id` (2..) of the alarm object `kind` (attribute 1 is answered by the
    /// object tree); `None` for an attribute the class does not have.
    pub fn attribute(&self, kind: AlarmObjectKind, id: i8) -> Option<Data> {
        match (kind, id) {
            (AlarmObjectKind::Register, 2) => Some(Data::DoubleLongUnsigned(self.register)),
            (AlarmObjectKind::Filter, 2) => Some(Data::DoubleLongUnsigned(self.filter)),
            (AlarmObjectKind::Descriptor, 2) => Some(Data::DoubleLongUnsigned(self.descriptor)),
            (AlarmObjectKind::PushSetup, id) => self.push.attribute(id),
            _ => None,
        }
    }

    /// SET of attribute `id` of the alarm object `kind`: register (clears the bits written
    /// as 0) and filter take a double-long-unsigned (`TypeUnmatched` otherwise); the Push
    /// setup as [`PushSetup::set_attribute`]; anything else `ReadWriteDenied`.
    pub fn set_attribute(&mut self, kind: AlarmObjectKind, id: i8, value: &Data) -> DataAccessResult {
        match (kind, id, value) {
            (AlarmObjectKind::Register, 2, Data::DoubleLongUnsigned(v)) => self.register &= *v,
            (AlarmObjectKind::Filter, 2, Data::DoubleLongUnsigned(v)) => self.filter = *v,
            (AlarmObjectKind::Register | AlarmObjectKind::Filter, 2, _) => return DataAccessResult::TypeUnmatched,
            (AlarmObjectKind::PushSetup, id, value) => return self.push.set_attribute(id, value),
            _ => return DataAccessResult::ReadWriteDenied,
        }
        DataAccessResult::Success
    }

    /// ACTION on the alarm object `kind`: the Push setup's method 1 `push` makes every
    /// alarm still latched in the register pending again (a push of them is then due);
    /// anything else `ObjectUnavailable`.
    ///
    /// # Errors
    /// The Action-Result to return.
    pub fn invoke(
        &mut self,
        kind: AlarmObjectKind,
        method_id: i8,
        param: Option<&Data>,
    ) -> Result<Option<Data>, ActionResult> {
        match kind {
            AlarmObjectKind::PushSetup => {
                self.push.invoke(method_id, param)?;
                self.push.take_push_requests();
                self.pending |= self.register & self.filter;
                Ok(None)
            }
            _ => Err(ActionResult::ObjectUnavailable),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_gates_pushes_not_the_register() {
        let config =
            AlarmConfig { filter: AlarmBit::PowerDown.mask() | AlarmBit::PowerUp.mask(), ..AlarmConfig::default() };
        let mut a = AlarmState::new(&config);
        assert_eq!(a.raise(AlarmBit::VoltageSag.mask()), 0, "filtered out: no push due");
        assert_eq!(a.register(), 0x40);
        assert_eq!(a.raise(AlarmBit::PowerDown.mask() | 0x8000_0000), 0x20, "unassigned bit 31 ignored");
        assert_eq!(a.register(), 0x60);
        assert_eq!(a.begin_push(), 0x20);
        assert_eq!((a.descriptor(), a.pending()), (0x20, 0));
        assert_eq!(a.begin_push(), 0, "nothing new");
        assert_eq!(a.descriptor(), 0x20, "the descriptor keeps the latest push");
        // A write clears the bits written as 0 and never raises one.
        assert_eq!(
            a.set_attribute(AlarmObjectKind::Register, 2, &Data::DoubleLongUnsigned(0x20)),
            DataAccessResult::Success
        );
        assert_eq!(a.register(), 0x20);
        assert_eq!(
            a.set_attribute(AlarmObjectKind::Register, 2, &Data::DoubleLongUnsigned(0xFFFF)),
            DataAccessResult::Success
        );
        assert_eq!(a.register(), 0x20);
        assert_eq!(a.set_attribute(AlarmObjectKind::Register, 2, &Data::Unsigned(0)), DataAccessResult::TypeUnmatched);
        assert_eq!(
            a.set_attribute(AlarmObjectKind::Descriptor, 2, &Data::DoubleLongUnsigned(0)),
            DataAccessResult::ReadWriteDenied
        );
        assert_eq!(
            a.set_attribute(AlarmObjectKind::Filter, 2, &Data::DoubleLongUnsigned(0x40)),
            DataAccessResult::Success
        );
        assert_eq!(a.raise(AlarmBit::VoltageSag.mask()), 0x40);
        assert_eq!(a.attribute(AlarmObjectKind::Filter, 2), Some(Data::DoubleLongUnsigned(0x40)));
        assert_eq!(a.attribute(AlarmObjectKind::Register, 3), None);
    }

    #[test]
    fn power_down_and_up_raise_their_alarms_and_clock_invalid_after_the_reserve() {
        let config = AlarmConfig { clock_reserve_s: 3600, ..AlarmConfig::default() };
        let mut a = AlarmState::new(&config);
        assert!(a.power_down(1_000));
        assert!(!a.power_down(2_000), "already dark");
        assert!(!a.is_energised());
        assert_eq!(a.begin_push(), 0x20);
        assert!(a.power_up(1_000 + 3_600_000));
        assert_eq!(a.begin_push(), 0x04, "exactly the reserve: the clock kept time");
        assert!(!a.power_up(5_000_000));
        assert!(a.power_down(10_000_000));
        assert!(a.power_up(10_000_000 + 3_600_001));
        assert_eq!(a.begin_push(), 0x20 | 0x04 | 0x01);
    }

    #[test]
    fn the_push_method_re_raises_the_latched_alarms() {
        let mut a = AlarmState::new(&AlarmConfig::default());
        a.raise(AlarmBit::CoverOpened.mask() | AlarmBit::FraudAttempt.mask());
        a.begin_push();
        assert_eq!(a.invoke(AlarmObjectKind::PushSetup, 1, Some(&Data::Integer(0))), Ok(None));
        assert_eq!(a.pending(), 0x6000);
        assert_eq!(a.invoke(AlarmObjectKind::Register, 1, None), Err(ActionResult::ObjectUnavailable));
        assert_eq!(a.invoke(AlarmObjectKind::PushSetup, 2, None), Err(ActionResult::ObjectUnavailable));
    }
}
