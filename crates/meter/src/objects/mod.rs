//! The COSEM object tree of the simulated meter: which objects exist, their interface class
//! and version (IEC 62056-6-2 §4), logical names (IEC 62056-6-1 OBIS) and access rights, and
//! how each class encodes its attributes.
//!
//! The tree is a static table of [`CosemObject`]s; each names the meter function backing it
//! ([`ObjectRole`]). The same table feeds the Association LN `object_list` and the access
//! checks of [`crate::SimulatedMeter`]'s GET/SET/ACTION dispatch.

pub mod access;
pub mod activity_calendar;
pub mod association_ln;
pub mod clock;
pub mod credit;
pub mod disconnect_control;
pub mod image_transfer;
pub mod limiter;
pub mod profile_generic;
pub mod register;
pub mod register_activation;
pub mod script_table;
pub mod security_setup;
pub mod token_gateway;

use dlms::Obis;
use dlms::obis::codes;

use access::AttributeAccessMode::{NoAccess, Read, ReadWrite};
use access::MethodAccessMode::{Access, NoAccess as NoMethodAccess};
use access::{AttributeAccess, MethodAccess, attr, method};
use register::RegisterQuantity;

/// Interface class Data (IEC 62056-6-2 §4.3.1).
pub const CLASS_DATA: u16 = 1;
/// Interface class Register (§4.3.2).
pub const CLASS_REGISTER: u16 = 3;
/// Interface class Profile generic (§4.3.6).
pub const CLASS_PROFILE_GENERIC: u16 = 7;
/// Interface class Clock (§4.5.1).
pub const CLASS_CLOCK: u16 = 8;
/// Interface class Association LN (§4.4, class_id 15).
pub const CLASS_ASSOCIATION_LN: u16 = 15;
/// Interface class Disconnect control (§4.5.8).
pub const CLASS_DISCONNECT_CONTROL: u16 = 70;
/// Interface class Register activation (§4.3.5).
pub const CLASS_REGISTER_ACTIVATION: u16 = register_activation::CLASS_REGISTER_ACTIVATION;
/// Interface class Script table (§4.5.2).
pub const CLASS_SCRIPT_TABLE: u16 = script_table::CLASS_SCRIPT_TABLE;
/// Interface class Activity calendar (§4.5.5).
pub const CLASS_ACTIVITY_CALENDAR: u16 = activity_calendar::CLASS_ACTIVITY_CALENDAR;
/// Interface class Limiter (§4.5.9).
pub const CLASS_LIMITER: u16 = limiter::CLASS_LIMITER;
/// Interface class Image transfer (§5.3.6 of the 2016+ editions).
pub const CLASS_IMAGE_TRANSFER: u16 = image_transfer::CLASS_IMAGE_TRANSFER;
/// Interface class Credit (§4.6, payment metering), prepaid meters only.
pub const CLASS_CREDIT: u16 = 112;
/// Interface class Token gateway (§4.6, payment metering), prepaid meters only.
pub const CLASS_TOKEN_GATEWAY: u16 = 115;
/// Interface class Push setup (§4.4.8), meters with a push configured only.
pub const CLASS_PUSH_SETUP: u16 = crate::push::setup::CLASS_PUSH_SETUP;

/// Interface class Security setup (§5.3.7, class_id 64), meters with suite 0 security only.
pub const CLASS_SECURITY_SETUP: u16 = security_setup::SECURITY_SETUP_CLASS_ID;

