//! Property: every law's analytic Jacobian matches central finite differences on random
//! valid parameters and inputs (seeded loops).
//!
//! Tolerance: per entry, `|analytic - numeric| <= 1e-5 (|analytic| + |numeric|) + floor
//! + 1e-14 |f| / h`: `floor` is 1e-7 of the column's largest entry (finite differences lose
//! relative accuracy on entries tiny compared with their column) and the last term is the
//! rounding noise of a central difference with step `h` on values of size `|f|`.

mod common;

use common::Rng;
use shared::laws::Law;
use shared::laws::batch::{CriticalBatchLaw, McCandlishLaw, SuLaw};
use shared::laws::chinchilla::ChinchillaLaw;
use shared::laws::convex::ConvexLaw;
use shared::laws::fsl::{FslConvention, FslLaw};
use shared::laws::hyper::{PowerLawCLaw, PowerLawNDLaw};
use shared::laws::kaplan::{KaplanNDLaw, KaplanNSLaw, KaplanPowerLaw};
use shared::laws::momentum::{MomentumLaw, WarmupConvention};
use shared::laws::multipower::{MplConvention, MultiPowerLaw};
use shared::laws::power::SaturatingPowerLaw;
use shared::laws::power_s1::PowerS1Law;
use shared::schedule::{DecayShape, Schedule, WarmupRamp};

/// Worst violation ratio of the tolerance above (<= 1 passes).
fn check(law: &dyn Law, params: &[f64]) -> f64 {
    let (n, np) = (law.n_points(), law.n_params());
    let (_, jac) = law.predict_with_jacobian(params).expect("eval");
    let mut worst: f64 = 0.0;
    for j in 0..np {
        let h = 1e-6 * params[j].abs().max(1e-2);
        let (mut plus, mut minus) = (params.to_vec(), params.to_vec());
        plus[j] += h;
        minus[j] -= h;
        let (fp, fm) = (
            law.predict(&plus).expect("eval+"),
            law.predict(&minus).expect("eval-"),
        );
        let col_max = (0..n).map(|i| jac[i * np + j].abs()).fold(0.0, f64::max);
        for i in 0..n {
            let numeric = (fp[i] - fm[i]) / (2.0 * h);
            let analytic = jac[i * np + j];
            let noise = 1e-14 * fp[i].abs().max(fm[i].abs()) / h;
            let allowed = 1e-5 * (analytic.abs() + numeric.abs()) + 1e-7 * col_max + noise + 1e-300;
            let ratio = (analytic - numeric).abs() / allowed;
            if ratio > 1.0 {
                eprintln!(
                    "{}: param {} point {i}: analytic {analytic:e} numeric {numeric:e}",
                    law.name(),
                    law.param_specs()[j].name
                );
            }
            worst = worst.max(ratio);
        }
    }
    worst
}

fn random_lr_schedule(rng: &mut Rng, i: usize) -> Schedule {
    let total = rng.int(200, 3000);
    let warmup = rng.int(0, total / 5);
    let ramp = [WarmupRamp::Zero, WarmupRamp::Linspace, WarmupRamp::Shifted][i % 3];
    let peak = rng.log_range(1e-4, 3e-3);
    let final_lr = peak * rng.range(0.0, 0.5);
    match i % 5 {
        0 => Schedule::Cosine {
            peak,
            final_lr,
            warmup,
            ramp,
            total,
        },
        1 => Schedule::Constant {
            peak,
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
            decay: Some(rng.range(0.1, 0.5)),
            decay_start: None,
            shape: DecayShape::ALL[rng.int(0, 4) as usize],
        },
        3 => Schedule::TwoStage {
            peak,
            warmup,
            ramp,
            total,
            switch: rng.int(warmup, total),
            lr2: final_lr,
        },
        _ => Schedule::Linear {
            peak,
            final_lr,
            warmup,
            ramp,
            total,
        },
    }
}

fn random_steps(rng: &mut Rng, total: usize) -> Vec<usize> {
    (0..rng.int(5, 40))
        .map(|_| rng.int(1, total as u64 - 1) as usize)
        .collect()
}

#[test]
fn momentum_gradient() {
    let mut rng = Rng::new(11);
    for i in 0..60 {
        let s = random_lr_schedule(&mut rng, i);
        let steps = random_steps(&mut rng, s.total() as usize);
        let conv = if i % 2 == 0 {
            WarmupConvention::Literal
        } else {
            WarmupConvention::AtPeak {
                warmup: s.warmup() as usize,
            }
        };
        let law = MomentumLaw::new(&s.to_array(), &steps, 0.999, conv).unwrap();
        let p = [
            rng.range(1.0, 4.0),
            rng.range(0.1, 2.0),
            rng.range(0.1, 1.0),
            rng.range(0.0, 50.0),
        ];
        assert!(check(&law, &p) <= 1.0, "{s}");
    }
}

