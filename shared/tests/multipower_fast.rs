//! The fast multi-power-law evaluation against the direct O(n T) sum.
//!
//! Checked per evaluation point: the loss within 1e-9 relative; the loss-drop sum (the
//! Jacobian's B column, `-sum d G`) within the documented bound
//! `tol * sum_k |drop_k|` (x10 for rounding) and within 1e-9 relative wherever it is not
//! dominated by cancellation; every Jacobian column within 1e-9 of its largest entry.

mod common;

use common::Rng;
use shared::laws::Law;
use shared::laws::multipower::{MplConvention, MultiPowerLaw};
use shared::schedule::{DecayShape, Schedule, WarmupRamp};

fn random_params(rng: &mut Rng) -> [f64; 7] {
    [
        rng.range(2.0, 4.0),
        rng.range(0.2, 1.0),
        rng.range(0.2, 0.8),
        rng.range(50.0, 1000.0),
        rng.log_range(0.05, 20.0),
        rng.range(0.1, 2.0),
        rng.range(0.0, 1.2),
    ]
}

/// Compares fast and naive; returns the worst relative loss-drop error seen.
fn compare(lrs: &[f64], steps: &[usize], conv: MplConvention, p: &[f64; 7], label: &str) -> f64 {
    let law = MultiPowerLaw::new(lrs, steps, conv).unwrap();
    let (n, np) = (law.n_points(), law.n_params());
    let (fast, jf) = law.predict_with_jacobian(p).unwrap();
    let (mut naive, mut jn) = (vec![0.0; n], vec![0.0; n * np]);
    law.eval_naive(p, &mut naive, Some(&mut jn)).unwrap();
    let mut worst_ld: f64 = 0.0;
    for i in 0..n {
        assert!(
            (fast[i] - naive[i]).abs() <= 1e-9 * naive[i].abs(),
            "{label} point {i}: {} vs {}",
            fast[i],
            naive[i]
        );
        let abs_drops: f64 = (1..=steps[i]).map(|k| (lrs[k - 1] - lrs[k]).abs()).sum();
        let (ld_f, ld_n) = (-jf[i * np + 3], -jn[i * np + 3]);
        let err = (ld_f - ld_n).abs();
        assert!(
            err <= 10.0 * law.tolerance() * abs_drops + 1e-300,
            "{label} point {i}: LD {ld_f:e} vs {ld_n:e}"
        );
        if ld_n.abs() > 1e-3 * abs_drops {
            worst_ld = worst_ld.max(err / ld_n.abs());
        }
    }
    for j in 0..np {
        let col_max = (0..n).map(|i| jn[i * np + j].abs()).fold(0.0, f64::max);
        for i in 0..n {
            let (a, b) = (jf[i * np + j], jn[i * np + j]);
            assert!(
                (a - b).abs() <= 1e-9 * col_max + 1e-300,
                "{label} jac[{i}][{j}]: {a:e} vs {b:e}"
            );
        }
    }
    assert!(worst_ld < 1e-9, "{label}: relative LD error {worst_ld:e}");
    worst_ld
}

fn sorted_steps(rng: &mut Rng, total: usize, n: usize) -> Vec<usize> {
    let mut s: Vec<usize> = (0..n)
        .map(|_| rng.int(1, total as u64 - 1) as usize)
        .collect();
    s.sort_unstable();
    s
}

#[test]
fn random_schedules_match_naive() {
    let mut rng = Rng::new(21);
    for i in 0..40 {
        let total = rng.int(2000, 20000);
        let warmup = rng.int(0, total / 10);
        let peak = rng.log_range(1e-4, 3e-3);
        let final_lr = if i % 4 == 0 {
            0.0
        } else {
            peak * rng.range(0.01, 0.5)
        };
        let ramp = WarmupRamp::Zero;
        let s = match i % 4 {
            0 | 1 => Schedule::Cosine {
                peak,
                final_lr,
                warmup,
                ramp,
                total,
            },
            2 => Schedule::Wsd {
                peak,
                final_lr,
                warmup,
                ramp,
                total,
                decay: Some(rng.range(0.1, 0.9)),
                decay_start: None,
                shape: DecayShape::ALL[rng.int(0, 4) as usize],
            },
            _ => Schedule::Linear {
                peak,
                final_lr,
                warmup,
                ramp,
                total,
            },
        };
        let steps = sorted_steps(&mut rng, total as usize, 30);
        let conv = if i % 2 == 0 {
            MplConvention::AuthorsCode
        } else {
            MplConvention::Paper {
                warmup: warmup as usize,
            }
        };
        compare(
            &s.to_array(),
            &steps,
            conv,
            &random_params(&mut rng),
            &s.to_string(),
        );
    }
}