/// The meter function behind a COSEM object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectRole {
    /// Clock 0.0.1.0.0.255.
    Clock,
    /// Data 0.0.96.1.0.255, meter serial number.
    SerialNumber,
    /// Data 0.0.42.0.0.255, COSEM logical device name.
    LogicalDeviceName,
    /// A Register object.
    Register(RegisterQuantity),
    /// Data 0.0.96.10.1.255, load-profile status word.
    ProfileStatus,
    /// Profile generic 1.0.99.1.0.255, the 15-minute load profile.
    LoadProfile,
    /// Association LN 0.0.40.0.0.255, the current association.
    CurrentAssociation,
    /// Disconnect control 0.0.96.3.10.255.
    DisconnectControl,
    /// Token gateway 0.0.19.40.0.255 (prepaid meters).
    TokenGateway,
    /// Credit 0.0.19.10.e.255 (prepaid meters).
    Credit(credit::CreditObject),
    /// Push setup 0.0.25.9.0.255 (meters with a push configured, see [`crate::push`]).
    PushSetup,
    /// Security setup 0.0.43.0.0.255 (meters with suite 0 security, see
    /// [`security_setup`]).
    SecuritySetup,
    /// Data 1.0.0.2.0.255, active firmware identifier (the firmware version).
    FirmwareVersion,
    /// A Script table ([`script_table`]).
    ScriptTable(script_table::ScriptTableId),
    /// Register activation 0.0.14.0.1.255 ([`register_activation`]).
    RegisterActivation,
    /// Activity calendar 0.0.13.0.0.255 ([`activity_calendar`]).
    ActivityCalendar,
    /// Limiter 0.0.17.0.0.255 ([`limiter`]).
    Limiter,
    /// Image transfer 0.0.44.0.0.255 ([`image_transfer`]).
    ImageTransfer,
    /// Alarm register 1, filter 1, descriptor 1 and the alarm Push setup
    /// ([`crate::alarm`]).
    Alarm(crate::alarm::AlarmObjectKind),
}

/// One COSEM object: class, version, logical name, access rights and role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CosemObject {
    /// Interface class id.
    pub class_id: u16,
    /// Interface class version.
    pub version: u8,
    /// Logical name (OBIS).
    pub logical_name: Obis,
    /// Every attribute of the class with its access mode (index 1..=n, in order).
    pub attributes: &'static [AttributeAccess],
    /// Every method of the class with its access mode (index 1..=n, in order).
    pub methods: &'static [MethodAccess],
    /// The meter function behind it.
    pub role: ObjectRole,
}

impl CosemObject {
    /// The access entry of attribute `id`, `None` when the class has no such attribute.
    pub fn attribute(&self, id: i8) -> Option<&'static AttributeAccess> {
        self.attributes.iter().find(|a| a.attribute_id == id)
    }

    /// The access entry of method `id`, `None` when the class has no such method.
    pub fn method(&self, id: i8) -> Option<&'static MethodAccess> {
        self.methods.iter().find(|m| m.method_id == id)
    }
}

const DATA_ATTRIBUTES: &[AttributeAccess] = &[attr(1, Read), attr(2, Read)];
const REGISTER_ATTRIBUTES: &[AttributeAccess] = &[attr(1, Read), attr(2, Read), attr(3, Read)];
/// Register method 1 `reset` is not offered: the registers are cumulative since commissioning.
const REGISTER_METHODS: &[MethodAccess] = &[method(1, NoMethodAccess)];

/// Clock (class 8 version 0): the time is writable (time synchronisation); the zone and
/// summer-time settings are fixed by the meter's configuration.
const CLOCK_ATTRIBUTES: &[AttributeAccess] = &[
    attr(1, Read),
    attr(2, ReadWrite),
    attr(3, Read),
    attr(4, Read),
    attr(5, Read),
    attr(6, Read),
    attr(7, Read),
    attr(8, Read),
    attr(9, Read),
];
/// Clock methods: 1 adjust_to_quarter, 3 adjust_to_minute and 6 shift_time are offered;
/// 2 adjust_to_measuring_period, 4 adjust_to_preset_time, 5 preset_adjusting_time are not.
const CLOCK_METHODS: &[MethodAccess] = &[
    method(1, Access),
    method(2, NoMethodAccess),
    method(3, Access),
    method(4, NoMethodAccess),
    method(5, NoMethodAccess),
    method(6, Access),
];

/// Profile generic (class 7 version 1): the buffer supports selective access by range (1)
/// and by entry (2).
const PROFILE_ATTRIBUTES: &[AttributeAccess] = &[
    attr(1, Read),
    AttributeAccess { attribute_id: 2, mode: Read, selectors: &[1, 2] },
    attr(3, Read),
    attr(4, Read),
    attr(5, Read),
    attr(6, Read),
    attr(7, Read),
    attr(8, Read),
];
/// Profile generic methods 1 reset and 2 capture are not offered (the buffer is generated).
const PROFILE_METHODS: &[MethodAccess] = &[method(1, NoMethodAccess), method(2, NoMethodAccess)];