#[test]
fn multipower_gradient() {
    let mut rng = Rng::new(12);
    for i in 0..60 {
        let s = random_lr_schedule(&mut rng, i);
        let steps = random_steps(&mut rng, s.total() as usize);
        let conv = if i % 2 == 0 {
            MplConvention::AuthorsCode
        } else {
            MplConvention::Paper {
                warmup: s.warmup() as usize,
            }
        };
        let law = MultiPowerLaw::new(&s.to_array(), &steps, conv).unwrap();
        let p = [
            rng.range(2.0, 4.0),
            rng.range(0.2, 1.0),
            rng.range(0.2, 0.8),
            rng.range(50.0, 1000.0),
            rng.log_range(0.1, 10.0),
            rng.range(0.2, 1.5),
            rng.range(0.2, 1.0),
        ];
        assert!(check(&law, &p) <= 1.0, "{s} {p:?}");
    }
}

#[test]
fn fsl_gradient() {
    let mut rng = Rng::new(21);
    for i in 0..60 {
        let s = random_lr_schedule(&mut rng, i);
        let steps = random_steps(&mut rng, s.total() as usize);
        let conv = if i % 2 == 0 {
            FslConvention::Literal
        } else {
            FslConvention::AfterWarmup {
                warmup: s.warmup() as usize,
            }
        };
        let law = FslLaw::new(&s.to_array(), &steps, conv).unwrap();
        let p = [
            rng.range(2.0, 4.0),
            rng.range(0.2, 1.0),
            rng.range(50.0, 1000.0),
            rng.range(0.0, 2.0),
            rng.log_range(1.0, 1e4),
            rng.range(0.2, 0.8),
            rng.range(0.2, 1.5),
        ];
        assert!(check(&law, &p) <= 1.0, "{s} {p:?}");
    }
}

#[test]
fn convex_gradient() {
    let mut rng = Rng::new(22);
    for i in 0..60 {
        let s = random_lr_schedule(&mut rng, i);
        let steps = random_steps(&mut rng, s.total() as usize);
        let law = ConvexLaw::new(&s.to_array(), &steps).unwrap();
        let p = [
            rng.range(0.5, 3.0),
            rng.range(0.0, 5.0),
            rng.range(0.0, 5.0),
            -rng.log_range(1e-5, 1e-3),
            rng.range(-1.0, 1.0),
            rng.range(0.1, 3.0),
            rng.range(1.0, 3.0),
            rng.range(0.1, 3.0),
        ];
        assert!(check(&law, &p) <= 1.0, "{s} {p:?}");
    }
}

#[test]
fn power_s1_gradient() {
    let mut rng = Rng::new(23);
    for i in 0..30 {
        let s = random_lr_schedule(&mut rng, i);
        let steps = random_steps(&mut rng, s.total() as usize);
        let conv = if i % 2 == 0 {
            WarmupConvention::Literal
        } else {
            WarmupConvention::AtPeak {
                warmup: s.warmup() as usize,
            }
        };
        let law = PowerS1Law::new(&s.to_array(), &steps, conv).unwrap();
        let p = [
            rng.range(1.0, 4.0),
            rng.range(0.1, 2.0),
            rng.range(0.1, 1.0),
        ];
        assert!(check(&law, &p) <= 1.0, "{s}");
    }
}

fn log_uniform_vec(rng: &mut Rng, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..n).map(|_| rng.log_range(lo, hi)).collect()
}

