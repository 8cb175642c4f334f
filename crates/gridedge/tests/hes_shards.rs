//! Scale-out HES (`gridedge hes run --config`), end to end with a private NATS server:
//!
//! * two HES processes share 40 simulated meters (8 shards, 3 s leases); one is killed
//!   with SIGKILL mid-collection; the survivor takes its shards over and completes the
//!   collection; the Readings stream, ingested into an MDMS SQLite store (which the HES
//!   processes read their catch-up positions from), holds every meter's two days of
//!   intervals exactly once with the meter's own values;
//! * a disconnect published on the bus is carried out by the HES owning the meter, its
//!   confirmed result comes back on the bus, and the same command delivered again is not
//!   carried out twice; a last gasp pushed by a meter arrives on the Events stream as an
//!   EndDeviceEvent with the CIM code 3.26.0.47;
//! * nats-server restarted mid-collection: the HES resumes and the collection completes,
//!   every interval exactly once.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bus::{
    BusMessage, CommandEnvelope, CommandResultEnvelope, CommandResultState, Delivery, JetStreamBus, JetStreamConfig,
    MessageKind, Publisher, Subscriber, shard_of,
};
use common::nats_server::NatsServer;
use common::{gridedge, run_json};
use jiff::{SignedDuration, Timestamp};
use mdms::{MeterDataStore, SqliteStore};
use meter::MeterConfig;
use meter::fleet::Fleet;
use meter::tcp_server::MeterServerConfig;
use model::{EndDeviceEvent, MeterId, MeterReading, ReadingType};

const SHARDS: u32 = 8;

/// The tests of this file run one at a time: each runs HES processes, a simulated fleet
/// and a nats-server, and their leases and timeouts assume the machine is not shared by
/// the others (cargo runs a binary's tests in parallel).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}
const STREAM_PREFIX: &str = "HESTEST";

fn floor_15(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second().div_euclid(900) * 900).unwrap()
}

/// One `gridedge hes run --config` process, its stdout JSON lines collected with the
/// instant each arrived.
struct Hes {
    child: Option<Child>,
    lines: mpsc::Receiver<(Instant, serde_json::Value)>,
    seen: Vec<(Instant, serde_json::Value)>,
    db: PathBuf,
    commands_db: PathBuf,
}