/// Association LN (class 15 version 1): the secret (7) and security_setup_reference (9) are
/// not readable.
const ASSOCIATION_ATTRIBUTES: &[AttributeAccess] = &[
    attr(1, Read),
    attr(2, Read),
    attr(3, Read),
    attr(4, Read),
    attr(5, Read),
    attr(6, Read),
    attr(7, NoAccess),
    attr(8, Read),
    attr(9, NoAccess),
];
/// Association LN methods: 1 reply_to_HLS_authentication (answered by the association state
/// machine of the server, not by the object tree); 2 change_HLS_secret, 3 add_object,
/// 4 remove_object are not offered.
const ASSOCIATION_METHODS: &[MethodAccess] =
    &[method(1, Access), method(2, NoMethodAccess), method(3, NoMethodAccess), method(4, NoMethodAccess)];

/// Disconnect control (class 70 version 0): control_mode is writable.
const DISCONNECT_ATTRIBUTES: &[AttributeAccess] = &[attr(1, Read), attr(2, Read), attr(3, Read), attr(4, ReadWrite)];
const DISCONNECT_METHODS: &[MethodAccess] = &[method(1, Access), method(2, Access)];

/// Script table (class 9 version 0): the scripts are fixed; method 1 execute not offered.
const SCRIPT_TABLE_ATTRIBUTES: &[AttributeAccess] = &[attr(1, Read), attr(2, Read)];
const SCRIPT_TABLE_METHODS: &[MethodAccess] = &[method(1, NoMethodAccess)];

/// Register activation (class 6 version 0): read-only; methods 1 add_register, 2 add_mask,
/// 3 delete_mask not offered.
const REGISTER_ACTIVATION_ATTRIBUTES: &[AttributeAccess] =
    &[attr(1, Read), attr(2, Read), attr(3, Read), attr(4, Read)];
const REGISTER_ACTIVATION_METHODS: &[MethodAccess] =
    &[method(1, NoMethodAccess), method(2, NoMethodAccess), method(3, NoMethodAccess)];

/// Activity calendar (class 20 version 0): active calendar read-only, passive calendar and
/// activation time writable; method 1 activate_passive_calendar.
const ACTIVITY_CALENDAR_ATTRIBUTES: &[AttributeAccess] = &[
    attr(1, Read),
    attr(2, Read),
    attr(3, Read),
    attr(4, Read),
    attr(5, Read),
    attr(6, ReadWrite),
    attr(7, ReadWrite),
    attr(8, ReadWrite),
    attr(9, ReadWrite),
    attr(10, ReadWrite),
];
const ACTIVITY_CALENDAR_METHODS: &[MethodAccess] = &[method(1, Access)];

/// Limiter (class 71 version 0): threshold_active (3) and emergency_profile_active (10)
/// read-only, the settings writable; no methods.
const LIMITER_ATTRIBUTES: &[AttributeAccess] = &[
    attr(1, Read),
    attr(2, ReadWrite),
    attr(3, Read),
    attr(4, ReadWrite),
    attr(5, ReadWrite),
    attr(6, ReadWrite),
    attr(7, ReadWrite),
    attr(8, ReadWrite),
    attr(9, ReadWrite),
    attr(10, Read),
    attr(11, ReadWrite),
];

/// Image transfer (class 18 version 0): image_transfer_enabled (5) writable; methods 1
/// initiate, 2 block transfer, 3 verify, 4 activate.
const IMAGE_TRANSFER_ATTRIBUTES: &[AttributeAccess] =
    &[attr(1, Read), attr(2, Read), attr(3, Read), attr(4, Read), attr(5, ReadWrite), attr(6, Read), attr(7, Read)];
const IMAGE_TRANSFER_METHODS: &[MethodAccess] =
    &[method(1, Access), method(2, Access), method(3, Access), method(4, Access)];

const fn script_table(id: script_table::ScriptTableId, logical_name: Obis) -> CosemObject {
    CosemObject {
        class_id: CLASS_SCRIPT_TABLE,
        version: 0,
        logical_name,
        attributes: SCRIPT_TABLE_ATTRIBUTES,
        methods: SCRIPT_TABLE_METHODS,
        role: ObjectRole::ScriptTable(id),
    }
}

