//! [`SimulatedMeter`]: one simulated smart meter — its configuration, metrology, clock, relay
//! and association context — and the GET / SET / ACTION dispatch the DLMS server calls
//! (IEC 62056-5-3 §9.3 services on the IEC 62056-6-2 object model). Pure: the caller supplies
//! the true UTC time of each request, so everything is deterministic.

use dlms::Data;
use dlms::xdlms::{ActionResult, CosemAttributeDescriptor, CosemMethodDescriptor, DataAccessResult, SelectiveAccess};
use jiff::Timestamp;
use thiserror::Error;

use crate::alarm::{AlarmConfig, AlarmState, STATUS_POWER_DOWN};
use crate::firmware::FirmwareConfig;
use crate::metrology::load_model::{INTERVAL_MS, LoadModel, LoadModelConfig};
use crate::metrology::noise::{Stream, uniform};
use crate::metrology::registers::EnergyRegisters;
use crate::metrology::{InstantaneousValues, Metrology};
use crate::objects::activity_calendar::ActivityCalendar;
use crate::objects::association_ln::{AssociationContext, object_list};
use crate::objects::clock::MeterClock;
use crate::objects::credit::CreditObject;
use crate::objects::disconnect_control::{ControlMode, DisconnectControl, RelayTrigger};
use crate::objects::image_transfer::ImageTransfer;
use crate::objects::limiter::Limiter;
use crate::objects::profile_generic::{
    self, BufferSelection, CAPTURE_PERIOD_S, ProfileEntry, ProfileWindow, STATUS_CLOCK_ADJUSTED,
    STATUS_DAYLIGHT_SAVING, STATUS_SUPPLY_DISCONNECTED,
};
use crate::objects::register_activation;
use crate::objects::security_setup::SecuritySetup;
use crate::objects::token_gateway::TokenDeliveryMethod;
use crate::objects::{
    CosemObject, OBJECT_LIST, ObjectRole, PREPAID_OBJECT_LIST, PREPAID_PUSH_OBJECT_LIST, PUSH_OBJECT_LIST,
    SECURED_OBJECT_LIST, SECURED_PREPAID_OBJECT_LIST, SECURED_PREPAID_PUSH_OBJECT_LIST, SECURED_PUSH_OBJECT_LIST,
    find_in,
};
use crate::prepayment::credit::EmergencyRefusal;
use crate::prepayment::{Plant, Prepayment, PrepaymentConfig, PrepaymentConfigError, TokenEntry};
use crate::push::PushSetup;
use crate::time_zone::MeterTimeZone;

/// Manufacturer prefix of the logical device name (3 characters, like a FLAG id).
pub const LOGICAL_DEVICE_NAME_PREFIX: &str = "GRD";
/// Longest serial number accepted: the logical device name is at most 16 bytes.
pub const MAX_SERIAL_LEN: usize = 13;
/// Largest `profile_entries` accepted (about 3 years of 15-minute captures).
pub const MAX_PROFILE_ENTRIES: u32 = 96 * 1100;

/// Configuration of a simulated meter (fleet-wide; the seed makes each meter different).
#[derive(Debug, Clone, PartialEq)]
pub struct MeterConfig {
    /// Commissioning epoch: registers are 0 here and the first capture is 15 minutes later.
    /// Rounded down to a 15-minute boundary. Default 2024-01-01T00:00:00Z.
    pub commissioning: Timestamp,
    /// Ranges of the household parameters.
    pub load: LoadModelConfig,
    /// The meter's local time (wall clock of the household, tariff hours, date-times).
    /// Default UK (GMT/BST), where the load-shape data comes from.
    pub time_zone: MeterTimeZone,
    /// Load profile depth, attribute 8 `profile_entries`. Default 96 × 60 = 5760 (60 days).
    pub profile_entries: u32,
    /// Initial disconnect control mode. Default mode 4 (remote reconnection is direct).
    pub control_mode: ControlMode,
    /// Largest clock drift, ms; each meter's drift is uniform in ±this. Default 5000.
    pub max_clock_drift_ms: u32,
    /// Largest clock rate error, ppm (≤ 1000); each meter's rate is uniform in ±this and
    /// accumulates from each time setting on (see [`crate::objects::clock`]). Default 0.
    pub max_clock_rate_ppm: u32,
    /// Firmware version, vendor key and image block size (see [`crate::firmware`]).
    pub firmware: FirmwareConfig,
    /// Prepaid mode (token gateway, credit, relay by credit; see [`crate::prepayment`]).
    /// Default `None`: a credit (post-paid) meter.
    pub prepayment: Option<PrepaymentConfig>,
    /// The Push setup object 0.0.25.9.0.255 with its initial attributes (see
    /// [`crate::push`]). Default `None`: the meter does not push.
    pub push: Option<PushSetup>,
    /// Alarm register, filter and the alarm Push setup 0.4.25.9.0.255 (see
    /// [`crate::alarm`]). Default: every alarm enabled, no push destination.
    pub alarm: AlarmConfig,
}

