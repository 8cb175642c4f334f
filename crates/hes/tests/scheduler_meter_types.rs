//! Water and gas meters (the registry's meter-type stubs) read by the scheduler's
//! generic reader over real DLMS/COSEM sessions: a minimal COSEM server in this test
//! plays the meter (Clock, serial number, the medium's volume registers, an hourly
//! load profile of the medium). Values whose OBIS code the MDMS has a reading type for
//! are delivered; the others are reported in the job's outcome, never dropped silently.

use std::sync::Arc;

use dlms::association::{CosemServer, RequestContext, ServerAssociation, ServerConfig};
use dlms::data::Data;
use dlms::datetime::{ClockStatus, CosemDateTime};
use dlms::wrapper::WrapperFrame;
use dlms::xdlms::{ActionResult, CosemAttributeDescriptor, CosemMethodDescriptor, DataAccessResult, SelectiveAccess};
use dlms::{Codec, Obis};
use hes::registry_store::{MeterRecord, MeterType, RegistryStore};
use hes::scheduler::{
    DlmsExecutor, ExecutorConfig, JobExecutor, JobKind, JobSpec, JobStore, MemorySink, Priority, ReadingSink,
};
use jiff::{SignedDuration, Timestamp};
use model::{MeterId, ReadingType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A utility meter of one medium: volume registers (m³, scaler −3) growing 0.012 m³ an
/// hour since 2026-01-01, the flow rate (0.012 m³/h), and an hourly profile of the first
/// volume register.
struct MediumMeter {
    serial: &'static str,
    kind: MeterType,
}

const EPOCH_S: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

fn litres_at(t: Timestamp) -> u32 {
    ((t.as_second() - EPOCH_S).max(0) / 3600 * 12) as u32
}

fn clock_octets(t: Timestamp) -> Data {
    Data::OctetString(CosemDateTime::from_utc(t, Some(0), ClockStatus::OK).unwrap().to_octets())
}

impl CosemServer for MediumMeter {
    fn get(
        &mut self,
        _ctx: &RequestContext,
        a: &CosemAttributeDescriptor,
        access: Option<&SelectiveAccess>,
    ) -> Result<Data, DataAccessResult> {
        let now = Timestamp::now();
        let registers = self.kind.billing_registers();
        let profile = self.kind.load_profile();
        match (a.class_id, a.instance_id, a.attribute_id) {
            (8, o, 2) if o == dlms::obis::codes::CLOCK => Ok(clock_octets(now)),
            (1, o, 2) if o == dlms::obis::codes::SERIAL_NUMBER => {
                Ok(Data::OctetString(self.serial.as_bytes().to_vec()))
            }
            (3, o, 2) if registers.contains(&o) => Ok(Data::DoubleLongUnsigned(litres_at(now))),
            (3, o, 3) if registers.contains(&o) => Ok(Data::Structure(vec![Data::Integer(-3), Data::Enum(13)])),
            // Flow: 0.012 m³/h (unit 15, volume flux).
            (3, o, 2) if self.kind.instantaneous_registers().contains(&o) => Ok(Data::LongUnsigned(12)),
            (3, o, 3) if self.kind.instantaneous_registers().contains(&o) => {
                Ok(Data::Structure(vec![Data::Integer(-3), Data::Enum(15)]))
            }
            (7, o, 3) if o == profile => {
                Ok(Data::Array(vec![capture(8, dlms::obis::codes::CLOCK), capture(3, registers[0])]))
            }
            (7, o, 4) if o == profile => Ok(Data::DoubleLongUnsigned(3600)),
            (7, o, 2) if o == profile => {
                let Some(SelectiveAccess::Range(r)) = access else { return Err(DataAccessResult::OtherReason) };
                let bound =
                    |d: &Data| d.as_date_time().and_then(|t| t.to_utc().ok()).ok_or(DataAccessResult::TypeUnmatched);
                let (from, to) = (bound(&r.from_value)?, bound(&r.to_value)?);
                let mut t = Timestamp::from_second(from.as_second().div_euclid(3600) * 3600).unwrap();
                let mut rows = Vec::new();
                while t <= to.min(now) {
                    if t >= from {
                        rows.push(Data::Structure(vec![clock_octets(t), Data::DoubleLongUnsigned(litres_at(t))]));
                    }
                    t += SignedDuration::from_hours(1);
                }
                Ok(Data::Array(rows))
            }
            _ => Err(DataAccessResult::ObjectUndefined),
        }
    }

    fn set(
        &mut self,
        _: &RequestContext,
        _: &CosemAttributeDescriptor,
        _: Option<&SelectiveAccess>,
        _: &Data,
    ) -> DataAccessResult {
        DataAccessResult::ReadWriteDenied
    }

    fn action(
        &mut self,
        _: &RequestContext,
        _: &CosemMethodDescriptor,
        _: Option<&Data>,
    ) -> Result<Option<Data>, ActionResult> {
        Err(ActionResult::ReadWriteDenied)
    }
}

fn capture(class_id: u16, obis: Obis) -> Data {
    Data::Structure(vec![
        Data::LongUnsigned(class_id),
        Data::OctetString(obis.as_bytes().to_vec()),
        Data::Integer(2),
        Data::LongUnsigned(0),
    ])
}

/// Serves `meter` over the TCP wrapper (public client 16, management logical device 1).
async fn serve(meter: MediumMeter) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let meter = Arc::new(std::sync::Mutex::new(meter));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let meter = meter.clone();
            tokio::spawn(async move {
                let mut association = ServerAssociation::new(ServerConfig::public(), 16);
                let mut rx = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    while let Ok(Some((frame, used))) = WrapperFrame::parse_with_limit(&rx, 65_535) {
                        rx.drain(..used);
                        association.handle_apdu(&frame.apdu, &mut *meter.lock().unwrap());
                        while let Some(apdu) = association.poll_transmit() {
                            if stream.write_all(&frame.reply(apdu).to_bytes()).await.is_err() {
                                return;
                            }
                        }
                    }
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => rx.extend_from_slice(&buf[..n]),
                    }
                }
            });
        }
    });
    port
}

