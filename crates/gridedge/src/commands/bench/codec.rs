//! `gridedge bench codec` times the DLMS/COSEM codec on the load-profile responses our
//! meter sends ([`dlms::bench_fixtures`]: the cases `cargo bench -p dlms --bench codec`
//! runs too): get-response-normal encode/decode, datablock encode/decode, suite-0
//! protect and unprotect+decode (glo-get-response, general-glo-ciphering, ciphered
//! blocks), HDLC segmentation and reassembly, one AES-GCM frame. Each case runs for
//! `--seconds` (wall clock, [`Instant`]) in batches. The time per run is the on-CPU
//! time of the measuring thread over the whole measurement divided by the runs (Linux
//! `/proc/thread-self/schedstat`, whose value lags by up to one scheduler tick, hence
//! the total, not per batch), so other processes competing for the cores do not inflate
//! it; the median over batches of the wall-clock time per run is reported beside it,
//! and used instead where schedstat is missing. It reports MB/s of plain APDU bytes
//! (10^6 bytes) and APDUs/s from the time per run, and the process's peak RSS.
//!
//! When a Python with gurux-dlms and dlms-cosem is found (`--python`, else
//! `$GRIDEDGE_PYTHON`, else `.venv/bin/python` of the workspace), the same bytes are
//! written as hex files and tests/interop/bench_decode.py times the decodes with both
//! libraries in the same run; the report gives each Python time and its ratio to
//! gridedge's. Method and figures: docs/PERFORMANCE.md.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use dlms::bench_fixtures::{
    AUTHENTICATION_KEY, CLIENT_SYSTEM_TITLE, CodecCase, ENCRYPTION_KEY, HDLC_CLIENT_SAP, HDLC_SERVER_ADDRESS,
    ProfileFixture, SERVER_SYSTEM_TITLE, aes_gcm_cases, profile_cases, profile_rows,
};
use serde_json::{Value, json};

use super::resources::{peak_rss_bytes, thread_cpu_ns};
use crate::commands::json::hex;

/// Arguments of `gridedge bench codec`.
#[derive(Args)]
pub struct CodecArgs {
    /// Load-profile sizes in rows (15-minute intervals): 96 = one day, 2880 = 30 days.
    #[arg(long, value_delimiter = ',', default_values_t = [96usize, 2880])]
    pub rows: Vec<usize>,
    /// Measuring time per case, seconds (after a short warm-up); the Python decoders
    /// get the same time per case.
    #[arg(long, default_value_t = 1.0)]
    pub seconds: f64,
    /// Print one JSON document instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Python with gurux-dlms and dlms-cosem for the comparison (default:
    /// `$GRIDEDGE_PYTHON`, else `.venv/bin/python` in the workspace; skipped when
    /// absent).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// Do not run the Python comparison.
    #[arg(long, conflicts_with = "python")]
    pub no_python: bool,
    /// Run only cases whose id (`form/size/operation`, e.g. `plain-normal/96/decode`)
    /// contains this text.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
}

/// The measurement of one case.
#[derive(Debug, Clone)]
struct Measured {
    id: String,
    form: &'static str,
    size: usize,
    operation: &'static str,
    apdus: usize,
    apdu_bytes: usize,
    runs: u64,
    /// Time per run, seconds, by `clock` (thread CPU: total / runs; wall: median of
    /// batches).
    seconds_per_run: f64,
    /// Median over batches of the wall-clock time per run, seconds.
    wall_seconds_per_run: f64,
    /// The clock of `seconds_per_run`: `thread-cpu` or `wall`.
    clock: &'static str,
}

impl Measured {
    fn mb_per_s(&self) -> f64 {
        self.apdu_bytes as f64 / self.seconds_per_run / 1e6
    }