impl Hes {
    fn start(config: &Path, db: &Path, commands_db: &Path, extra: &[&str]) -> Hes {
        let mut cmd = gridedge();
        cmd.args(["hes", "run", "--config"])
            .arg(config)
            .args(["--jitter-s", "0", "--history-days", "2", "--backoff-base-ms", "200", "--backoff-max-s", "1"])
            .args(["--timeout-s", "5"])
            .args(extra)
            .env_remove("GRIDEDGE_HES_KEK")
            .env_remove("GRIDEDGE_HES_DB")
            // HES_TEST_LOG=info (a tracing filter) shows what the HES processes do.
            .env("RUST_LOG", std::env::var("HES_TEST_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("spawn gridedge hes run");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) {
                    let _ = tx.send((Instant::now(), value));
                }
            }
        });
        Hes { child: Some(child), lines: rx, seen: Vec::new(), db: db.to_path_buf(), commands_db: commands_db.into() }
    }

    fn drain(&mut self) {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
    }

    /// Waits (failure guard: `limit`) for a line `accept` holds for; returns its arrival.
    fn wait_for(&mut self, what: &str, limit: Duration, accept: impl Fn(&serde_json::Value) -> bool) -> Instant {
        let deadline = Instant::now() + limit;
        loop {
            self.drain();
            if let Some((at, _)) = self.seen.iter().find(|(_, v)| accept(v)) {
                return *at;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; lines: {:?}", self.seen);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The shards owned according to the last `shards` line.
    fn owned(&mut self) -> BTreeSet<u32> {
        self.drain();
        self.seen
            .iter()
            .rev()
            .find(|(_, v)| v["event"] == "shards")
            .map(|(_, v)| v["owned"].as_array().unwrap().iter().map(|s| s.as_u64().unwrap() as u32).collect())
            .unwrap_or_default()
    }

    fn job_counts(&self) -> BTreeMap<&'static str, u64> {
        hes::scheduler::JobStore::open(&self.db).and_then(|s| s.counts()).unwrap_or_default()
    }

    fn sigkill(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM and the final report line.
    fn stop(&mut self) -> serde_json::Value {
        let mut child = self.child.take().expect("running");
        let status = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "the HES did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(child.wait().unwrap().success());
        let at = self.wait_for("the final report", Duration::from_secs(10), |v| v["event"] == "stopped");
        self.seen.iter().find(|(t, _)| *t == at).unwrap().1.clone()
    }
}

impl Drop for Hes {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The shared configuration file of one HES process.
fn write_config(dir: &Path, name: &str, nats: &str, mdms: &Path, kek: Option<&Path>, push: &str) -> PathBuf {
    write_config_ttl(dir, name, nats, mdms, kek, push, 3)
}

/// [`write_config`] with the shard lease TTL (s): short where a takeover is measured, long
/// where the test needs a meter's owner to stay put on a loaded machine.
fn write_config_ttl(
    dir: &Path,
    name: &str,
    nats: &str,
    mdms: &Path,
    kek: Option<&Path>,
    push: &str,
    lease_ttl_s: u32,
) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    let kek = kek.map(|k| format!("kek_file = {:?}\n", k.display().to_string())).unwrap_or_default();
    let text = format!(
        "[store]\nbackend = \"sqlite\"\nsqlite_path = {mdms:?}\n\n\
         [bus]\ntransport = \"nats\"\nnats_url = {nats:?}\nstream_prefix = {STREAM_PREFIX:?}\n\n\
         [hes]\nregistry = {registry:?}\nshards = {SHARDS}\nlease_ttl_s = {lease_ttl_s}\nconcurrency = 4\n\
         commands_db = {commands:?}\npush_tcp = {push:?}\npush_udp = {push:?}\n{kek}",
        mdms = mdms.display().to_string(),
        registry = dir.join(format!("{name}.db")).display().to_string(),
        commands = dir.join(format!("{name}-commands.db")).display().to_string(),
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn import_registry(db: &Path, csv: &Path, meters: usize) {
    let mut import = gridedge();
    import.args(["hes", "registry", "import", "--csv"]).arg(csv).arg("--db").arg(db).env_remove("GRIDEDGE_HES_KEK");
    assert_eq!(run_json(import)["inserted"], meters);
}

fn jetstream(nats: &NatsServer) -> JetStreamConfig {
    JetStreamConfig { stream_prefix: STREAM_PREFIX.to_string(), ..JetStreamConfig::new(&nats.url()) }
}

/// The MDMS side for the test: pulls `Readings` into the SQLite store at `path` (committed,
/// then acknowledged) until `stop`; `acked` counts acknowledged messages.
async fn ingest(bus: JetStreamBus, path: PathBuf, acked: Arc<AtomicU64>, stop: Arc<AtomicBool>) -> u64 {
    let mut store = SqliteStore::open(&path).unwrap();
    let mut subscriber = bus.subscriber(MessageKind::Readings, "mdms-test").await.unwrap();
    let mut readings = 0;
    let mut failing_since: Option<Instant> = None;
    while !stop.load(Ordering::Acquire) {
        // While NATS restarts a fetch or an ack fails; an unacknowledged message comes
        // back and is ingested again (a duplicate, never a second value). After 3 s of
        // failures the consumer is looked up again, as an MDMS would on reconnecting.
        let deliveries = match subscriber.fetch(64, Duration::from_millis(200)).await {
            Ok(deliveries) => {
                failing_since = None;
                deliveries
            }
            Err(e) => {
                let since = *failing_since.get_or_insert_with(|| {
                    eprintln!("test ingest: fetching failed: {e}");
                    Instant::now()
                });
                if since.elapsed() > Duration::from_secs(3) {
                    match bus.subscriber(MessageKind::Readings, "mdms-test").await {
                        Ok(fresh) => {
                            eprintln!("test ingest: consumer looked up again");
                            subscriber = fresh;
                            failing_since = None;
                        }
                        Err(e) => eprintln!("test ingest: looking the consumer up failed: {e}"),
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        for delivery in deliveries {
            let reading: MeterReading = delivery.message().decode().unwrap();
            store.ingest_from(&reading, "hes").unwrap();
            readings += 1;
            if delivery.ack().await.is_ok() {
                acked.fetch_add(1, Ordering::AcqRel);
            }
        }
    }
    readings
}

/// True when `store` holds the two days of intervals up to the current interval for every
/// meter in `serials`.
fn complete(store: &SqliteStore, serials: &[String], started: Timestamp) -> bool {
    let floor_start = floor_15(started);
    serials.iter().all(|serial| {
        let ends = store
            .interval_readings(
                &MeterId(serial.clone()),
                ReadingType::ActiveEnergyImport,
                floor_start - SignedDuration::from_hours(49),
                Timestamp::now() + SignedDuration::from_hours(1),
            )
            .unwrap_or_default();
        ends.len() >= 190 && ends.last().is_some_and(|l| l.interval_end >= floor_start - SignedDuration::from_secs(900))
    })
}

/// What the two collection tests share: a simulated fleet, its registry CSV (5 DCUs,
/// Europe/London), an MDMS SQLite store, and the MDMS side ingesting the Readings stream
/// of `nats` into it as the readings arrive (see [`ingest`]).
struct Collection {
    rt: tokio::runtime::Runtime,
    fleet: Fleet,
    serials: Vec<String>,
    dir: tempfile::TempDir,
    csv: PathBuf,
    mdms_db: PathBuf,
    bus: JetStreamBus,
    acked: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    ingest_task: Option<tokio::task::JoinHandle<u64>>,
}

impl Collection {
    fn start(nats: &NatsServer, meters: usize, seed: u64) -> Collection {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let fleet = rt
            .block_on(Fleet::start(
                meters,
                [127, 0, 0, 1].into(),
                seed,
                MeterConfig::default(),
                MeterServerConfig::default(),
            ))
            .unwrap();
        let serials: Vec<String> = fleet.meters().iter().map(|m| m.serial.clone()).collect();
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("fleet.csv");
        let mut text = String::from("serial,host,port,dcu,time_zone\n");
        for (i, m) in fleet.meters().iter().enumerate() {
            text.push_str(&format!("{},127.0.0.1,{},DCU-{},Europe/London\n", m.serial, m.address.port(), i % 5));
        }
        std::fs::write(&csv, text).unwrap();
        let mdms_db = dir.path().join("mdms.db");
        drop(SqliteStore::open(&mdms_db).unwrap());
        let bus = rt.block_on(JetStreamBus::connect(jetstream(nats))).unwrap();
        let (acked, stop) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
        let ingest_task = Some(rt.spawn(ingest(bus.clone(), mdms_db.clone(), acked.clone(), stop.clone())));
        Collection { rt, fleet, serials, dir, csv, mdms_db, bus, acked, stop, ingest_task }
    }

    /// Waits until everything in the Readings stream is ingested and acknowledged (failure
    /// guard 60 s), stops the ingest and returns the number of messages in the stream.
    fn drain(&mut self) -> u64 {
        let published = self.rt.block_on(self.bus.stream_messages(MessageKind::Readings)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.acked.load(Ordering::Acquire) < published {
            assert!(Instant::now() < deadline, "the readings stream was not drained");
            std::thread::sleep(Duration::from_millis(50));
        }
        self.stop.store(true, Ordering::Release);
        if let Some(task) = self.ingest_task.take() {
            self.rt.block_on(task).unwrap();
        }
        published
    }

    fn shut_down(self) {
        self.rt.block_on(self.fleet.shutdown());
    }
}

#[test]
fn a_killed_hes_shard_is_taken_over_and_the_collection_completes_exactly_once() {
    let _serial = one_at_a_time();
    const METERS: usize = 40;
    let nats = NatsServer::start();
    let mut c = Collection::start(&nats, METERS, 300);
    let (serials, dir, mdms_db) = (c.serials.clone(), c.dir.path().to_path_buf(), c.mdms_db.clone());
    let configs: Vec<PathBuf> = ["hes-a", "hes-b"]
        .iter()
        .map(|name| {
            import_registry(&dir.join(format!("{name}.db")), &c.csv, METERS);
            write_config(&dir, name, &nats.url(), &mdms_db, None, "0")
        })
        .collect();

    // Two HES processes; one session at a time each, profiles read in 2-hour chunks, so a
    // collection lasts long enough to be interrupted.
    let started = Timestamp::now();
    let extra = ["--max-sessions", "1", "--chunk-hours", "2"];
    let mut hes: Vec<Hes> = configs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let name = ["hes-a", "hes-b"][i];
            Hes::start(c, &dir.join(format!("{name}.db")), &dir.join(format!("{name}-commands.db")), &extra)
        })
        .collect();
    for h in hes.iter_mut() {
        h.wait_for("the first owned shards", Duration::from_secs(60), |v| {
            v["event"] == "shards" && v["owned"].as_array().is_some_and(|o| !o.is_empty())
        });
    }

    // Kill the process that has more left to do, once it has finished a few meters.
    let deadline = Instant::now() + Duration::from_secs(240);
    let victim = loop {
        assert!(Instant::now() < deadline, "no progress: {:?} {:?}", hes[0].job_counts(), hes[1].job_counts());
        let ready: Vec<usize> = (0..2)
            .filter(|&i| {
                let c = hes[i].job_counts();
                c.get("succeeded").copied().unwrap_or(0) >= 2
                    && c.get("queued").copied().unwrap_or(0) + c.get("running").copied().unwrap_or(0) >= 3
            })
            .collect();
        if let Some(&i) = ready.first() {
            break i;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let survivor = 1 - victim;
    let victim_shards = hes[victim].owned();
    assert!(!victim_shards.is_empty());
    hes[victim].sigkill();
    let killed_at = Instant::now();
    let left = hes[victim].job_counts();
    assert!(
        left.get("queued").copied().unwrap_or(0) + left.get("running").copied().unwrap_or(0) > 0,
        "killed mid-collection: {left:?}"
    );
    let victim_meters: Vec<&String> = serials.iter().filter(|s| victim_shards.contains(&shard_of(s, SHARDS))).collect();
    assert!(!victim_meters.is_empty());

    // The survivor takes every shard over.
    let took_over = hes[survivor].wait_for("the takeover of every shard", Duration::from_secs(60), |v| {
        v["event"] == "shards" && v["owned"].as_array().is_some_and(|o| o.len() == SHARDS as usize)
    });
    let takeover = took_over.saturating_duration_since(killed_at);
    eprintln!("takeover after SIGKILL: {} ms (lease TTL 3 s)", takeover.as_millis());

    // ... and completes the collection of the whole fleet.
    let reader = SqliteStore::open(&mdms_db).unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while !complete(&reader, &serials, started) {
        if Instant::now() >= deadline {
            let incomplete: Vec<(String, usize, Option<Timestamp>)> = serials
                .iter()
                .filter(|s| !complete(&reader, std::slice::from_ref(*s), started))
                .map(|s| {
                    let stored = reader
                        .interval_readings(
                            &MeterId(s.clone()),
                            ReadingType::ActiveEnergyImport,
                            floor_15(started) - SignedDuration::from_hours(49),
                            Timestamp::now() + SignedDuration::from_hours(1),
                        )
                        .unwrap_or_default();
                    (s.clone(), stored.len(), stored.last().map(|i| i.interval_end))
                })
                .collect();
            panic!(
                "the survivor did not complete the collection: {incomplete:?}; survivor jobs {:?}",
                hes[survivor].job_counts()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let report = hes[survivor].stop();
    assert_eq!(report["event"], "stopped");
    // Everything published is ingested before the checks.
    let published = c.drain();

    assert_collected_exactly_once(&mdms_db, &c.fleet, started);
    eprintln!(
        "killed HES owned shards {victim_shards:?} ({} meters); readings messages published {published}; survivor report {report}",
        victim_meters.len()
    );
    c.shut_down();
}

/// The third fault: NATS restarted during a collection. One HES process collects
/// 20 meters (one session at a time, 2-hour chunks) into the Readings stream; once a few
/// meters are done and several remain, nats-server is stopped for 5 s (longer than the 3 s
/// shard lease) and started again on the same port and store. Publications that fail while
/// it is down fail their sessions, which the scheduler retries from the catch-up position;
/// the shard leases are renewed or taken again. The collection completes and every
/// interval lands exactly once.
#[test]
fn nats_restarted_mid_collection_the_hes_resumes_and_stores_every_interval_once() {
    let _serial = one_at_a_time();
    const METERS: usize = 20;
    let mut nats = NatsServer::start();
    let mut c = Collection::start(&nats, METERS, 500);
    let (serials, dir, mdms_db) = (c.serials.clone(), c.dir.path().to_path_buf(), c.mdms_db.clone());
    import_registry(&dir.join("hes-a.db"), &c.csv, METERS);
    let config = write_config(&dir, "hes-a", &nats.url(), &mdms_db, None, "0");

    let started = Timestamp::now();
    let mut hes = Hes::start(
        &config,
        &dir.join("hes-a.db"),
        &dir.join("hes-a-commands.db"),
        &["--max-sessions", "1", "--chunk-hours", "2"],
    );
    hes.wait_for("every shard owned", Duration::from_secs(60), |v| {
        v["event"] == "shards" && v["owned"].as_array().is_some_and(|o| o.len() == SHARDS as usize)
    });
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let c = hes.job_counts();
        if c.get("succeeded").copied().unwrap_or(0) >= 3
            && c.get("queued").copied().unwrap_or(0) + c.get("running").copied().unwrap_or(0) >= 5
        {
            break;
        }
        assert!(Instant::now() < deadline, "no progress: {c:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Down for longer than the shard lease (3 s): leases lapse and publications time out.
    nats.stop();
    std::thread::sleep(Duration::from_secs(5));
    nats.restart();
    let after = hes.job_counts();
    assert!(
        after.get("queued").copied().unwrap_or(0) + after.get("running").copied().unwrap_or(0) > 0,
        "restarted mid-collection: {after:?}"
    );

    let reader = SqliteStore::open(&mdms_db).unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while !complete(&reader, &serials, started) {
        if Instant::now() >= deadline {
            let published = c.rt.block_on(c.bus.stream_messages(MessageKind::Readings));
            panic!(
                "the collection did not complete after the restart: jobs {:?}, readings in the stream {published:?}, \
                 ingested and acknowledged {}",
                hes.job_counts(),
                c.acked.load(Ordering::Acquire)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let report = hes.stop();
    assert_eq!(report["event"], "stopped");
    let published = c.drain();

    assert_collected_exactly_once(&mdms_db, &c.fleet, started);
    eprintln!("NATS restarted at jobs {after:?}; readings messages published {published}; report {report}");
    c.shut_down();
}

/// Checks the MDMS store at `mdms_db` after a collection that started at `started`: every
/// meter of `fleet` has its two days of intervals up to the current one, each exactly once
/// (no gap, no revision), with the meter's own values, four channels each, and billing
/// registers.
fn assert_collected_exactly_once(mdms_db: &Path, fleet: &Fleet, started: Timestamp) {
    let store = SqliteStore::open(mdms_db).unwrap();
    let summary = store.summary().unwrap();
    assert_eq!(summary.interval_revisions, 0, "no interval was stored twice with another value");
    let floor_start = floor_15(started);
    let mut intervals = 0u64;
    for m in fleet.meters() {
        let id = MeterId(m.serial.clone());
        let stored = store
            .interval_readings(
                &id,
                ReadingType::ActiveEnergyImport,
                floor_start - SignedDuration::from_hours(24 * 3),
                Timestamp::now() + SignedDuration::from_hours(1),
            )
            .unwrap();
        let ends: Vec<Timestamp> = stored.iter().map(|s| s.interval_end).collect();
        assert_eq!(ends.iter().collect::<HashSet<_>>().len(), ends.len(), "{}: an interval twice", m.serial);
        assert!(
            ends.windows(2).all(|w| w[1].duration_since(w[0]) == SignedDuration::from_secs(900)),
            "{}: a gap",
            m.serial
        );
        let oldest_expected = floor_start - SignedDuration::from_hours(48);
        assert!(
            ends[0] >= oldest_expected && ends[0] <= oldest_expected + SignedDuration::from_mins(30),
            "{}: starts {}",
            m.serial,
            ends[0]
        );
        assert!(*ends.last().unwrap() >= floor_start - SignedDuration::from_secs(900), "{}", m.serial);
        assert!(stored.iter().all(|s| s.version == 1), "{}: a revised interval", m.serial);
        let meter = m.meter.lock().unwrap();
        let epoch = meter.profile_window(Timestamp::now()).epoch_ms;
        for s in stored.iter().step_by(13) {
            let j = ((s.interval_end.as_millisecond() - epoch) / 900_000) as u64;
            let entry = meter.profile_entries(j, j);
            assert_eq!(s.value, (entry[0].registers.active_import_wh % (1 << 32)) as f64, "{}", m.serial);
        }
        intervals += ends.len() as u64;
        let billing = store
            .register_reads(
                &id,
                ReadingType::ActiveEnergyImport,
                floor_start - SignedDuration::from_hours(1),
                Timestamp::now() + SignedDuration::from_hours(1),
            )
            .unwrap();
        assert!(!billing.is_empty(), "{}: billing registers read", m.serial);
    }
    // Four profile channels per interval; nothing else in the store.
    assert_eq!(summary.interval_rows, intervals * 4);
    assert!(intervals >= fleet.meters().len() as u64 * 192);
}

/// A storage KEK file (64 hex digits, mode 0600) in its own directory.
fn kek_file(dir: &Path) -> PathBuf {
    let path = dir.join("kek.hex");
    std::fs::write(&path, "42".repeat(32)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// Collects messages of `kind` (durable consumer `name`) until `done` holds for what was
/// collected, or 120 s passed (a failure guard: the caller checks `done` again).
async fn collect_until<T: serde::de::DeserializeOwned>(
    bus: &JetStreamBus,
    kind: MessageKind,
    name: &str,
    done: impl Fn(&[T]) -> bool,
) -> Vec<T> {
    let mut subscriber = bus.subscriber(kind, name).await.unwrap();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !done(&seen) && Instant::now() < deadline {
        for delivery in subscriber.fetch(64, Duration::from_millis(200)).await.unwrap() {
            seen.push(delivery.message().decode::<T>().unwrap());
            delivery.ack().await.unwrap();
        }
    }
    seen
}

#[test]
fn bus_commands_reach_the_owning_hes_once_and_pushed_last_gasps_become_events() {
    let _serial = one_at_a_time();
    use meter::push::SendDestinationAndMethod;
    use meter::scenario::{GridTopology, PushResult, Scenario, ScenarioClock, ScenarioDelivery, run_scenario};

    const METERS: usize = 6;
    let nats = NatsServer::start();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let fleet = rt
        .block_on(Fleet::start(
            METERS,
            [127, 0, 0, 1].into(),
            500,
            MeterConfig::default(),
            MeterServerConfig::default(),
        ))
        .unwrap();
    let serials: Vec<String> = fleet.meters().iter().map(|m| m.serial.clone()).collect();
    let dir = tempfile::tempdir().unwrap();
    let secrets = tempfile::tempdir().unwrap();
    let kek = kek_file(secrets.path());
    // Management client with LLS (commands need it); the password in each key store.
    let csv = dir.path().join("fleet.csv");
    let mut text = String::from("serial,host,port,authentication,time_zone\n");
    for m in fleet.meters() {
        text.push_str(&format!("{},127.0.0.1,{},low,UTC\n", m.serial, m.address.port()));
    }
    std::fs::write(&csv, text).unwrap();
    let mdms_db = dir.path().join("mdms.db");
    let mut hes = Vec::new();
    for (name, push) in [("hes-a", "127.0.0.1:0"), ("hes-b", "0")] {
        let db = dir.path().join(format!("{name}.db"));
        import_registry(&db, &csv, METERS);
        let keys = hes::key_store::KeyStore::open(&db, hes::key_store::StorageKek::new([0x42; 32])).unwrap();
        for serial in &serials {
            keys.set_lls_password(serial, &hes::key_store::LlsPassword::new(b"00000000".to_vec())).unwrap();
        }
        drop(keys);
        let config = write_config_ttl(dir.path(), name, &nats.url(), &mdms_db, Some(&kek), push, 15);
        hes.push(Hes::start(&config, &db, &dir.path().join(format!("{name}-commands.db")), &[]));
    }
    let started = hes[0].wait_for("the started line", Duration::from_secs(60), |v| v["event"] == "started");
    let push_address = hes[0]
        .seen
        .iter()
        .find(|(t, _)| *t == started)
        .map(|(_, v)| v["push"]["tcp"].as_str().unwrap().to_string())
        .unwrap();
    for h in hes.iter_mut() {
        h.wait_for("owned shards", Duration::from_secs(60), |v| {
            v["event"] == "shards" && v["owned"].as_array().is_some_and(|o| !o.is_empty())
        });
    }
    let bus = rt.block_on(JetStreamBus::connect(jetstream(&nats))).unwrap();

    // --- A disconnect through the bus.
    let target = serials[0].clone();
    let owner = (0..2).find(|&i| hes[i].owned().contains(&shard_of(&target, SHARDS))).expect("an owner");
    let command = CommandEnvelope {
        command_id: "cmd-disconnect-1".to_string(),
        meter: target.clone(),
        issued_by: "operator".to_string(),
        issued_at: Timestamp::now(),
        request: serde_json::json!({"command": "disconnect"}),
    };
    let message = command.to_message(SHARDS).unwrap();
    rt.block_on(bus.publisher().publish(message.clone())).unwrap();
    let results: Vec<CommandResultEnvelope> = rt.block_on(collect_until(
        &bus,
        MessageKind::CommandResults,
        "test-results",
        |seen: &[CommandResultEnvelope]| seen.iter().any(|r| r.state.is_final()),
    ));
    for h in hes.iter_mut() {
        h.drain();
    }
    assert!(
        results.iter().any(|r| r.state.is_final()),
        "no final result: {results:?}; HES lines: {:?} {:?}",
        hes[0].seen,
        hes[1].seen
    );
    let states: Vec<CommandResultState> = results.iter().map(|r| r.state).collect();
    assert!(results.iter().all(|r| r.command_id == command.command_id && r.meter == target), "{results:?}");
    assert_eq!(states.last(), Some(&CommandResultState::Confirmed), "{results:?}");
    assert!(states.contains(&CommandResultState::Sent), "{results:?}");
    let confirmed = results.last().unwrap();
    assert_eq!(confirmed.detail["control_state"], "disconnected", "{confirmed:?}");
    {
        let meter = fleet.meters()[0].meter.lock().unwrap();
        assert!(!meter.disconnect_control().output_state(), "the meter's relay is open");
    }
    hes[owner].wait_for("the command line", Duration::from_secs(30), |v| {
        v["event"] == "command" && v["command_id"] == command.command_id && v["outcome"] == "confirmed"
    });
    let records = |h: &Hes| {
        hes::commands::CommandStore::open(&h.commands_db)
            .unwrap()
            .list(&hes::commands::CommandFilter { meter: Some(target.clone()), ..Default::default() })
            .unwrap()
    };
    assert_eq!(records(&hes[owner]).len(), 1);
    assert!(records(&hes[1 - owner]).is_empty(), "only the owner carries the command out");

    // The same command delivered again (another message id, so JetStream stores it): not
    // carried out a second time, its final state published again.
    let again = BusMessage { id: format!("{}/again", message.id), ..message };
    rt.block_on(bus.publisher().publish(again)).unwrap();
    hes[owner].wait_for("the duplicate recognised", Duration::from_secs(60), |v| {
        v["event"] == "command" && v["command_id"] == command.command_id && v["outcome"] == "duplicate"
    });
    let stored = records(&hes[owner]);
    assert_eq!(stored.len(), 1, "carried out once: {stored:?}");
    assert_eq!(stored[0].state, hes::commands::CommandState::Confirmed);

    // --- A last gasp: TX01's meters lose supply and push to HES A over TCP.
    let grid = GridTopology::evenly(&serials, 3, 1);
    let tx01: BTreeSet<String> = grid.meters_of_transformer("TX01").into_iter().map(str::to_string).collect();
    assert!(!tx01.is_empty());
    for m in fleet.meters() {
        let mut meter = m.meter.lock().unwrap();
        meter.alarms_mut().push_setup_mut().send_destination_and_method = SendDestinationAndMethod::tcp(&push_address);
    }
    let scenario =
        Scenario::new("last gasp").transformer_outage(SignedDuration::ZERO, "TX01", SignedDuration::from_mins(1));
    let clock = ScenarioClock::new(Timestamp::now(), 60.0).unwrap();
    let report =
        rt.block_on(run_scenario(&scenario, fleet.meters(), &grid, &clock, &ScenarioDelivery::default())).unwrap();
    assert!(report.failures().is_empty(), "{:?}", report.failures());
    assert!(report.outcomes.iter().any(|o| matches!(o.result, PushResult::Delivered { .. })));
    let events: Vec<EndDeviceEvent> =
        rt.block_on(collect_until(&bus, MessageKind::Events, "test-events", |seen: &[EndDeviceEvent]| {
            tx01.iter().all(|s| seen.iter().any(|e| &e.meter.0 == s && e.event_type.to_string() == "3.26.0.47"))
        }));
    for h in hes.iter_mut() {
        h.drain();
    }
    for serial in &tx01 {
        let gasp = events.iter().find(|e| &e.meter.0 == serial && e.event_type.to_string() == "3.26.0.47").unwrap();
        assert_eq!(gasp.event_type, model::EndDeviceEventType::POWER_DOWN);
        assert_eq!(gasp.source, EndDeviceEvent::SOURCE_PUSH);
    }
    assert!(events.iter().all(|e| tx01.contains(&e.meter.0)), "only TX01's meters pushed: {events:?}");
    for h in hes.iter_mut() {
        assert_eq!(h.stop()["event"], "stopped");
    }
    rt.block_on(fleet.shutdown());
}