#[test]
fn scaling_law_gradients() {
    let mut rng = Rng::new(13);
    for _ in 0..40 {
        let n = log_uniform_vec(&mut rng, 20, 1e7, 1e11);
        let d = log_uniform_vec(&mut rng, 20, 1e9, 1e12);
        let law = ChinchillaLaw::new(&n, &d).unwrap();
        let p = [
            rng.range(3.0, 8.0),
            rng.range(3.0, 9.0),
            rng.range(0.0, 1.0),
            rng.range(0.2, 0.5),
            rng.range(0.2, 0.5),
        ];
        assert!(check(&law, &p) <= 1.0);

        let law = KaplanPowerLaw::new(&n).unwrap();
        assert!(check(&law, &[rng.range(28.0, 34.0), rng.range(0.05, 0.2)]) <= 1.0);

        // Around the published constants (ln 8.8e13 = 32.1, ln 5.4e13 = 31.6).
        let law = KaplanNDLaw::new(&n, &d).unwrap();
        let p = [
            rng.range(30.0, 34.0),
            rng.range(30.0, 33.0),
            rng.range(0.05, 0.1),
            rng.range(0.07, 0.12),
        ];
        assert!(check(&law, &p) <= 1.0);

        let s = log_uniform_vec(&mut rng, 20, 1e3, 1e6);
        let law = KaplanNSLaw::new(&n, &s).unwrap();
        let p = [
            rng.range(28.0, 34.0),
            rng.range(0.05, 0.2),
            rng.range(5.0, 9.0),
            rng.range(0.5, 1.0),
        ];
        assert!(check(&law, &p) <= 1.0);

        let b = log_uniform_vec(&mut rng, 20, 1e4, 1e7);
        let law = SuLaw::new(&n, &s, &b).unwrap();
        let p = [
            rng.range(28.0, 34.0),
            rng.range(0.05, 0.2),
            rng.range(5.0, 9.0),
            rng.range(0.5, 1.0),
            rng.range(17.0, 21.0),
            rng.range(0.1, 0.4),
        ];
        assert!(check(&law, &p) <= 1.0);

        let losses: Vec<f64> = (0..20).map(|_| rng.range(1.5, 5.0)).collect();
        let law = CriticalBatchLaw::new(&losses).unwrap();
        assert!(check(&law, &[rng.range(15.0, 21.0), rng.range(0.1, 0.5)]) <= 1.0);

        let law = McCandlishLaw::new(&b).unwrap();
        assert!(check(&law, &[rng.range(1e3, 1e4), rng.range(1e6, 1e8)]) <= 1.0);

        let x = log_uniform_vec(&mut rng, 20, 1e2, 1e6);
        let law = SaturatingPowerLaw::new(&x).unwrap();
        assert!(
            check(
                &law,
                &[
                    rng.range(1.0, 3.0),
                    rng.range(1.0, 100.0),
                    rng.range(0.1, 1.0)
                ]
            ) <= 1.0
        );

        let c = log_uniform_vec(&mut rng, 20, 1e17, 1e23);
        let law = PowerLawCLaw::new(&c).unwrap();
        assert!(check(&law, &[rng.range(-2.0, 2.0), rng.range(-0.3, 0.3)]) <= 1.0);
        let law = PowerLawNDLaw::new(&n, &d).unwrap();
        assert!(
            check(
                &law,
                &[
                    rng.range(-2.0, 2.0),
                    rng.range(-0.8, 0.0),
                    rng.range(0.0, 0.6)
                ]
            ) <= 1.0
        );
    }
}

#[test]
fn dimension_errors_do_not_panic() {
    let law = SaturatingPowerLaw::new(&[1.0, 2.0]).unwrap();
    let mut out = [0.0; 2];
    assert!(law.eval(&[1.0, 2.0], &mut out, None).is_err());
    assert!(law.eval(&[1.0, 2.0, 3.0], &mut [0.0; 3], None).is_err());
    assert!(
        law.eval(&[1.0, 2.0, 3.0], &mut out, Some(&mut [0.0; 5]))
            .is_err()
    );
    assert!(SaturatingPowerLaw::new(&[1.0, -2.0]).is_err());
    assert!(ChinchillaLaw::new(&[1.0], &[1.0, 2.0]).is_err());
    assert!(MultiPowerLaw::new(&[1e-3; 10], &[10], MplConvention::AuthorsCode).is_err());
    assert!(MultiPowerLaw::new(&[1e-3, f64::NAN], &[1], MplConvention::AuthorsCode).is_err());
    // Out-of-domain parameters give values, not panics.
    let law = MultiPowerLaw::new(
        &[0.0, 1e-3, 5e-4, 1e-4],
        &[1, 2, 3],
        MplConvention::AuthorsCode,
    )
    .unwrap();
    let out = law
        .predict(&[1.0, 1.0, 0.5, 10.0, -1.0, -0.5, f64::NAN])
        .unwrap();
    assert_eq!(out.len(), 3);
    let lrs = [0.0, 1e-3, 5e-4, 1e-4];
    assert!(FslLaw::new(&lrs, &[4], FslConvention::Literal).is_err());
    assert!(FslLaw::new(&[1e-3, -1.0], &[1], FslConvention::Literal).is_err());
    assert!(ConvexLaw::new(&lrs, &[4]).is_err());
    assert!(ConvexLaw::new(&[f64::INFINITY, 1.0], &[1]).is_err());
    assert!(PowerS1Law::new(&lrs, &[4], WarmupConvention::Literal).is_err());
    let fsl = FslLaw::new(&lrs, &[1, 2, 3], FslConvention::Literal).unwrap();
    for p in [
        [1.0, 1.0, 10.0, 0.0, -1.0, 0.5, f64::NAN],
        [1.0, 1.0, 10.0, 0.0, 0.0, 0.5, 0.0],
    ] {
        assert_eq!(fsl.predict(&p).unwrap().len(), 3);
    }
    let convex = ConvexLaw::new(&lrs, &[1, 2, 3]).unwrap();
    let out = convex
        .predict(&[1.0, f64::NAN, 1.0, 0.0, 800.0, 1.0, 1.0, -1.0])
        .unwrap();
    assert_eq!(out.len(), 3);
    assert!(convex.eval(&[1.0; 7], &mut [0.0; 3], None).is_err());
}
