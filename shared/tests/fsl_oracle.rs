//! Oracle: the functional scaling law (Li et al. 2025, eq. 30) against a direct O(n T)
//! evaluation of the formula written out below, on the real 24,000-step schedules of the
//! multi-power-law data (`cosine_24000`, `wsd_20000_24000`) at their logged steps; its
//! limits; and the fast Jacobian against the direct one.

mod common;

use common::{mpl_curve, mpl_schedule};
use shared::laws::Law;
use shared::laws::fsl::{FslConvention, FslLaw};
use shared::schedule::{Schedule, WarmupRamp};

/// `L0, c1, c2, c3, c4, s, gamma`: magnitudes of a fit to these curves (c4 ~ 1/(peak LR x
/// 10 steps)), not a fit.
const P: [f64; 7] = [2.9, 0.5, 600.0, 0.4, 300.0, 0.5, 0.6];

/// Eq. 30 as printed, every step `i` of the summed range (`first..=k`), `T` a running sum.
fn direct(lrs: &[f64], steps: &[usize], first: usize, p: &[f64; 7]) -> Vec<f64> {
    let [l0, c1, c2, c3, c4, s, gamma] = *p;
    let mut t = vec![0.0; lrs.len()];
    let mut acc = 0.0;
    for (k, &eta) in lrs.iter().enumerate() {
        acc += eta;
        t[k] = acc;
    }
    steps
        .iter()
        .map(|&k| {
            let mut sum = 0.0;
            for i in first..=k {
                let drop = lrs[i - 1] - lrs[i];
                let realised = 1.0 - (1.0 + c4 * (t[k] - t[i])).powf(-gamma);
                sum += drop * (c3 + t[i].powf(-s)) * realised;
            }
            l0 + c1 * t[k].powf(-s) - c2 * sum
        })
        .collect()
}

fn conventions() -> [(FslConvention, usize); 2] {
    [
        (FslConvention::Literal, 1),
        (FslConvention::AfterWarmup { warmup: 2160 }, 2161),
    ]
}

#[test]
fn matches_the_direct_sum_on_real_schedules() {
    for name in ["cosine_24000", "wsd_20000_24000"] {
        let lrs = mpl_schedule(name).to_array();
        let (steps, _) = mpl_curve("25", name);
        for (conv, first) in conventions() {
            let law = FslLaw::new(&lrs, &steps, conv).unwrap();
            let fast = law.predict(&P).unwrap();
            let want = direct(&lrs, &steps, first, &P);
            for (i, (f, w)) in fast.iter().zip(&want).enumerate() {
                assert!(
                    (f - w).abs() <= 1e-10 * w.abs(),
                    "{name} {conv:?} step {}: {f} vs {w}",
                    steps[i]
                );
            }
            let last = steps.len() - 1;
            println!(
                "{name} {conv:?}: L({}) = {:.9}, L({}) = {:.9} ({} changes)",
                steps[0],
                fast[0],
                steps[last],
                fast[last],
                law.n_changes()
            );
        }
    }
}

#[test]
fn without_c2_it_is_a_power_law_in_intrinsic_time() {
    let lrs = mpl_schedule("cosine_24000").to_array();
    let (steps, _) = mpl_curve("25", "cosine_24000");
    let mut p = P;
    p[2] = 0.0;
    let law = FslLaw::new(&lrs, &steps, FslConvention::Literal).unwrap();
    let got = law.predict(&p).unwrap();
    for (i, &k) in steps.iter().enumerate() {
        let t: f64 = lrs[..=k].iter().sum();
        let want = p[0] + p[1] * t.powf(-p[5]);
        assert!((got[i] - want).abs() <= 1e-13 * want, "step {k}");
    }
}

#[test]
fn a_constant_lr_has_no_annealing_term() {
    let flat = Schedule::Constant {
        peak: 3e-4,
        warmup: 0,
        ramp: WarmupRamp::Zero,
        total: 24000,
    }
    .to_array();
    let steps: Vec<usize> = (100..24000).step_by(500).collect();
    let mut p0 = P;
    p0[2] = 0.0;
    // No warmup: nothing changes under either reading.
    for (conv, _) in conventions() {
        let law = FslLaw::new(&flat, &steps, conv).unwrap();
        assert_eq!(law.n_changes(), 0);
        assert_eq!(law.predict(&P).unwrap(), law.predict(&p0).unwrap());
    }
    // With a warmup, only the warmup's rises change the LR: none after it.
    let lrs = mpl_schedule("constant_24000").to_array();
    let (steps, _) = mpl_curve("25", "constant_24000");
    let law = FslLaw::new(&lrs, &steps, FslConvention::AfterWarmup { warmup: 2160 }).unwrap();
    assert_eq!(law.n_changes(), 0);
    assert_eq!(law.predict(&P).unwrap(), law.predict(&p0).unwrap());
}

#[test]
fn a_decay_lowers_the_loss_and_the_fast_jacobian_is_the_direct_one() {
    let lrs = mpl_schedule("wsd_20000_24000").to_array();
    let flat = mpl_schedule("constant_24000").to_array();
    let (steps, _) = mpl_curve("25", "wsd_20000_24000");
    let conv = FslConvention::AfterWarmup { warmup: 2160 };
    let wsd = FslLaw::new(&lrs, &steps, conv)
        .unwrap()
        .predict(&P)
        .unwrap();
    let constant = FslLaw::new(&flat, &steps, conv)
        .unwrap()
        .predict(&P)
        .unwrap();
    for (i, &k) in steps.iter().enumerate() {
        if k <= 20000 {
            assert_eq!(wsd[i], constant[i], "step {k}");
        } else {
            assert!(wsd[i] < constant[i], "step {k}");
        }
    }
    for (conv, _) in conventions() {
        let law = FslLaw::new(&mpl_schedule("cosine_24000").to_array(), &steps, conv).unwrap();
        let (n, np) = (law.n_points(), law.n_params());
        let (_, fast) = law.predict_with_jacobian(&P).unwrap();
        let (mut out, mut slow) = (vec![0.0; n], vec![0.0; n * np]);
        law.eval_naive(&P, &mut out, Some(&mut slow)).unwrap();
        for j in 0..np {
            let col_max = (0..n).map(|i| slow[i * np + j].abs()).fold(0.0, f64::max);
            for i in 0..n {
                let (a, b) = (fast[i * np + j], slow[i * np + j]);
                assert!(
                    (a - b).abs() <= 1e-9 * col_max,
                    "{conv:?} jac[{i}][{j}]: {a:e} vs {b:e}"
                );
            }
        }
    }
}
