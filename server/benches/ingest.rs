//! Ingestion speed and memory on a large CSV: 1,000,000 rows of 10 runs (`run, step,
//! loss, lr`, about 40 MB), the size of a long training log export.
//!
//! Run with `cargo bench --bench ingest` (release build). It prints the file size, the
//! time of each read (target: under 2 s) and the peak heap in use during a read,
//! counting the file's own bytes (target: under 4x the file size), and exits non-zero
//! when a target is missed. `BENCH_POLARS=` (empty, or `default`, `rechunk`,
//! `low_memory`) measures a bare polars read of the same file instead, for comparison.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use server::ingest::{Limits, ingest};

/// The system allocator, counting bytes in use and their peak.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            if new_size > layout.size() {
                let now = IN_USE.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size
                    - layout.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                IN_USE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const ROWS: usize = 1_000_000;
const RUNS: usize = 10;

/// A long CSV: each run's rows in step order, runs one after another.
fn make_csv() -> Vec<u8> {
    let per_run = ROWS / RUNS;
    let mut out = String::with_capacity(ROWS * 42);
    out.push_str("run,step,loss,lr\n");
    for r in 0..RUNS {
        for i in 0..per_run {
            let step = i as f64;
            let loss = 2.0
                + 8.0 * (1.0 + step / 100.0).powf(-0.5)
                + 0.01 * ((i * 7919 % 1000) as f64 / 1000.0);
            let lr = 3e-4 * 0.5 * (1.0 + (std::f64::consts::PI * step / per_run as f64).cos());
            out.push_str(&format!("run-{r:02},{i},{loss:.8},{lr:.8e}\n"));
        }
    }
    out.into_bytes()
}

fn main() {
    let baseline = IN_USE.load(Ordering::Relaxed);
    let bytes = make_csv();
    let size = bytes.len();
    println!(
        "file: {ROWS} rows, {RUNS} runs, {:.1} MB",
        size as f64 / 1e6
    );
    if let Ok(mode) = std::env::var("BENCH_POLARS") {
        use polars::prelude::*;
        for (label, low, rechunk) in [
            ("default", false, false),
            ("rechunk", false, true),
            ("low_memory", true, false),
            ("low+rechunk", true, true),
        ] {
            if !mode.is_empty() && mode != label {
                continue;
            }
            PEAK.store(IN_USE.load(Ordering::Relaxed), Ordering::Relaxed);
            let start = Instant::now();
            let mut schema = Schema::default();
            for (n, t) in [
                ("run", DataType::String),
                ("step", DataType::Float64),
                ("loss", DataType::Float64),
                ("lr", DataType::Float64),
            ] {
                schema.with_column(n.into(), t);
            }
            let df = CsvReadOptions::default()
                .with_has_header(true)
                .with_low_memory(low)
                .with_rechunk(rechunk)
                .with_schema_overwrite(Some(std::sync::Arc::new(schema)))
                .with_infer_schema_length(Some(0))
                .into_reader_with_file_handle(std::io::Cursor::new(bytes.as_slice()))
                .finish()
                .unwrap();
            let peak = PEAK.load(Ordering::Relaxed) - baseline;
            println!(
                "polars {label}: {:.3}s chunks {} held {:.1} MB peak {:.1} MB",
                start.elapsed().as_secs_f64(),
                df.column("loss")
                    .unwrap()
                    .as_materialized_series()
                    .n_chunks(),
                (IN_USE.load(Ordering::Relaxed) - baseline) as f64 / 1e6,
                peak as f64 / 1e6
            );
            drop(df);
        }
        return;
    }
    let mut times = Vec::new();
    let mut peaks = Vec::new();
    for round in 0..3 {
        PEAK.store(IN_USE.load(Ordering::Relaxed), Ordering::Relaxed);
        let start = Instant::now();
        let file = ingest("bench.csv", &bytes, &Limits::default()).expect("the bench file reads");
        let elapsed = start.elapsed().as_secs_f64();
        let points: usize = file.runs.iter().map(|r| r.series["loss"].steps.len()).sum();
        assert_eq!((file.runs.len(), points), (RUNS, ROWS));
        drop(file);
        // Peak heap in use during the read, counting the file's bytes themselves.
        let peak = PEAK.load(Ordering::Relaxed) - baseline;
        println!(
            "read {}: {elapsed:.3} s, peak heap {:.1} MB = {:.2}x the file",
            round + 1,
            peak as f64 / 1e6,
            peak as f64 / size as f64
        );
        times.push(elapsed);
        peaks.push(peak as f64 / size as f64);
    }
    let best = times.iter().copied().fold(f64::INFINITY, f64::min);
    let worst_peak = peaks.iter().copied().fold(0.0, f64::max);
    let ok = best < 2.0 && worst_peak < 4.0;
    println!(
        "{}: best {best:.3} s (target < 2 s), peak {worst_peak:.2}x the file size (target < 4x)",
        if ok { "PASS" } else { "FAIL" }
    );
    if !ok {
        std::process::exit(1);
    }
}