const fn register(q: RegisterQuantity) -> CosemObject {
    CosemObject {
        class_id: CLASS_REGISTER,
        version: 0,
        logical_name: q.logical_name(),
        attributes: REGISTER_ATTRIBUTES,
        methods: REGISTER_METHODS,
        role: ObjectRole::Register(q),
    }
}

const fn data(logical_name: Obis, role: ObjectRole) -> CosemObject {
    CosemObject { class_id: CLASS_DATA, version: 0, logical_name, attributes: DATA_ATTRIBUTES, methods: &[], role }
}

/// Every object of the meter, in the order of the Association LN `object_list`.
pub const OBJECT_LIST: &[CosemObject] = &[
    CosemObject {
        class_id: CLASS_ASSOCIATION_LN,
        version: 1,
        logical_name: codes::ASSOCIATION_LN,
        attributes: ASSOCIATION_ATTRIBUTES,
        methods: ASSOCIATION_METHODS,
        role: ObjectRole::CurrentAssociation,
    },
    CosemObject {
        class_id: CLASS_CLOCK,
        version: 0,
        logical_name: codes::CLOCK,
        attributes: CLOCK_ATTRIBUTES,
        methods: CLOCK_METHODS,
        role: ObjectRole::Clock,
    },
    data(codes::SERIAL_NUMBER, ObjectRole::SerialNumber),
    data(codes::LOGICAL_DEVICE_NAME, ObjectRole::LogicalDeviceName),
    register(RegisterQuantity::ActiveEnergyImport),
    register(RegisterQuantity::ActiveEnergyImportT1),
    register(RegisterQuantity::ActiveEnergyImportT2),
    register(RegisterQuantity::ActiveEnergyExport),
    register(RegisterQuantity::ReactiveEnergyImport),
    register(RegisterQuantity::ReactiveEnergyExport),
    register(RegisterQuantity::VoltageL1),
    register(RegisterQuantity::CurrentL1),
    register(RegisterQuantity::ActivePowerImport),
    data(codes::LOAD_PROFILE_STATUS, ObjectRole::ProfileStatus),
    CosemObject {
        class_id: CLASS_PROFILE_GENERIC,
        version: 1,
        logical_name: codes::LOAD_PROFILE_1,
        attributes: PROFILE_ATTRIBUTES,
        methods: PROFILE_METHODS,
        role: ObjectRole::LoadProfile,
    },
    CosemObject {
        class_id: CLASS_DISCONNECT_CONTROL,
        version: 0,
        logical_name: codes::DISCONNECT_CONTROL,
        attributes: DISCONNECT_ATTRIBUTES,
        methods: DISCONNECT_METHODS,
        role: ObjectRole::DisconnectControl,
    },
    data(image_transfer::ACTIVE_FIRMWARE_IDENTIFIER, ObjectRole::FirmwareVersion),
    script_table(script_table::ScriptTableId::Tariffication, script_table::TARIFFICATION_SCRIPT_TABLE),
    CosemObject {
        class_id: CLASS_REGISTER_ACTIVATION,
        version: 0,
        logical_name: register_activation::REGISTER_ACTIVATION,
        attributes: REGISTER_ACTIVATION_ATTRIBUTES,
        methods: REGISTER_ACTIVATION_METHODS,
        role: ObjectRole::RegisterActivation,
    },
    CosemObject {
        class_id: CLASS_ACTIVITY_CALENDAR,
        version: 0,
        logical_name: activity_calendar::ACTIVITY_CALENDAR,
        attributes: ACTIVITY_CALENDAR_ATTRIBUTES,
        methods: ACTIVITY_CALENDAR_METHODS,
        role: ObjectRole::ActivityCalendar,
    },
    script_table(script_table::ScriptTableId::Disconnect, script_table::DISCONNECT_SCRIPT_TABLE),
    CosemObject {
        class_id: CLASS_LIMITER,
        version: 0,
        logical_name: limiter::LIMITER,
        attributes: LIMITER_ATTRIBUTES,
        methods: &[],
        role: ObjectRole::Limiter,
    },
    CosemObject {
        class_id: CLASS_IMAGE_TRANSFER,
        version: 0,
        logical_name: image_transfer::IMAGE_TRANSFER,
        attributes: IMAGE_TRANSFER_ATTRIBUTES,
        methods: IMAGE_TRANSFER_METHODS,
        role: ObjectRole::ImageTransfer,
    },
    crate::alarm::ALARM_REGISTER_OBJECT,
    crate::alarm::ALARM_FILTER_OBJECT,
    crate::alarm::ALARM_DESCRIPTOR_OBJECT,
    crate::alarm::ALARM_PUSH_SETUP_OBJECT,
];

