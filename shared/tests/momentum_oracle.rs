//! Oracle: Tissue et al.'s demo schedule and fit (authors' warmup convention).

mod common;

use shared::laws::Law;
use shared::laws::momentum::{MomentumLaw, WarmupConvention, momentum_areas};
use shared::schedule::{Schedule, WarmupRamp};

/// Peak 2e-4, min 0, warmup 500, 20000 steps; arrays cover steps 0..=20000.
fn demo(kind: &str) -> Vec<f64> {
    let s = match kind {
        "cosine" => Schedule::Cosine {
            peak: 2e-4,
            final_lr: 0.0,
            warmup: 500,
            ramp: WarmupRamp::Zero,
            total: 20000,
        },
        _ => Schedule::Constant {
            peak: 2e-4,
            warmup: 500,
            ramp: WarmupRamp::Zero,
            total: 20000,
        },
    };
    WarmupConvention::AtPeak { warmup: 500 }.apply(&s.to_array_len(20001))
}

#[test]
fn demo_areas() {
    // Published to 5 significant digits (S1) and 6 (S2): tolerances are half a unit there.
    let (s1, s2) = momentum_areas(&demo("cosine"), 0.999);
    assert!(
        (s1[20000] - 2.0501).abs() <= 5e-5,
        "cosine S1 {}",
        s1[20000]
    );
    assert!(
        (s2[20000] - 0.197474).abs() <= 5e-7,
        "cosine S2 {}",
        s2[20000]
    );
    let (s1, s2) = momentum_areas(&demo("constant"), 0.999);
    assert!(
        (s1[20000] - 4.0002).abs() <= 5e-5,
        "constant S1 {}",
        s1[20000]
    );
    assert_eq!(s2[20000], 0.0);
    println!(
        "cosine S1 {:.6} S2 {:.6}",
        momentum_areas(&demo("cosine"), 0.999).0[20000],
        momentum_areas(&demo("cosine"), 0.999).1[20000]
    );
}

#[test]
fn demo_fit_quality() {
    // The published parameters on the 40 printed points give the published R^2 0.99963.
    let (_, rows) = common::read_csv("tissue_demo/tissue_example_cosine_constant.csv");
    let (mut pred, mut obs) = (Vec::new(), Vec::new());
    for kind in ["cosine", "constant"] {
        let pts: Vec<(usize, f64)> = rows
            .iter()
            .filter(|r| r[0] == kind)
            .map(|r| (r[1].parse().unwrap(), r[2].parse().unwrap()))
            .collect();
        let steps: Vec<usize> = pts.iter().map(|p| p.0).collect();
        let law = MomentumLaw::new(&demo(kind), &steps, 0.999, WarmupConvention::Literal).unwrap();
        pred.extend(
            law.predict(&[2.62780, 0.429666, 0.549845, 0.410773])
                .unwrap(),
        );
        obs.extend(pts.iter().map(|p| p.1));
    }
    assert_eq!(obs.len(), 40);
    let mean = obs.iter().sum::<f64>() / 40.0;
    let ss_res: f64 = obs.iter().zip(&pred).map(|(o, p)| (o - p).powi(2)).sum();
    let ss_tot: f64 = obs.iter().map(|o| (o - mean).powi(2)).sum();
    let r2 = 1.0 - ss_res / ss_tot;
    println!("R^2 {r2:.6}");
    assert!((r2 - 0.99963).abs() <= 2e-5, "R^2 {r2}");
}

#[test]
fn conventions_and_schedule_constructor_agree() {
    let s = Schedule::Cosine {
        peak: 2e-4,
        final_lr: 0.0,
        warmup: 500,
        ramp: WarmupRamp::Zero,
        total: 20000,
    };
    let steps = [1000, 20000];
    let a = MomentumLaw::from_schedule(&s, &steps, 0.999, true).unwrap();
    assert!((a.s1()[1] - 2.0501).abs() <= 5e-5 && (a.s2()[1] - 0.197474).abs() <= 5e-7);
    // The literal ramp has less forward area and negative momentum from the rising warmup.
    let l = MomentumLaw::from_schedule(&s, &steps, 0.999, false).unwrap();
    assert!(l.s1()[1] < a.s1()[1] && l.s2()[1] < a.s2()[1]);
    // Warmup area: 500 steps at peak versus the ramp sum 2e-4 * (0 + 1 + ... + 499) / 500.
    assert!((a.s1()[1] - l.s1()[1] - 2e-4 * (500.0 - 499.0 / 2.0)).abs() < 1e-12);
}
