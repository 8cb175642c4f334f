//! End to end over real TCP: a firmware update through Image transfer (class 18) with a
//! signed image (ECDSA P-256). The first connection is cut mid-transfer by a proxy; the HES
//! reconnects and resumes from image_first_not_transferred_block_number, verifies,
//! activates and reads the new firmware version back. A badly signed image is refused by
//! the meter; broadcast addressing is refused by the HES.

mod command_support;

use std::sync::atomic::Ordering;

use command_support::*;
use dlms::security::suite1::SigningKey;
use hes::commands::{CommandRequest, CommandState, FirmwareUpdate, FotaReport};
use meter::MeterConfig;
use meter::firmware::{FirmwareConfig, build_image};

const BLOCK: u32 = 256;

fn vendor() -> SigningKey {
    SigningKey::from_bytes(&[0x42; 32]).unwrap()
}

fn fota_meter_config() -> MeterConfig {
    let firmware = FirmwareConfig {
        vendor_public_key: Some(vendor().public_key()),
        image_block_size: BLOCK,
        ..FirmwareConfig::default()
    };
    MeterConfig { firmware, ..MeterConfig::default() }
}

/// A signed image with a 30 000-byte payload: 77 + 9 + 30 000 bytes = 118 blocks of 256.
fn image(key: &SigningKey) -> Vec<u8> {
    let payload: Vec<u8> = (0..30_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    build_image(*b"GRD", "GRD-3.1.4", &payload, key).unwrap()
}

#[tokio::test]
async fn an_interrupted_transfer_resumes_and_activates() {
    let m = RunningMeter::start("GE40000001", 41, fota_meter_config()).await;
    let img = image(&vendor());
    let blocks = (img.len() as u32).div_ceil(BLOCK);
    // Cut the first connection after ~12 kB from the HES: about 45 blocks in.
    let proxy = CuttingProxy::start(m.address, 12_000).await;
    let mut update = FirmwareUpdate::new(img.clone(), "GRD-3.1.4");
    update.reconnect_delay_ms = 50;
    let service = service();
    let r = service.execute(&m.endpoint_via(proxy.address), "fw-ops", &CommandRequest::Firmware(update)).await.unwrap();
    assert_eq!(r.state, CommandState::Confirmed, "{r:?}");
    let report: FotaReport = serde_json::from_value(r.result.clone()).unwrap();
    assert_eq!((report.blocks, report.block_size, report.image_size), (blocks, BLOCK, img.len() as u32));
    assert_eq!((report.version_before.as_str(), report.version_after.as_str()), ("GRD-1.0.0", "GRD-3.1.4"));
    assert_eq!(report.reconnects, 1);
    assert_eq!(proxy.connections.load(Ordering::SeqCst), 2, "one cut connection, one resumed");
    let [resumed_at] = report.resumed_from[..] else { panic!("one resume: {report:?}") };
    assert!(resumed_at > 10 && resumed_at < blocks - 10, "resumed mid-image at block {resumed_at}");
    let meter = m.lock();
    let stats = meter.image_transfer().statistics();
    // One initiate, every block exactly once: the resume started at the first block missing.
    assert_eq!((stats.initiates, stats.blocks_accepted, stats.blocks_repeated), (1, u64::from(blocks), 0));
    assert_eq!(meter.firmware_version(), "GRD-3.1.4");
    drop(meter);
    // The audit log tells the story.
    let audit = service.store().audit(r.id).unwrap();
    let events: Vec<String> = audit
        .iter()
        .map(|a| match a.detail.get("event").and_then(|e| e.as_str()) {
            Some(e) if a.event == "progress" => format!("progress:{e}"),
            _ => a.event.clone(),
        })
        .collect();
    assert_eq!(
        events,
        ["queued", "sent", "progress:initiated", "progress:connection lost", "progress:resumed", "confirmed"]
    );
    let resumed = audit.iter().find(|a| a.detail["event"] == "resumed").unwrap();
    assert_eq!(resumed.detail["first_not_transferred_block"], resumed_at);
    assert_eq!(r.parameters["image_size"], img.len());
}

#[tokio::test]
async fn a_badly_signed_image_is_refused() {
    let m = RunningMeter::start("GE40000002", 42, fota_meter_config()).await;
    let rogue = SigningKey::from_bytes(&[0x13; 32]).unwrap();
    let service = service();
    let r = service
        .execute(&m.endpoint(), "fw-ops", &CommandRequest::Firmware(FirmwareUpdate::new(image(&rogue), "GRD-3.1.4")))
        .await
        .unwrap();
    let CommandState::Failed(reason) = &r.state else { panic!("{r:?}") };
    assert!(reason.contains("verification failed"), "{reason}");
    let meter = m.lock();
    assert_eq!(meter.firmware_version(), "GRD-1.0.0", "nothing activated");
    assert_eq!(
        meter.image_transfer().status(),
        meter::objects::image_transfer::ImageTransferStatus::VerificationFailed
    );
}

#[tokio::test]
async fn firmware_is_never_broadcast() {
    let m = RunningMeter::start("GE40000003", 43, fota_meter_config()).await;
    let mut endpoint = m.endpoint();
    endpoint.server_sap = 0x7F;
    let service = service();
    let r = service
        .execute(&endpoint, "fw-ops", &CommandRequest::Firmware(FirmwareUpdate::new(image(&vendor()), "GRD-3.1.4")))
        .await
        .unwrap();
    let CommandState::Failed(reason) = &r.state else { panic!("{r:?}") };
    assert!(reason.contains("broadcast"), "{reason}");
    assert_eq!(m.lock().image_transfer().statistics().initiates, 0);
}