    fn apdus_per_s(&self) -> f64 {
        self.apdus as f64 / self.seconds_per_run
    }

    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "form": self.form,
            "size": self.size,
            "operation": self.operation,
            "apdus": self.apdus,
            "apdu_bytes": self.apdu_bytes,
            "runs": self.runs,
            "seconds_per_run": self.seconds_per_run,
            "wall_seconds_per_run": self.wall_seconds_per_run,
            "clock": self.clock,
            "mb_per_s": self.mb_per_s(),
            "apdus_per_s": self.apdus_per_s(),
        })
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Times `case` for about `budget` of wall-clock time: a warm-up of a tenth of the
/// budget (at least one run) sizes batches of about 1/50 of the budget; the result is
/// the thread's CPU time over all batches per run (when available) and the median over
/// batches of the wall-clock time per run.
fn measure(case: &mut CodecCase, budget: Duration) -> anyhow::Result<Measured> {
    let id = case.id();
    let mut once = || -> anyhow::Result<()> {
        black_box(case.run().with_context(|| format!("case {id}"))?);
        Ok(())
    };
    let warm_up = budget / 10;
    let start = Instant::now();
    let mut warm_runs = 0u64;
    while warm_runs == 0 || start.elapsed() < warm_up {
        once()?;
        warm_runs += 1;
    }
    let per_run = start.elapsed().as_secs_f64() / warm_runs as f64;
    let batch = ((budget.as_secs_f64() / 50.0 / per_run.max(1e-9)) as u64).clamp(1, 1_000_000);
    let mut wall = Vec::new();
    let mut runs = 0u64;
    let cpu_start = thread_cpu_ns();
    let start = Instant::now();
    while wall.is_empty() || start.elapsed() < budget {
        let t = Instant::now();
        for _ in 0..batch {
            once()?;
        }
        wall.push(t.elapsed().as_secs_f64() / batch as f64);
        runs += batch;
    }
    let cpu = cpu_start.zip(thread_cpu_ns()).map(|(a, b)| b.saturating_sub(a));
    let wall_seconds_per_run = median(wall);
    let (seconds_per_run, clock) = match cpu {
        Some(ns) if ns > 0 => (ns as f64 * 1e-9 / runs as f64, "thread-cpu"),
        _ => (wall_seconds_per_run, "wall"),
    };
    Ok(Measured {
        id: case.id(),
        form: case.form,
        size: case.size,
        operation: case.operation,
        apdus: case.apdus,
        apdu_bytes: case.apdu_bytes,
        runs,
        seconds_per_run,
        wall_seconds_per_run,
        clock,
    })
}

/// Runs `gridedge bench codec`.
pub fn run(args: CodecArgs) -> anyhow::Result<ExitCode> {
    if !(args.seconds.is_finite() && args.seconds > 0.0) {
        bail!("--seconds must be a positive number of seconds");
    }
    let budget = Duration::from_secs_f64(args.seconds);
    let selected = |id: &str| args.filter.as_deref().is_none_or(|f| id.contains(f));
    let mut fixtures = Vec::new();
    let mut results = Vec::new();
    for &rows in &args.rows {
        let fixture = ProfileFixture::new(rows).with_context(|| format!("building the {rows}-row fixture"))?;
        for mut case in profile_cases(&fixture)? {
            if selected(&case.id()) {
                results.push(measure(&mut case, budget)?);
            }
        }
        fixtures.push(fixture);
    }
    for mut case in aes_gcm_cases()? {
        if selected(&case.id()) {
            results.push(measure(&mut case, budget)?);
        }
    }
    let peak_rss = peak_rss_bytes();

    let python = if args.no_python {
        PythonOutcome::Skipped("--no-python".into())
    } else {
        run_python(&args, &fixtures, &selected)?
    };

    let report = Report { seconds: args.seconds, results, peak_rss, python };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report.to_json())?);
    } else {
        print!("{}", report.to_text());
    }
    Ok(ExitCode::SUCCESS)
}

/// The Python comparison: skipped (with why) or the script's JSON.
enum PythonOutcome {
    Skipped(String),
    Ran(Value),
}

struct Report {
    seconds: f64,
    results: Vec<Measured>,
    peak_rss: Option<u64>,
    python: PythonOutcome,
}

/// The Python libraries compared, as named in the script's output.
const PYTHON_LIBRARIES: [&str; 2] = ["gurux-dlms", "dlms-cosem"];

impl Report {
    fn rust_seconds(&self, id: &str) -> Option<f64> {
        self.results.iter().find(|m| m.id == id).map(|m| m.seconds_per_run)
    }

    /// Python rows with the gridedge time and the ratio python / gridedge added.
    fn comparisons(&self) -> Vec<Value> {
        let PythonOutcome::Ran(py) = &self.python else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for r in py["results"].as_array().into_iter().flatten() {
            let id = r["id"].as_str().unwrap_or_default();
            let mut row = r.clone();
            if let (Some(rust), Some(python)) = (self.rust_seconds(id), r["seconds_per_run"].as_f64()) {
                row["gridedge_seconds_per_run"] = json!(rust);
                row["ratio"] = json!(python / rust);
            }
            out.push(row);
        }
        out
    }