impl Default for MeterConfig {
    fn default() -> Self {
        MeterConfig {
            commissioning: Timestamp::from_second(1_704_067_200).unwrap_or(Timestamp::UNIX_EPOCH),
            load: LoadModelConfig::default(),
            time_zone: MeterTimeZone::UK,
            profile_entries: 96 * 60,
            control_mode: ControlMode::Mode4,
            max_clock_drift_ms: 5_000,
            max_clock_rate_ppm: 0,
            firmware: FirmwareConfig::default(),
            prepayment: None,
            push: None,
            alarm: AlarmConfig::default(),
        }
    }
}

/// Why a [`SimulatedMeter`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MeterConfigError {
    /// The serial number is empty, longer than [`MAX_SERIAL_LEN`] or not printable ASCII
    /// without spaces.
    #[error("invalid serial number {0:?}: 1..=13 printable ASCII characters without spaces")]
    InvalidSerial(String),
    /// The time-zone offset is not a multiple of 15 minutes within −12:00..=+14:00.
    #[error("invalid time zone offset {0} min: multiple of 15 in -720..=840")]
    InvalidTimeZone(i16),
    /// The annual-consumption range or PV fraction is out of range.
    #[error("invalid load model ranges: need 0 < min <= max <= 1e6 kWh and 0 <= pv_fraction <= 1")]
    InvalidLoadModel,
    /// `profile_entries` is 0 or above [`MAX_PROFILE_ENTRIES`].
    #[error("invalid profile_entries {0}: 1..={MAX_PROFILE_ENTRIES}")]
    InvalidProfileEntries(u32),
    /// The firmware version or image block size is invalid.
    #[error("invalid firmware configuration: version 1..=32 printable ASCII, image block size 16..=4096")]
    InvalidFirmware,
    /// The clock rate error is above 1000 ppm.
    #[error("invalid clock rate {0} ppm: at most 1000")]
    InvalidClockRate(u32),
    /// The prepayment configuration is invalid.
    #[error("invalid prepayment configuration: {0}")]
    InvalidPrepayment(#[from] PrepaymentConfigError),
}

/// One simulated smart meter (see the crate documentation for the model).
#[derive(Debug, Clone)]
pub struct SimulatedMeter {
    serial: String,
    seed: u64,
    config: MeterConfig,
    metrology: Metrology,
    clock: MeterClock,
    relay: DisconnectControl,
    association: AssociationContext,
    prepayment: Option<Prepayment>,
    push: Option<PushSetup>,
    security_setup: Option<SecuritySetup>,
    calendar: ActivityCalendar,
    limiter: Limiter,
    image_transfer: ImageTransfer,
    firmware_version: String,
    alarm: AlarmState,
    /// SET and ACTION requests served so far (see [`SimulatedMeter::revision`]).
    revision: u64,
}

