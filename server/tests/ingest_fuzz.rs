//! Fuzzing the readers with proptest: arbitrary bytes read as every format, CSV-like
//! and log-like text, and damaged copies of every sample file. Nothing may panic or
//! hang, and memory stays bounded by small limits.
//!
//! Bounded for the normal test run (a few seconds). For a longer run:
//! `PROPTEST_CASES=20000 cargo test --test ingest_fuzz` (about 10 minutes; see
//! `fixtures/formats/README.md`).

use std::time::{Duration, Instant};

use proptest::prelude::*;
use server::ingest::samples;
use server::ingest::{Format, Limits, Mapping, ingest};
use server::isolated;

fn config(default_cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Small bounds, so that no input can take much memory or time.
fn limits() -> Limits {
    Limits {
        max_bytes: 1 << 20,
        max_rows: 10_000,
        max_runs: 100,
        max_line_bytes: 64 * 1024,
        max_files: 20,
        max_json_bytes: 1 << 20,
        ..Limits::default()
    }
}

/// Reads the bytes and checks the answer is in time and says where when it fails.
/// Reads as the server does: Parquet and archives in a child process (see `isolated.rs`).
fn read_is_safe(name: &str, bytes: &[u8], mapping: &Mapping) {
    let start = Instant::now();
    let result = isolated::ingest(name, bytes, mapping, &limits());
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{name}: took {:?}",
        start.elapsed()
    );
    match result {
        Ok(file) => {
            assert!(!file.runs.is_empty());
            for run in &file.runs {
                for series in run.series.values() {
                    assert_eq!(series.steps.len(), series.values.len());
                    assert!(
                        series.steps.windows(2).all(|w| w[0] < w[1]),
                        "steps sorted and unique"
                    );
                    assert!(
                        series.values.iter().all(|v| v.is_finite()),
                        "non-finite values are left out"
                    );
                }
            }
        }
        Err(e) => {
            assert!(!e.message.is_empty() && !e.file.is_empty(), "{e:?}");
            // Readers turn a panic into this error; the fuzzer must never see one.
            assert!(
                !e.message.contains("a bug; please report it"),
                "{name}: {e}"
            );
        }
    }
}

fn forced(format: Format) -> Mapping {
    Mapping {
        format: Some(format.name().into()),
        ..Mapping::default()
    }
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn arbitrary_bytes_in_every_format(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        read_is_safe("fuzz.bin", &bytes, &Mapping::default());
        for format in Format::ALL {
            read_is_safe("fuzz.bin", &bytes, &forced(format));
        }
    }

    #[test]
    fn csv_like_text(text in "[a-z_,\"\\t\\n0-9.eE+\\-]{0,400}") {
        read_is_safe("fuzz.csv", text.as_bytes(), &Mapping::default());
        read_is_safe("fuzz.csv", format!("step,loss,run\n{text}").as_bytes(), &Mapping::default());
    }

    #[test]
    fn log_like_text(text in "(iter|step|loss|lr|lm loss|val loss|iteration|global_step|[ :=|,/\\n]|[0-9.eE+\\-]|nan|\u{1b}\\[3[0-9]m){0,120}") {
        read_is_safe("fuzz.log", text.as_bytes(), &Mapping::default());
        read_is_safe("fuzz.log", text.as_bytes(), &forced(Format::Log));
    }

    #[test]
    fn json_like_text(text in "[\\[\\]{}\",:0-9a-z_. \\n]{0,300}") {
        read_is_safe("fuzz.json", text.as_bytes(), &forced(Format::Json));
        read_is_safe("fuzz.json", text.as_bytes(), &forced(Format::Ndjson));
    }
}

proptest! {
    #![proptest_config(config(64))]

    /// Damaged sample files: bytes changed, inserted or cut off.
    #[test]
    fn damaged_sample_files(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 0..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let all = samples::all().unwrap();
        let sample = &all[which.index(all.len())];
        let mut bytes = sample.bytes.clone();
        for (at, byte, kind) in edits {
            if bytes.is_empty() { break; }
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ => { bytes.remove(i); }
            }
        }
        if truncate && !bytes.is_empty() {
            bytes.truncate(cut.index(bytes.len()));
        }
        read_is_safe(sample.name, &bytes, &Mapping::default());
    }
}

#[test]
fn the_undamaged_samples_read_with_the_fuzz_limits() {
    for sample in samples::all().unwrap() {
        let file = ingest(sample.name, &sample.bytes, &limits());
        assert!(file.is_ok(), "{}: {:?}", sample.name, file.err());
    }
}

/// Found by the fuzzer: one changed byte in a Parquet footer made polars panic (now
/// caught and reported as corrupt metadata). Every byte of the footer is changed in turn.
#[test]
fn parquet_with_a_changed_footer_byte_is_a_clean_error() {
    let all = samples::all().unwrap();
    let parquet = &all.iter().find(|s| s.name == "long.parquet").unwrap().bytes;
    let metadata_len = u32::from_le_bytes(
        parquet[parquet.len() - 8..parquet.len() - 4]
            .try_into()
            .unwrap(),
    ) as usize;
    for i in parquet.len() - 8 - metadata_len..parquet.len() {
        let mut bytes = parquet.clone();
        bytes[i] = b'1';
        read_is_safe("long.parquet", &bytes, &Mapping::default());
    }
}

/// polars-parquet 0.55 aborts its process (a 2^61-byte reservation, not a panic) when a
/// data page's definition levels are damaged, e.g. byte 56 of `long.parquet` set to b'1'.
/// Read in a child process, every such file is a clean error. Every 4th byte of the data
/// pages is changed in turn (one child process each, so not every byte).
#[test]
fn parquet_with_a_damaged_data_page_is_a_clean_error() {
    let all = samples::all().unwrap();
    let parquet = &all.iter().find(|s| s.name == "long.parquet").unwrap().bytes;
    let mut bytes = parquet.clone();
    bytes[56] = b'1';
    let err = isolated::ingest("long.parquet", &bytes, &Mapping::default(), &limits())
        .expect_err("the reader aborts on this page");
    assert!(err.message.contains("probably damaged"), "{err}");
    for i in (4..parquet.len().min(400)).step_by(4) {
        let mut bytes = parquet.clone();
        bytes[i] = b'1';
        read_is_safe("long.parquet", &bytes, &Mapping::default());
    }
}