/// Token gateway (class 115 version 0): every attribute readable; method 1 `enter`.
const TOKEN_GATEWAY_ATTRIBUTES: &[AttributeAccess] =
    &[attr(1, Read), attr(2, Read), attr(3, Read), attr(4, Read), attr(5, Read), attr(6, Read)];
const TOKEN_GATEWAY_METHODS: &[MethodAccess] = &[method(1, Access)];

/// Credit (class 112 version 0): every attribute readable, none writable.
const CREDIT_ATTRIBUTES: &[AttributeAccess] = &[
    attr(1, Read),
    attr(2, Read),
    attr(3, Read),
    attr(4, Read),
    attr(5, Read),
    attr(6, Read),
    attr(7, Read),
    attr(8, Read),
    attr(9, Read),
    attr(10, Read),
    attr(11, Read),
];
/// Token credit: 1 update_amount, 2 set_amount_to_value, 3 invoke_credit not offered.
const TOKEN_CREDIT_METHODS: &[MethodAccess] =
    &[method(1, NoMethodAccess), method(2, NoMethodAccess), method(3, NoMethodAccess)];
/// Emergency credit: only 3 invoke_credit is offered.
const EMERGENCY_CREDIT_METHODS: &[MethodAccess] =
    &[method(1, NoMethodAccess), method(2, NoMethodAccess), method(3, Access)];

/// The objects a prepaid meter adds to [`OBJECT_LIST`].
pub const PREPAYMENT_OBJECTS: &[CosemObject] = &[
    CosemObject {
        class_id: CLASS_TOKEN_GATEWAY,
        version: 0,
        logical_name: token_gateway::TOKEN_GATEWAY,
        attributes: TOKEN_GATEWAY_ATTRIBUTES,
        methods: TOKEN_GATEWAY_METHODS,
        role: ObjectRole::TokenGateway,
    },
    CosemObject {
        class_id: CLASS_CREDIT,
        version: 0,
        logical_name: credit::TOKEN_CREDIT,
        attributes: CREDIT_ATTRIBUTES,
        methods: TOKEN_CREDIT_METHODS,
        role: ObjectRole::Credit(credit::CreditObject::Token),
    },
    CosemObject {
        class_id: CLASS_CREDIT,
        version: 0,
        logical_name: credit::EMERGENCY_CREDIT,
        attributes: CREDIT_ATTRIBUTES,
        methods: EMERGENCY_CREDIT_METHODS,
        role: ObjectRole::Credit(credit::CreditObject::Emergency),
    },
];

/// `a` followed by `b`, as an array (for building object lists at compile time).
const fn concat<const N: usize>(a: &[CosemObject], b: &[CosemObject]) -> [CosemObject; N] {
    let mut out = [a[0]; N];
    let mut i = 0;
    while i < a.len() {
        out[i] = a[i];
        i += 1;
    }
    let mut j = 0;
    while j < b.len() {
        out[a.len() + j] = b[j];
        j += 1;
    }
    out
}

/// Every object of a prepaid meter: [`OBJECT_LIST`] then [`PREPAYMENT_OBJECTS`].
pub const PREPAID_OBJECT_LIST: &[CosemObject] =
    &concat::<{ OBJECT_LIST.len() + PREPAYMENT_OBJECTS.len() }>(OBJECT_LIST, PREPAYMENT_OBJECTS);

/// The objects a meter with a push configured adds: the Push setup (class 40 version 0).
pub const PUSH_OBJECTS: &[CosemObject] = &[CosemObject {
    class_id: CLASS_PUSH_SETUP,
    version: 0,
    logical_name: crate::push::setup::PUSH_SETUP,
    attributes: crate::push::setup::PUSH_SETUP_ATTRIBUTES,
    methods: crate::push::setup::PUSH_SETUP_METHODS,
    role: ObjectRole::PushSetup,
}];