async fn read(kind: MeterType, serial: &'static str) -> (serde_json::Value, Arc<MemorySink>) {
    let port = serve(MediumMeter { serial, kind }).await;
    let mut registry = RegistryStore::open_in_memory().unwrap();
    let mut record = MeterRecord::new(serial, "127.0.0.1", port);
    record.meter_type = kind;
    registry.upsert(&record).unwrap();
    let sink = Arc::new(MemorySink::new());
    let dyn_sink: Arc<dyn ReadingSink> = sink.clone();
    let config = ExecutorConfig { history: SignedDuration::from_hours(48), ..ExecutorConfig::default() };
    let executor = DlmsExecutor::new(registry, None, dyn_sink, config).unwrap();
    let mut jobs = JobStore::open_in_memory().unwrap();
    let spec = JobSpec {
        serial: serial.into(),
        kind: JobKind::OnDemand,
        priority: Priority::OnDemand,
        cycle: None,
        due_at: Timestamp::now(),
        billing_instant: None,
    };
    let job = jobs.claim_new(&spec, Timestamp::now()).unwrap();
    let outcome = executor.execute(job).await.unwrap_or_else(|f| panic!("{kind} read failed: {}", f.error));
    (serde_json::to_value(&outcome).unwrap(), sink)
}

#[tokio::test]
async fn a_water_meter_is_read_with_its_own_obis_codes() {
    let (outcome, sink) = read(MeterType::Water, "WA00000001").await;
    let meter = MeterId("WA00000001".into());
    match ReadingType::from_obis([8, 0, 1, 0, 0, 255]) {
        // The MDMS knows water volume: the register and the hourly profile are delivered.
        Some(volume) => {
            assert_eq!(sink.register_count(&meter), 1, "{outcome}");
            let ends = sink.interval_ends(&meter, volume);
            assert!(ends.len() >= 47 && ends.len() <= 49, "48 hours of hourly intervals: {}", ends.len());
            assert!(ends.windows(2).all(|w| w[1].duration_since(w[0]) == SignedDuration::from_hours(1)));
            assert_eq!(outcome["unstored_values"].as_array().map(|v| v.len()), Some(1), "flow rate: {outcome}");
        }
        // It does not: the volume is reported in the outcome, nothing is delivered.
        None => {
            assert_eq!(sink.deliveries(), 0);
            assert!(outcome["unstored_values"].to_string().contains("8.0.1.0.0.255"), "{outcome}");
        }
    }
}

#[tokio::test]
async fn a_gas_meters_values_are_reported_even_though_the_mdms_cannot_store_them() {
    let (outcome, sink) = read(MeterType::Gas, "GA00000001").await;
    assert_eq!(sink.deliveries(), 0, "no gas reading type in the MDMS");
    let unstored = outcome["unstored_values"].as_array().unwrap();
    let obis: Vec<&str> = unstored.iter().map(|v| v[0].as_str().unwrap()).collect();
    assert_eq!(obis, ["7.0.3.0.0.255", "7.0.13.0.0.255", "7.0.43.0.0.255"], "{outcome}");
    let vm = unstored.iter().find(|v| v[0] == "7.0.3.0.0.255").unwrap();
    let expected = f64::from(litres_at(Timestamp::now())) / 1000.0;
    assert!((vm[1].as_f64().unwrap() - expected).abs() <= 0.012 + 1e-9, "{vm} vs {expected}");
    assert_eq!(vm[2], "m³");
    let flow = unstored.iter().find(|v| v[0] == "7.0.43.0.0.255").unwrap();
    assert_eq!((flow[1].as_f64(), flow[2].as_str()), (Some(0.012), Some("m³/h")));
    assert!(outcome["notes"].to_string().contains("profile not read"), "{outcome}");
}