    fn to_json(&self) -> Value {
        let python = match &self.python {
            PythonOutcome::Skipped(why) => json!({ "skipped": why }),
            PythonOutcome::Ran(py) => json!({
                "python": py["python"],
                "libraries": py["libraries"],
                "comparisons": self.comparisons(),
            }),
        };
        json!({
            "benchmark": "codec",
            "machine": {
                "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
                "os": std::env::consts::OS,
                "arch": std::env::consts::ARCH,
                "debug_build": cfg!(debug_assertions),
            },
            "seconds_per_case": self.seconds,
            "mb": "10^6 bytes of plain APDU",
            "cases": self.results.iter().map(Measured::to_json).collect::<Vec<_>>(),
            "peak_rss_bytes": self.peak_rss,
            "python": python,
        })
    }

    fn to_text(&self) -> String {
        let mut s = String::new();
        if cfg!(debug_assertions) {
            let _ = writeln!(s, "note: debug build; use `cargo build --release` for meaningful figures\n");
        }
        let clock = self.results.first().map_or("wall", |m| m.clock);
        let _ = writeln!(s, "µs/run, MB/s and APDUs/s by {clock} time; MB = 10^6 APDU bytes");
        let _ = writeln!(
            s,
            "{:<40} {:>6} {:>10} {:>12} {:>10} {:>12} {:>12}",
            "case", "APDUs", "APDU bytes", "µs/run", "MB/s", "APDUs/s", "wall µs/run"
        );
        for m in &self.results {
            let _ = writeln!(
                s,
                "{:<40} {:>6} {:>10} {:>12.2} {:>10.1} {:>12.0} {:>12.2}",
                m.id,
                m.apdus,
                m.apdu_bytes,
                m.seconds_per_run * 1e6,
                m.mb_per_s(),
                m.apdus_per_s(),
                m.wall_seconds_per_run * 1e6
            );
        }
        match self.peak_rss {
            Some(b) => {
                let _ = writeln!(s, "\npeak RSS: {:.1} MiB", b as f64 / (1024.0 * 1024.0));
            }
            None => {
                let _ = writeln!(s, "\npeak RSS: not available on this platform");
            }
        }
        match &self.python {
            PythonOutcome::Skipped(why) => {
                let _ = writeln!(s, "Python comparison skipped: {why}");
            }
            PythonOutcome::Ran(py) => {
                let versions = PYTHON_LIBRARIES
                    .iter()
                    .map(|l| format!("{l} {}", py["libraries"][*l].as_str().unwrap_or("?")))
                    .collect::<Vec<_>>()
                    .join(", ");
                let _ = writeln!(
                    s,
                    "\nPython {} ({versions}): µs per decode and ratio to gridedge (× slower)",
                    py["python"].as_str().unwrap_or("?")
                );
                let _ = writeln!(s, "{:<40} {:>12} {:>22} {:>22}", "case", "gridedge", "gurux-dlms", "dlms-cosem");
                let comparisons = self.comparisons();
                let mut ids: Vec<&str> = comparisons.iter().filter_map(|c| c["id"].as_str()).collect();
                ids.dedup();
                for id in ids {
                    let rust = self.rust_seconds(id).map_or("-".to_string(), |t| format!("{:.1}", t * 1e6));
                    let cell = |lib: &str| {
                        let c = comparisons.iter().find(|c| c["id"] == id && c["library"] == lib);
                        match c {
                            None => "-".to_string(),
                            Some(c) => match (c["seconds_per_run"].as_f64(), c["ratio"].as_f64()) {
                                (Some(t), Some(r)) => format!("{:.1} ({r:.0}×)", t * 1e6),
                                (Some(t), None) => format!("{:.1}", t * 1e6),
                                _ => "n/a".to_string(),
                            },
                        }
                    };
                    let _ = writeln!(s, "{id:<40} {rust:>12} {:>22} {:>22}", cell("gurux-dlms"), cell("dlms-cosem"));
                }
                let errors: std::collections::BTreeSet<String> = comparisons
                    .iter()
                    .filter_map(|c| Some(format!("{}: {}", c["library"].as_str()?, c["error"].as_str()?)))
                    .collect();
                for e in errors {
                    let _ = writeln!(s, "n/a: {e}");
                }
            }
        }
        s
    }
}