/// Every object of a credit meter with a push: [`OBJECT_LIST`] then [`PUSH_OBJECTS`].
pub const PUSH_OBJECT_LIST: &[CosemObject] =
    &concat::<{ OBJECT_LIST.len() + PUSH_OBJECTS.len() }>(OBJECT_LIST, PUSH_OBJECTS);

/// Every object of a prepaid meter with a push: [`PREPAID_OBJECT_LIST`] then [`PUSH_OBJECTS`].
pub const PREPAID_PUSH_OBJECT_LIST: &[CosemObject] =
    &concat::<{ PREPAID_OBJECT_LIST.len() + PUSH_OBJECTS.len() }>(PREPAID_OBJECT_LIST, PUSH_OBJECTS);

/// The objects a meter with suite 0 security adds: the Security setup (class 64 version 1)
/// of the management client's association.
pub const SECURITY_OBJECTS: &[CosemObject] = &[CosemObject {
    class_id: CLASS_SECURITY_SETUP,
    version: security_setup::SECURITY_SETUP_VERSION,
    logical_name: security_setup::SECURITY_SETUP_OBIS,
    attributes: security_setup::SECURITY_SETUP_ATTRIBUTES,
    methods: security_setup::SECURITY_SETUP_METHODS,
    role: ObjectRole::SecuritySetup,
}];

/// [`OBJECT_LIST`] then [`SECURITY_OBJECTS`].
pub const SECURED_OBJECT_LIST: &[CosemObject] =
    &concat::<{ OBJECT_LIST.len() + SECURITY_OBJECTS.len() }>(OBJECT_LIST, SECURITY_OBJECTS);

/// [`PREPAID_OBJECT_LIST`] then [`SECURITY_OBJECTS`].
pub const SECURED_PREPAID_OBJECT_LIST: &[CosemObject] =
    &concat::<{ PREPAID_OBJECT_LIST.len() + SECURITY_OBJECTS.len() }>(PREPAID_OBJECT_LIST, SECURITY_OBJECTS);

/// [`PUSH_OBJECT_LIST`] then [`SECURITY_OBJECTS`].
pub const SECURED_PUSH_OBJECT_LIST: &[CosemObject] =
    &concat::<{ PUSH_OBJECT_LIST.len() + SECURITY_OBJECTS.len() }>(PUSH_OBJECT_LIST, SECURITY_OBJECTS);

/// [`PREPAID_PUSH_OBJECT_LIST`] then [`SECURITY_OBJECTS`].
pub const SECURED_PREPAID_PUSH_OBJECT_LIST: &[CosemObject] =
    &concat::<{ PREPAID_PUSH_OBJECT_LIST.len() + SECURITY_OBJECTS.len() }>(PREPAID_PUSH_OBJECT_LIST, SECURITY_OBJECTS);

/// The object with logical name `ln`, if the meter has one.
pub fn find(ln: Obis) -> Option<&'static CosemObject> {
    find_in(OBJECT_LIST, ln)
}

/// The object with logical name `ln` in the object list `objects`.
pub fn find_in(objects: &'static [CosemObject], ln: Obis) -> Option<&'static CosemObject> {
    objects.iter().find(|o| o.logical_name == ln)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_names_are_unique_and_tables_are_dense() {
        assert_eq!(&PREPAID_OBJECT_LIST[..OBJECT_LIST.len()], OBJECT_LIST);
        let all = SECURED_PREPAID_PUSH_OBJECT_LIST;
        for (i, o) in all.iter().enumerate() {
            assert!(all[i + 1..].iter().all(|p| p.logical_name != o.logical_name), "{}", o.logical_name);
            for (k, a) in o.attributes.iter().enumerate() {
                assert_eq!(a.attribute_id as usize, k + 1);
            }
            for (k, m) in o.methods.iter().enumerate() {
                assert_eq!(m.method_id as usize, k + 1);
            }
            assert!(o.attribute(1).is_some_and(|a| a.mode.can_read()), "logical_name readable");
        }
    }
}
