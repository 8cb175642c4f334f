//! Codec benchmarks (criterion): encode and decode of the load-profile get-response our
//! meter sends, plain, in datablocks, suite-0 ciphered and in HDLC I-frames, plus a
//! single AES-GCM frame. The workloads are [`dlms::bench_fixtures`] — the same ones
//! `gridedge bench codec` times — so the two report comparable figures.
//!
//! ```sh
//! cargo bench -p dlms --bench codec                 # every case, 96 and 2,880 rows
//! cargo bench -p dlms --bench codec -- plain-normal # a filter, as for any criterion bench
//! GRIDEDGE_BENCH_ROWS=96 cargo bench -p dlms --bench codec
//! ```
//!
//! Throughput is reported as APDUs/s (elements) and MB/s of plain APDU bytes (see
//! [`dlms::bench_fixtures::CodecCase::apdu_bytes`]). Method and figures:
//! docs/PERFORMANCE.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dlms::bench_fixtures::{
    CodecCase, FixtureError, ProfileFixture, ROWS_30_DAYS, ROWS_PER_DAY, aes_gcm_cases, profile_cases,
};

/// Profile sizes to run: `GRIDEDGE_BENCH_ROWS` (comma-separated) or 96 and 2,880.
fn row_counts() -> Vec<usize> {
    match std::env::var("GRIDEDGE_BENCH_ROWS") {
        Ok(s) => s.split(',').filter_map(|r| r.trim().parse().ok()).collect(),
        Err(_) => vec![ROWS_PER_DAY, ROWS_30_DAYS],
    }
}

fn all_cases() -> Result<Vec<CodecCase>, FixtureError> {
    let mut cases = Vec::new();
    for rows in row_counts() {
        cases.extend(profile_cases(&ProfileFixture::new(rows)?)?);
    }
    cases.extend(aes_gcm_cases()?);
    Ok(cases)
}

fn codec(c: &mut Criterion) {
    let cases = match all_cases() {
        Ok(cases) => cases,
        Err(e) => panic!("building the benchmark fixtures failed: {e}"),
    };
    // Group by form so criterion's report reads "plain-normal/decode/96".
    let mut forms: Vec<&'static str> = cases.iter().map(|c| c.form).collect();
    forms.dedup();
    let mut cases: Vec<Option<CodecCase>> = cases.into_iter().map(Some).collect();
    for form in forms {
        let mut group = c.benchmark_group(form);
        for slot in cases.iter_mut().filter(|s| s.as_ref().is_some_and(|c| c.form == form)) {
            let Some(mut case) = slot.take() else { continue };
            group.throughput(Throughput::ElementsAndBytes {
                elements: case.apdus as u64,
                bytes: case.apdu_bytes as u64,
            });
            group.bench_function(BenchmarkId::new(case.operation, case.size), |b| {
                b.iter(|| match case.run() {
                    Ok(n) => black_box(n),
                    Err(e) => panic!("{}: {e}", case.id()),
                })
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    targets = codec
}
criterion_main!(benches);
