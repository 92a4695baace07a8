//! Times the multi-power law's fast evaluation (value + full 7-parameter Jacobian) against
//! the direct O(n T) sum: 1,000 evaluation points of a 100,000-step cosine schedule, and a
//! WSD schedule for comparison. Run with `cargo bench -p shared` (release build).
//!
//! Prints the median (and fastest) time of each method and the largest relative difference
//! of the values and of every Jacobian column between the two. On a shared machine the
//! fastest run is the better estimate of the uncontended cost.

use shared::laws::Law;
use shared::laws::multipower::{MplConvention, MultiPowerLaw};
use shared::schedule::{DecayShape, Schedule};
use std::hint::black_box;
use std::time::{Duration, Instant};

const PARAMS: [f64; 7] = [
    2.6514477,
    0.60115152,
    0.45295811,
    437.9464276,
    2.13245612,
    0.59785199,
    0.65523644,
];

/// (median, fastest) wall time of `reps` runs.
fn timings(reps: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..reps)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed()
        })
        .collect();
    times.sort();
    (times[reps / 2], times[0])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn bench(label: &str, schedule: &Schedule, n_points: usize) {
    let total = schedule.total() as usize;
    let steps: Vec<usize> = (1..=n_points).map(|i| i * (total - 1) / n_points).collect();
    let law =
        MultiPowerLaw::new(&schedule.to_array(), &steps, MplConvention::AuthorsCode).expect("law");
    let (n, np) = (law.n_points(), law.n_params());
    let (mut out, mut jac) = (vec![0.0; n], vec![0.0; n * np]);
    let (mut out_ref, mut jac_ref) = (vec![0.0; n], vec![0.0; n * np]);

    let fast = timings(41, || {
        law.eval(black_box(&PARAMS), &mut out, Some(&mut jac))
            .expect("fast");
    });
    let fast_value = timings(41, || {
        law.eval(black_box(&PARAMS), &mut out_ref, None)
            .expect("fast value");
    });
    let naive = timings(3, || {
        law.eval_naive(black_box(&PARAMS), &mut out_ref, Some(&mut jac_ref))
            .expect("naive");
    });

    let rel = |a: f64, b: f64| (a - b).abs() / b.abs().max(1e-300);
    let value_err = out
        .iter()
        .zip(&out_ref)
        .map(|(a, b)| rel(*a, *b))
        .fold(0.0, f64::max);
    // Loss-drop part alone (the only approximated term): LD = L0 + A S1^-alpha - L.
    let ld_err = (0..n)
        .map(|i| {
            let base = PARAMS[0] + PARAMS[1] * law.lr_area()[i].powf(-PARAMS[2]);
            let (ld, ld_ref) = (base - out[i], base - out_ref[i]);
            if ld_ref.abs() > 1e-12 {
                rel(ld, ld_ref)
            } else {
                0.0
            }
        })
        .fold(0.0, f64::max);
    let col_err: Vec<f64> = (0..np)
        .map(|j| {
            let scale = (0..n)
                .map(|i| jac_ref[i * np + j].abs())
                .fold(0.0, f64::max);
            (0..n)
                .map(|i| (jac[i * np + j] - jac_ref[i * np + j]).abs() / scale)
                .fold(0.0, f64::max)
        })
        .collect();
    println!(
        "{label}: {n} points, {total} steps, {} nonzero drops",
        law.n_sources()
    );
    let line = |what: &str, (median, min): (Duration, Duration)| {
        println!(
            "  {what}: median {:>9.3} ms   fastest {:>9.3} ms",
            ms(median),
            ms(min)
        );
    };
    line("fast  value+jacobian", fast);
    line("fast  value only    ", fast_value);
    line("naive value+jacobian", naive);
    println!(
        "  speed-up (medians)  : {:>9.1} x",
        ms(naive.0) / ms(fast.0)
    );
    println!("  max rel. error: loss {value_err:.2e}, loss-drop term {ld_err:.2e}");
    println!(
        "  max error per Jacobian column (relative to the column's largest entry): {}",
        col_err
            .iter()
            .map(|e| format!("{e:.1e}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
}

fn main() {
    let cosine = Schedule::Cosine {
        peak: 3e-4,
        final_lr: 3e-5,
        warmup: 2000,
        ramp: Default::default(),
        total: 100_000,
    };
    bench("cosine", &cosine, 1000);
    let wsd = Schedule::Wsd {
        peak: 3e-4,
        final_lr: 3e-5,
        warmup: 2000,
        ramp: Default::default(),
        total: 100_000,
        decay: Some(0.2),
        decay_start: None,
        shape: DecayShape::Sqrt,
    };
    bench("wsd 1-sqrt, last 20%", &wsd, 1000);
}