impl SimulatedMeter {
    /// A meter with serial number `serial` whose household, drift and noise all derive from
    /// `seed`, commissioned per `config` with the relay connected.
    ///
    /// # Errors
    /// [`MeterConfigError`] for an invalid serial or configuration.
    pub fn new(serial: &str, seed: u64, config: MeterConfig) -> Result<SimulatedMeter, MeterConfigError> {
        if serial.is_empty() || serial.len() > MAX_SERIAL_LEN || !serial.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(MeterConfigError::InvalidSerial(serial.to_string()));
        }
        if !config.time_zone.is_valid() {
            return Err(MeterConfigError::InvalidTimeZone(config.time_zone.standard_offset_minutes));
        }
        if !config.load.is_valid() {
            return Err(MeterConfigError::InvalidLoadModel);
        }
        if config.profile_entries == 0 || config.profile_entries > MAX_PROFILE_ENTRIES {
            return Err(MeterConfigError::InvalidProfileEntries(config.profile_entries));
        }
        if !config.firmware.is_valid() {
            return Err(MeterConfigError::InvalidFirmware);
        }
        if config.max_clock_rate_ppm > crate::objects::clock::MAX_RATE_PPM as u32 {
            return Err(MeterConfigError::InvalidClockRate(config.max_clock_rate_ppm));
        }
        let model = LoadModel::new(seed, &config.load, config.time_zone);
        let metrology = Metrology::new(model, config.commissioning.as_millisecond());
        let max_drift = f64::from(config.max_clock_drift_ms);
        let drift_ms = ((uniform(seed, Stream::ClockDrift, 0) * 2.0 - 1.0) * max_drift).round() as i64;
        let max_rate = f64::from(config.max_clock_rate_ppm);
        let rate_ppm = ((uniform(seed, Stream::ClockDrift, 1) * 2.0 - 1.0) * max_rate).round() as i32;
        let prepayment = config.prepayment.as_ref().map(|p| Prepayment::new(p, &metrology)).transpose()?;
        let push = config.push.clone();
        let alarm = AlarmState::new(&config.alarm);
        Ok(SimulatedMeter {
            serial: serial.to_string(),
            seed,
            clock: MeterClock::new(config.time_zone, drift_ms).with_rate_ppm(rate_ppm),
            relay: DisconnectControl::new(config.control_mode),
            metrology,
            calendar: ActivityCalendar::default(),
            limiter: Limiter::default(),
            image_transfer: ImageTransfer::new(config.firmware.image_block_size),
            firmware_version: config.firmware.version.clone(),
            config,
            association: AssociationContext::default(),
            prepayment,
            push,
            security_setup: None,
            alarm,
            revision: 0,
        })
    }

    /// How many SET and ACTION requests the meter has served since it was built (whatever
    /// their result). 0 means its state is still exactly what its seed, configuration and the
    /// time give, so a fleet may drop it and build it again from the seed (see
    /// [`crate::fleet::lazy`]).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The serial number (Data 0.0.96.1.0.255).
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The configuration.
    pub fn config(&self) -> &MeterConfig {
        &self.config
    }

    /// The COSEM logical device name (Data 0.0.42.0.0.255): "GRD" + serial, ≤ 16 bytes.
    pub fn logical_device_name(&self) -> Vec<u8> {
        format!("{LOGICAL_DEVICE_NAME_PREFIX}{}", self.serial).into_bytes()
    }

    /// The metrology (load model parameters, registers at any meter time, captures).
    pub fn metrology(&self) -> &Metrology {
        &self.metrology
    }

    /// The meter clock.
    pub fn clock(&self) -> &MeterClock {
        &self.clock
    }

    /// The disconnector state.
    pub fn disconnect_control(&self) -> &DisconnectControl {
        &self.relay
    }

    /// The Activity calendar 0.0.13.0.0.255 as of the last request (see
    /// [`SimulatedMeter::settle`]).
    pub fn activity_calendar(&self) -> &ActivityCalendar {
        &self.calendar
    }

    /// The Limiter 0.0.17.0.0.255 as of the last request (see [`SimulatedMeter::settle`]).
    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    /// The Image transfer object 0.0.44.0.0.255.
    pub fn image_transfer(&self) -> &ImageTransfer {
        &self.image_transfer
    }

    /// The active firmware version (Data 1.0.0.2.0.255).
    pub fn firmware_version(&self) -> &str {
        &self.firmware_version
    }

    /// Brings the meter's time-bound functions up to true time `now`: a pending Activity
    /// calendar activation whose time has come, the Limiter's monitoring (which may operate
    /// the relay at the exact instants its durations elapse), then the prepaid credit. GET,
    /// SET and ACTION call it; call it before reading state through the `&self` accessors.
    pub fn settle(&mut self, now: Timestamp) {
        let t = self.clock.meter_ms(now);
        self.calendar.settle(t);
        self.limiter.advance(t, &mut self.metrology, &mut self.relay);
        self.settle_prepayment(now);
    }

    /// The alarm objects (register, filter, descriptor, alarm Push setup) and the supply
    /// state (see [`crate::alarm`]).
    pub fn alarms(&self) -> &AlarmState {
        &self.alarm
    }

    /// The alarm objects, mutable: raise alarms ([`AlarmState::raise`]), change the filter
    /// or the alarm push destination.
    pub fn alarms_mut(&mut self) -> &mut AlarmState {
        &mut self.alarm
    }

    /// Whether the meter has grid supply; a meter without is dark: its DLMS server does not
    /// answer and its registers stand still.
    pub fn is_energised(&self) -> bool {
        self.alarm.is_energised()
    }

    /// The grid supply fails at true time `now` (a power outage): the registers stop, the
    /// load-profile intervals from now on carry the power-down status bit
    /// ([`STATUS_POWER_DOWN`]), the power-down alarm is raised (its push is the last gasp,
    /// see [`crate::alarm::prepare_alarm_push`]) and the meter goes dark. Returns `false`
    /// (and changes nothing) when the meter had no supply already.
    pub fn lose_supply(&mut self, now: Timestamp) -> bool {
        if !self.alarm.is_energised() {
            return false;
        }
        self.settle(now);
        let t = self.clock.meter_ms(now);
        self.metrology.interrupt_supply(t);
        self.alarm.power_down(t)
    }

    /// The grid supply comes back at true time `now`: the registers run again and the
    /// power-up alarm is raised (with clock invalid when the outage outlasted the clock
    /// reserve, [`crate::alarm::AlarmConfig::clock_reserve_s`]). Returns `false` (and changes
    /// nothing) when the meter had supply.
    pub fn restore_supply(&mut self, now: Timestamp) -> bool {
        if self.alarm.is_energised() {
            return false;
        }
        let t = self.clock.meter_ms(now);
        self.metrology.resume_supply(t);
        let restored = self.alarm.power_up(t);
        self.settle(now);
        restored
    }

    /// The meter's own time at true UTC time `now` (true time + drift or the last setting).
    pub fn meter_time(&self, now: Timestamp) -> Timestamp {
        Timestamp::from_millisecond(self.clock.meter_ms(now)).unwrap_or(now)
    }

    /// The energy registers at true time `now` (at the meter's time).
    pub fn registers(&self, now: Timestamp) -> EnergyRegisters {
        self.metrology.registers(self.clock.meter_ms(now))
    }

    /// Voltage, current and active power at true time `now`.
    pub fn instantaneous(&self, now: Timestamp) -> InstantaneousValues {
        self.metrology.instantaneous(self.clock.meter_ms(now))
    }

    /// The load profile's current window (which captures the buffer holds at `now`).
    pub fn profile_window(&self, now: Timestamp) -> ProfileWindow {
        let last = self.metrology.last_capture_index(self.clock.meter_ms(now));
        ProfileWindow::new(last, self.config.profile_entries, self.metrology.epoch_ms())
    }

    /// Buffer rows for capture indices `first..=last` (see [`ProfileWindow`]), oldest first,
    /// with capture times and status bits.
    pub fn profile_entries(&self, first: u64, last: u64) -> Vec<ProfileEntry> {
        let zone = self.config.time_zone;
        self.metrology
            .captures(first, last)
            .into_iter()
            .map(|c| {
                let mut status = 0;
                if zone.summer_time_at_ms(c.end_ms) {
                    status |= STATUS_DAYLIGHT_SAVING;
                }
                if self.clock.adjusted_within(c.end_ms - INTERVAL_MS, c.end_ms) {
                    status |= STATUS_CLOCK_ADJUSTED;
                }
                if c.supply_interrupted {
                    status |= STATUS_SUPPLY_DISCONNECTED;
                }
                if c.power_down {
                    status |= STATUS_POWER_DOWN;
                }
                ProfileEntry { capture_time: zone.cosem_from_ms(c.end_ms), status, registers: c.registers }
            })
            .collect()
    }

    /// Replaces the association context shown by Association LN attributes 3..=6 and 8;
    /// the server calls this after each AARQ/AARE.
    pub fn set_association_context(&mut self, context: AssociationContext) {
        self.association = context;
    }

    /// The current association context.
    pub fn association_context(&self) -> &AssociationContext {
        &self.association
    }

    /// The object list (the objects this meter exposes): prepaid meters add the Token
    /// gateway and the Credit objects, meters that push the Push setup, meters with suite
    /// 0 security (see [`SimulatedMeter::attach_security_setup`]) the Security setup.
    pub fn objects(&self) -> &'static [CosemObject] {
        match (self.prepayment.is_some(), self.push.is_some(), self.security_setup.is_some()) {
            (false, false, false) => OBJECT_LIST,
            (true, false, false) => PREPAID_OBJECT_LIST,
            (false, true, false) => PUSH_OBJECT_LIST,
            (true, true, false) => PREPAID_PUSH_OBJECT_LIST,
            (false, false, true) => SECURED_OBJECT_LIST,
            (true, false, true) => SECURED_PREPAID_OBJECT_LIST,
            (false, true, true) => SECURED_PUSH_OBJECT_LIST,
            (true, true, true) => SECURED_PREPAID_PUSH_OBJECT_LIST,
        }
    }

    /// Adds the Security setup object 0.0.43.0.0.255 (class 64) of the management
    /// client's association: give it the same [`crate::objects::security_setup::SharedSecurity`]
    /// as that client's [`crate::tcp_server::ClientPolicy`], so security_activate and
    /// key_transfer change the settings of the client's future associations.
    pub fn attach_security_setup(&mut self, setup: SecuritySetup) {
        self.security_setup = Some(setup);
    }

    /// The Security setup object (`None` unless attached).
    pub fn security_setup(&self) -> Option<&SecuritySetup> {
        self.security_setup.as_ref()
    }

    /// The Push setup object (`None` when the meter does not push).
    pub fn push_setup(&self) -> Option<&PushSetup> {
        self.push.as_ref()
    }

    /// The Push setup object, mutable (the push sender takes requests and push numbers).
    pub fn push_setup_mut(&mut self) -> Option<&mut PushSetup> {
        self.push.as_mut()
    }

    /// The prepayment function (`None` for a credit meter), as of the last event (see
    /// [`SimulatedMeter::settle_prepayment`]).
    pub fn prepayment(&self) -> Option<&Prepayment> {
        self.prepayment.as_ref()
    }

    /// Brings a prepaid meter's credit and relay up to true time `now`: charges the
    /// consumption since the last event and opens the relay where the credit ran out (see
    /// [`crate::prepayment`]). GET, SET and ACTION call it; call it before reading the
    /// registers through the `&self` accessors. No-op for a credit meter.
    pub fn settle_prepayment(&mut self, now: Timestamp) {
        let t = self.clock.meter_ms(now);
        if let Some(p) = self.prepayment.as_mut() {
            p.advance(t, &mut Plant::new(&mut self.metrology, &mut self.relay, self.config.time_zone));
        }
    }

    /// Enters a token at true time `now` (the keypad: [`TokenDeliveryMethod::Manual`]; the
    /// Token gateway's `enter` uses `Remote`): 20 digits, spaces and '-' allowed. Returns the
    /// meter's answer, `None` for a credit meter.
    pub fn enter_token(&mut self, now: Timestamp, token: &str, method: TokenDeliveryMethod) -> Option<TokenEntry> {
        self.enter_token_bytes(now, token.as_bytes(), method)
    }

    fn enter_token_bytes(&mut self, now: Timestamp, token: &[u8], method: TokenDeliveryMethod) -> Option<TokenEntry> {
        let t = self.clock.meter_ms(now);
        let p = self.prepayment.as_mut()?;
        Some(p.enter_token(
            t,
            token,
            method,
            &mut Plant::new(&mut self.metrology, &mut self.relay, self.config.time_zone),
        ))
    }

    /// The customer invokes the emergency credit at true time `now`. `None` for a credit
    /// meter.
    pub fn invoke_emergency_credit(&mut self, now: Timestamp) -> Option<Result<(), EmergencyRefusal>> {
        let t = self.clock.meter_ms(now);
        let p = self.prepayment.as_mut()?;
        Some(p.invoke_emergency(t, &mut Plant::new(&mut self.metrology, &mut self.relay, self.config.time_zone)))
    }

    /// After a SET or ACTION at `now`: a clock step re-anchors the prepayment, then its
    /// credit rules are applied at the new time.
    fn after_dispatch(&mut self, now: Timestamp, meter_ms_before: i64) {
        let t = self.clock.meter_ms(now);
        if let Some(p) = self.prepayment.as_mut() {
            let mut plant = Plant::new(&mut self.metrology, &mut self.relay, self.config.time_zone);
            if t == meter_ms_before {
                p.advance(t, &mut plant);
            } else {
                p.clock_stepped(meter_ms_before, t, &mut plant);
            }
        }
    }

    /// The customer presses the reconnect button at true time `now` (manual_reconnect,
    /// transition e): closes the relay from ready_for_reconnection. Returns whether the state
    /// changed.
    pub fn manual_reconnect(&mut self, now: Timestamp) -> bool {
        self.trigger_relay(now, RelayTrigger::ManualReconnect)
    }

    /// Applies a relay trigger at true time `now`, opening or closing the supply as the new
    /// state requires. Returns whether the state changed.
    pub fn trigger_relay(&mut self, now: Timestamp, trigger: RelayTrigger) -> bool {
        self.settle(now);
        let changed = self.relay.apply(trigger);
        let t = self.clock.meter_ms(now);
        if self.relay.output_state() {
            self.metrology.close_relay(t);
        } else {
            self.metrology.open_relay(t);
        }
        self.settle_prepayment(now);
        changed
    }

    fn lookup(&self, class_id: u16, ln: dlms::Obis) -> Result<&'static CosemObject, DataAccessResult> {
        let o = find_in(self.objects(), ln).ok_or(DataAccessResult::ObjectUndefined)?;
        if o.class_id != class_id {
            return Err(DataAccessResult::ObjectClassInconsistent);
        }
        Ok(o)
    }

    /// GET of one attribute at true time `now` (IEC 62056-5-3 §9.3 GET service).
    ///
    /// # Errors
    /// `ObjectUndefined` (no object with that logical name), `ObjectClassInconsistent` (class
    /// id differs), `ObjectUnavailable` (the class has no such attribute), `ReadWriteDenied`
    /// (not readable, see the object list's access rights), `OtherReason` (selective access
    /// on an attribute or with a selector it does not support), and the buffer errors of
    /// [`profile_generic::select`].
    pub fn get(
        &mut self,
        now: Timestamp,
        desc: &CosemAttributeDescriptor,
        access: Option<&SelectiveAccess>,
    ) -> Result<Data, DataAccessResult> {
        let o = self.lookup(desc.class_id, desc.instance_id)?;
        let a = o.attribute(desc.attribute_id).ok_or(DataAccessResult::ObjectUnavailable)?;
        if !a.mode.can_read() {
            return Err(DataAccessResult::ReadWriteDenied);
        }
        if let Some(sa) = access {
            if !a.selectors.contains(&sa.selector()) {
                return Err(DataAccessResult::OtherReason);
            }
        }
        if desc.attribute_id == 1 {
            return Ok(Data::OctetString(o.logical_name.0.to_vec()));
        }
        self.settle(now);
        let t = self.clock.meter_ms(now);
        let id = desc.attribute_id;
        let value = match o.role {
            ObjectRole::Clock => self.clock.attribute(id, t),
            ObjectRole::SerialNumber => Some(Data::OctetString(self.serial.as_bytes().to_vec())),
            ObjectRole::LogicalDeviceName => Some(Data::OctetString(self.logical_device_name())),
            ObjectRole::Register(q) => match id {
                2 if q.is_energy() => q.energy_value(&self.metrology.registers(t)),
                2 => q.instantaneous_value(&self.metrology.instantaneous(t)),
                3 => Some(q.scaler_unit().to_data()),
                _ => None,
            },
            ObjectRole::ProfileStatus => Some(Data::Unsigned(self.current_status(t))),
            ObjectRole::LoadProfile => return self.get_profile(now, id, access),
            ObjectRole::CurrentAssociation => match id {
                2 => Some(object_list(self.objects())),
                _ => self.association.attribute(id),
            },
            ObjectRole::DisconnectControl => self.relay.attribute(id),
            ObjectRole::TokenGateway => {
                self.prepayment.as_ref().and_then(|p| p.gateway().attribute(id, self.config.time_zone))
            }
            ObjectRole::Credit(c) => {
                self.prepayment.as_ref().and_then(|p| c.attribute(id, p.credit(), &p.thresholds()))
            }
            ObjectRole::PushSetup => self.push.as_ref().and_then(|p| p.attribute(id)),
            ObjectRole::SecuritySetup => self.security_setup.as_ref().and_then(|s| s.attribute(id)),
            ObjectRole::FirmwareVersion => Some(Data::OctetString(self.firmware_version.as_bytes().to_vec())),
            ObjectRole::ScriptTable(table) => table.attribute(id),
            ObjectRole::RegisterActivation => register_activation::attribute(id, self.metrology.tariff_at(t)),
            ObjectRole::ActivityCalendar => self.calendar.attribute(id, &self.config.time_zone),
            ObjectRole::Limiter => self.limiter.attribute(id, t, &self.config.time_zone),
            ObjectRole::ImageTransfer => self.image_transfer.attribute(id),
            ObjectRole::Alarm(kind) => self.alarm.attribute(kind, id),
        };
        value.ok_or(DataAccessResult::ObjectUnavailable)
    }

    /// Profile status now: summer time and relay open.
    fn current_status(&self, t_ms: i64) -> u8 {
        let mut s = 0;
        if self.config.time_zone.summer_time_at_ms(t_ms) {
            s |= STATUS_DAYLIGHT_SAVING;
        }
        if !self.relay.output_state() {
            s |= STATUS_SUPPLY_DISCONNECTED;
        }
        if !self.alarm.is_energised() {
            s |= STATUS_POWER_DOWN;
        }
        s
    }

    fn get_profile(&self, now: Timestamp, id: i8, access: Option<&SelectiveAccess>) -> Result<Data, DataAccessResult> {
        let window = self.profile_window(now);
        Ok(match id {
            2 => {
                let BufferSelection { first, last, columns } =
                    profile_generic::select(access, &window, &self.config.time_zone)?;
                Data::Array(self.profile_entries(first, last).iter().map(|e| e.to_data(&columns)).collect())
            }
            3 => profile_generic::capture_objects_data(),
            4 => Data::DoubleLongUnsigned(CAPTURE_PERIOD_S),
            5 => Data::Enum(profile_generic::SORT_METHOD_FIFO),
            6 => profile_generic::sort_object_data(),
            7 => Data::DoubleLongUnsigned(u32::try_from(window.entries_in_use()).unwrap_or(u32::MAX)),
            8 => Data::DoubleLongUnsigned(self.config.profile_entries),
            _ => return Err(DataAccessResult::ObjectUnavailable),
        })
    }

    /// SET of one attribute at true time `now` (IEC 62056-5-3 §9.3 SET service). Writable:
    /// Clock time (2) and Disconnect control control_mode (4, enum 0..=6).
    ///
    /// Returns `Success` or the reason: the lookup and access errors of [`SimulatedMeter::get`]
    /// (`ReadWriteDenied` for read-only attributes), `OtherReason` for any selective access,
    /// `TypeUnmatched` for a value of the wrong type, `OtherReason` for a value out of range.
    pub fn set(
        &mut self,
        now: Timestamp,
        desc: &CosemAttributeDescriptor,
        access: Option<&SelectiveAccess>,
        value: &Data,
    ) -> DataAccessResult {
        self.revision += 1;
        let o = match self.lookup(desc.class_id, desc.instance_id) {
            Ok(o) => o,
            Err(e) => return e,
        };
        let Some(a) = o.attribute(desc.attribute_id) else { return DataAccessResult::ObjectUnavailable };
        if !a.mode.can_write() {
            return DataAccessResult::ReadWriteDenied;
        }
        if access.is_some() {
            return DataAccessResult::OtherReason;
        }
        self.settle(now);
        let before = self.clock.meter_ms(now);
        let result = self.set_attribute(now, o, desc.attribute_id, value);
        self.after_dispatch(now, before);
        result
    }

    fn set_attribute(&mut self, now: Timestamp, o: &CosemObject, attribute_id: i8, value: &Data) -> DataAccessResult {
        match (o.role, attribute_id) {
            (ObjectRole::Clock, 2) => self.clock.set_time(now, value),
            (ObjectRole::DisconnectControl, 4) => match value {
                Data::Enum(v) => match ControlMode::from_u8(*v) {
                    Some(mode) => {
                        if self.relay.set_mode(mode) {
                            self.metrology.close_relay(self.clock.meter_ms(now));
                        }
                        DataAccessResult::Success
                    }
                    None => DataAccessResult::OtherReason,
                },
                _ => DataAccessResult::TypeUnmatched,
            },
            (ObjectRole::PushSetup, id) => match self.push.as_mut() {
                Some(p) => p.set_attribute(id, value),
                None => DataAccessResult::ObjectUndefined,
            },
            (ObjectRole::ActivityCalendar, id) => {
                let t = self.clock.meter_ms(now);
                self.calendar.set_attribute(id, value, t, &self.config.time_zone, &mut self.metrology)
            }
            (ObjectRole::Limiter, id) => self.limiter.set_attribute(id, value, &self.config.time_zone),
            (ObjectRole::ImageTransfer, 5) => match self.image_transfer.set_enabled(value) {
                Ok(()) => DataAccessResult::Success,
                Err(e) => e,
            },
            (ObjectRole::Alarm(kind), id) => self.alarm.set_attribute(kind, id, value),
            _ => DataAccessResult::ReadWriteDenied,
        }
    }

    /// ACTION on one method at true time `now` (IEC 62056-5-3 §9.3 ACTION service).
    /// Offered: Disconnect control 1 `remote_disconnect` and 2 `remote_reconnect` (data
    /// integer (0) or absent), Clock 1 `adjust_to_quarter`, 3 `adjust_to_minute`, 6
    /// `shift_time`; on prepaid meters Token gateway 1 `enter` (octet-string token; the
    /// verdict is in its `token_status`) and emergency Credit 3 `invoke_credit` (enum (2),
    /// integer (0) or absent). None returns data.
    ///
    /// # Errors
    /// `ObjectUndefined`, `ObjectClassInconsistent`, `ObjectUnavailable` (no such method),
    /// `ReadWriteDenied` (method without access), `TypeUnmatched` (wrong parameter type),
    /// `OtherReason` (parameter out of range; remote relay methods in control mode 0;
    /// Association LN method 1, which the server's association state machine answers;
    /// emergency credit that may not be invoked now).
    pub fn action(
        &mut self,
        now: Timestamp,
        desc: &CosemMethodDescriptor,
        param: Option<&Data>,
    ) -> Result<Option<Data>, ActionResult> {
        self.revision += 1;
        let o = self.lookup(desc.class_id, desc.instance_id).map_err(action_result)?;
        let m = o.method(desc.method_id).ok_or(ActionResult::ObjectUnavailable)?;
        if m.mode == crate::objects::access::MethodAccessMode::NoAccess {
            return Err(ActionResult::ReadWriteDenied);
        }
        self.settle(now);
        let before = self.clock.meter_ms(now);
        let result = self.invoke(now, o, desc, param);
        self.after_dispatch(now, before);
        result
    }

    fn invoke(
        &mut self,
        now: Timestamp,
        o: &CosemObject,
        desc: &CosemMethodDescriptor,
        param: Option<&Data>,
    ) -> Result<Option<Data>, ActionResult> {
        match o.role {
            ObjectRole::Clock => self.clock.action(now, desc.method_id, param),
            ObjectRole::DisconnectControl => {
                if !matches!(param, None | Some(Data::Integer(_))) {
                    return Err(ActionResult::TypeUnmatched);
                }
                if self.relay.mode == ControlMode::None {
                    return Err(ActionResult::OtherReason);
                }
                let trigger =
                    if desc.method_id == 1 { RelayTrigger::RemoteDisconnect } else { RelayTrigger::RemoteReconnect };
                self.trigger_relay(now, trigger);
                Ok(None)
            }
            ObjectRole::TokenGateway => {
                let Some(Data::OctetString(token)) = param else { return Err(ActionResult::TypeUnmatched) };
                self.enter_token_bytes(now, token, TokenDeliveryMethod::Remote).ok_or(ActionResult::OtherReason)?;
                Ok(None)
            }
            ObjectRole::Credit(CreditObject::Emergency) => {
                match param {
                    None | Some(Data::Integer(0)) | Some(Data::Enum(2)) => {}
                    Some(Data::Enum(_)) => return Err(ActionResult::OtherReason),
                    Some(_) => return Err(ActionResult::TypeUnmatched),
                }
                match self.invoke_emergency_credit(now) {
                    Some(Ok(())) => Ok(None),
                    _ => Err(ActionResult::OtherReason),
                }
            }
            ObjectRole::PushSetup => match self.push.as_mut() {
                Some(p) => p.invoke(desc.method_id, param),
                None => Err(ActionResult::ObjectUndefined),
            },
            ObjectRole::SecuritySetup => match self.security_setup.as_mut() {
                Some(s) => s.invoke(desc.method_id, param),
                None => Err(ActionResult::ObjectUndefined),
            },
            ObjectRole::ActivityCalendar => {
                let t = self.clock.meter_ms(now);
                self.calendar.action(desc.method_id, param, t, &mut self.metrology)
            }
            ObjectRole::ImageTransfer => {
                if let Some(version) = self.image_transfer.invoke(desc.method_id, param, &self.config.firmware)? {
                    tracing::info!(meter = %self.serial, %version, "firmware image activated");
                    self.firmware_version = version;
                }
                Ok(None)
            }
            ObjectRole::Alarm(kind) => self.alarm.invoke(kind, desc.method_id, param),
            _ => Err(ActionResult::OtherReason),
        }
    }
}

/// Maps a lookup failure onto the ACTION result enumeration.
fn action_result(e: DataAccessResult) -> ActionResult {
    match e {
        DataAccessResult::ObjectUndefined => ActionResult::ObjectUndefined,
        DataAccessResult::ObjectClassInconsistent => ActionResult::ObjectClassInconsistent,
        _ => ActionResult::OtherReason,
    }
}