#[test]
fn noisy_arrays_with_zero_lrs_match_naive() {
    // Arbitrary per-step arrays: every step a drop of either sign, some zero LRs.
    let mut rng = Rng::new(22);
    for i in 0..10 {
        let total = rng.int(1000, 8000) as usize;
        let lrs: Vec<f64> = (0..total)
            .map(|t| {
                if t % 97 == 5 {
                    0.0
                } else {
                    1e-4 * (1.0 + 0.5 * rng.unif()) * (1.0 - t as f64 / total as f64 * 0.8)
                }
            })
            .collect();
        let steps = sorted_steps(&mut rng, total, 25);
        compare(
            &lrs,
            &steps,
            MplConvention::AuthorsCode,
            &random_params(&mut rng),
            &format!("noisy #{i}"),
        );
    }
}

#[test]
fn long_cosine_matches_naive() {
    // The benchmark's case on fewer points (the naive sum is slow in debug builds).
    let s = Schedule::Cosine {
        peak: 3e-4,
        final_lr: 3e-5,
        warmup: 2000,
        ramp: WarmupRamp::Zero,
        total: 100_000,
    };
    let steps: Vec<usize> = (1..=12).map(|i| i * 8333).collect();
    let p = [
        2.6514477,
        0.60115152,
        0.45295811,
        437.9464276,
        2.13245612,
        0.59785199,
        0.65523644,
    ];
    let worst = compare(
        &s.to_array(),
        &steps,
        MplConvention::AuthorsCode,
        &p,
        "cosine 100k",
    );
    println!("cosine 100k: worst relative LD error {worst:e}");
}

#[test]
fn out_of_domain_parameters_use_the_direct_sum() {
    let s = Schedule::Cosine {
        peak: 3e-4,
        final_lr: 3e-5,
        warmup: 100,
        ramp: WarmupRamp::Zero,
        total: 2000,
    };
    let steps = [500, 1000, 1999];
    let law = MultiPowerLaw::new(&s.to_array(), &steps, MplConvention::AuthorsCode).unwrap();
    for p in [
        [3.0, 0.5, 0.5, 400.0, 0.0, 0.5, 0.5],
        [3.0, 0.5, 0.5, 400.0, 2.0, -0.2, 0.5],
    ] {
        let fast = law.predict(&p).unwrap();
        let mut naive = vec![0.0; 3];
        law.eval_naive(&p, &mut naive, None).unwrap();
        assert_eq!(fast, naive);
    }
}

#[test]
fn conventions_differ_only_in_the_warmup_drops() {
    // With no warmup both conventions agree; the paper reading drops the warmup's rising steps.
    let mut rng = Rng::new(23);
    let p = random_params(&mut rng);
    let no_warmup = Schedule::Cosine {
        peak: 3e-4,
        final_lr: 3e-5,
        warmup: 0,
        ramp: WarmupRamp::Zero,
        total: 5000,
    };
    let steps = [100, 2000, 4999];
    let a = MultiPowerLaw::new(&no_warmup.to_array(), &steps, MplConvention::AuthorsCode)
        .unwrap()
        .predict(&p)
        .unwrap();
    let b = MultiPowerLaw::new(
        &no_warmup.to_array(),
        &steps,
        MplConvention::Paper { warmup: 0 },
    )
    .unwrap()
    .predict(&p)
    .unwrap();
    assert_eq!(a, b);
    let warm = Schedule::Constant {
        peak: 3e-4,
        warmup: 500,
        ramp: WarmupRamp::Zero,
        total: 5000,
    };
    let paper = MultiPowerLaw::new(
        &warm.to_array(),
        &steps,
        MplConvention::Paper { warmup: 500 },
    )
    .unwrap();
    let authors = MultiPowerLaw::new(&warm.to_array(), &steps, MplConvention::AuthorsCode).unwrap();
    assert_eq!(
        paper.n_sources(),
        0,
        "constant after warmup: no drops in the paper reading"
    );
    assert!(authors.n_sources() >= 499);
    // Paper reading of a constant schedule: a pure power law in the LR area.
    let pv = paper.predict(&p).unwrap();
    for (i, v) in pv.iter().enumerate() {
        let want = p[0] + p[1] * paper.lr_area()[i].powf(-p[2]);
        assert!((v - want).abs() <= 1e-14 * want);
    }
    // Authors' reading: the rising warmup enters LD as negative drops, raising the loss.
    let av = authors.predict(&p).unwrap();
    assert!(av.iter().zip(&pv).all(|(a, p)| a > p));
}