/// The workspace root: the first ancestor of the current directory holding
/// tests/interop/bench_decode.py, else the source tree this binary was built from.
fn workspace_root() -> PathBuf {
    let marker = Path::new("tests/interop/bench_decode.py");
    if let Ok(cwd) = std::env::current_dir() {
        if let Some(found) = cwd.ancestors().find(|d| d.join(marker).is_file()) {
            return found.to_path_buf();
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn write_hex_lines(path: &Path, items: &[&[u8]]) -> anyhow::Result<()> {
    let text: String = items.iter().map(|b| format!("{}\n", hex(b))).collect();
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Writes the decode inputs and their manifest for bench_decode.py, runs it, returns
/// its JSON. A missing Python is a skip unless `--python` named it.
fn run_python(
    args: &CodecArgs,
    fixtures: &[ProfileFixture],
    selected: &dyn Fn(&str) -> bool,
) -> anyhow::Result<PythonOutcome> {
    let root = workspace_root();
    let script = root.join("tests/interop/bench_decode.py");
    let python = match (&args.python, std::env::var_os("GRIDEDGE_PYTHON")) {
        (Some(p), _) => p.clone(),
        (None, Some(p)) => PathBuf::from(p),
        (None, None) => root.join(".venv/bin/python"),
    };
    if !python.exists() {
        if args.python.is_some() {
            bail!("--python {}: no such file", python.display());
        }
        return Ok(PythonOutcome::Skipped(format!(
            "no Python at {} (run scripts/setup-python-venv.sh, or pass --python)",
            python.display()
        )));
    }
    if !script.is_file() {
        return Ok(PythonOutcome::Skipped(format!("{} not found", script.display())));
    }
    let dir = TempDir(std::env::temp_dir().join(format!("gridedge-bench-codec-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).with_context(|| format!("creating {}", dir.0.display()))?;
    let mut cases = Vec::new();
    for f in fixtures {
        let rows = profile_rows(f.rows)?;
        let check = json!({
            "rows": f.rows,
            "first_active_import_wh": rows.first().map(|r| r.active_import_wh),
            "last_active_import_wh": rows.last().map(|r| r.active_import_wh),
        });
        let n = f.rows;
        let mut add = |form: &str, operation: &str, items: Vec<&[u8]>| -> anyhow::Result<()> {
            let id = format!("{form}/{n}/{operation}");
            if !selected(&id) {
                return Ok(());
            }
            let file = format!("{form}-{n}.hex");
            write_hex_lines(&dir.0.join(&file), &items)?;
            cases.push(json!({ "id": id, "form": form, "file": file, "check": check }));
            Ok(())
        };
        add("plain-normal", "decode", vec![&f.normal_apdu])?;
        add("datablocks", "decode", f.blocks.iter().map(Vec::as_slice).collect())?;
        add("glo-normal", "unprotect+decode", vec![&f.glo_normal])?;
        add("general-glo", "unprotect+decode", vec![&f.general_normal])?;
        add("glo-datablocks", "unprotect+decode", f.glo_blocks.iter().map(Vec::as_slice).collect())?;
        if let Some(stream) = &f.hdlc_stream {
            add("hdlc", "parse+decode", vec![stream])?;
        }
    }
    if cases.is_empty() {
        return Ok(PythonOutcome::Skipped("no decode case selected".into()));
    }
    let manifest = json!({
        "seconds": args.seconds,
        "keys": {
            "encryption_key": hex(&ENCRYPTION_KEY),
            "authentication_key": hex(&AUTHENTICATION_KEY),
            "server_system_title": hex(&SERVER_SYSTEM_TITLE),
            "client_system_title": hex(&CLIENT_SYSTEM_TITLE),
        },
        "hdlc": {
            "client_sap": HDLC_CLIENT_SAP,
            "server_logical": HDLC_SERVER_ADDRESS.0,
            "server_physical": HDLC_SERVER_ADDRESS.1,
        },
        "cases": cases,
    });
    let manifest_path = dir.0.join("manifest.json");
    std::fs::write(&manifest_path, serde_json::to_vec_pretty(&manifest)?)?;
    let out = Command::new(&python)
        .arg(&script)
        .arg(&manifest_path)
        .output()
        .with_context(|| format!("running {} {}", python.display(), script.display()))?;
    if !out.status.success() {
        bail!("{} failed ({}): {}", script.display(), out.status, String::from_utf8_lossy(&out.stderr).trim());
    }
    let value: Value = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("{} printed no JSON: {}", script.display(), String::from_utf8_lossy(&out.stdout)))?;
    Ok(PythonOutcome::Ran(value))
}
