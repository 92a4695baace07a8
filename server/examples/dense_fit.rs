//! Dense logs (issue 14): three runs of 100,000 steps with the loss logged at every step,
//! fitted by the multi-power and momentum laws as curvecast fits them by default (bins of
//! steps) and point by point, with the time of each fit and the forecast error of an
//! unseen schedule against the noise-free truth. Run from the workspace root:
//! `cargo run --example dense_fit` (the dev profile, whose numeric crates are optimised).
//!
//! The data: the multi-power law with the authors' published 25M parameters (a stand-in
//! for a real curve with a known truth) under a cosine, a constant and a two-stage
//! schedule, times 1 + 1% Gaussian noise per step (a per-step training loss of a small
//! model scatters by about that much). The forecast: a WSD schedule with a linear
//! cooldown over the last 20%, scored every 100 steps after warmup.

use std::time::Instant;

use server::fit::laws::{self, CurveRun, Exclusion, LawName, LawSettings};
use server::fit::{FitOptions, fit};
use server::rng::SplitMix64;
use shared::laws::Law;
use shared::laws::multipower::{MplConvention, MultiPowerLaw};
use shared::schedule::Schedule;

const TRUTH: [f64; 7] = [3.04, 0.525, 0.508, 364.0, 2.07, 0.583, 0.641];
const WARMUP: &str = "peak=3e-4,warmup=2160,ramp=linspace,total=100000";

fn truth_at(spec: &str, steps: &[usize]) -> (Vec<f64>, Vec<f64>) {
    let lrs = spec.parse::<Schedule>().expect("schedule").to_array();
    let law = MultiPowerLaw::new(&lrs, steps, MplConvention::AuthorsCode).expect("law");
    (lrs, law.predict(&TRUTH).expect("truth"))
}

fn dense_runs() -> Vec<CurveRun> {
    let mut rng = SplitMix64(11);
    [
        ("cosine", format!("cosine:{WARMUP},final=3e-5")),
        ("constant", format!("constant:{WARMUP}")),
        (
            "two_stage",
            format!("two_stage:{WARMUP},switch=60000,lr2=9e-5"),
        ),
    ]
    .iter()
    .map(|(name, spec)| {
        let steps: Vec<usize> = (2160..100_000).collect();
        let (lrs, clean) = truth_at(spec, &steps);
        let loss = clean
            .iter()
            .map(|l| l * (1.0 + 0.01 * rng.normal()))
            .collect();
        CurveRun {
            name: name.to_string(),
            steps,
            loss,
            lrs,
        }
    })
    .collect()
}

fn main() {
    let runs = dense_runs();
    let target = format!("wsd:{WARMUP},final=3e-5,decay=0.2,shape=linear");
    let target_steps: Vec<usize> = (2200..100_000).step_by(100).collect();
    let (target_lrs, target_truth) = truth_at(&target, &target_steps);
    println!("law,fitted points,seconds,forecast mean |L - L^|/L,worst");
    for law in [LawName::Momentum, LawName::Multipower] {
        for (label, max_points) in [
            ("binned (default)", LawSettings::default().max_points),
            ("every point", usize::MAX),
        ] {
            let settings = LawSettings {
                max_points,
                ..LawSettings::default()
            };
            let started = Instant::now();
            let prepared = laws::prepare_curves(law, &runs, &[], &Exclusion::default(), &settings)
                .expect("prepare");
            let fitted = fit(prepared, &FitOptions::default()).expect("fit");
            let seconds = started.elapsed().as_secs_f64();
            let forecast =
                server::fit::predict::schedule_law(law, &settings, &target_lrs, &target_steps)
                    .expect("law")
                    .predict(&fitted.params)
                    .expect("forecast");
            let errors: Vec<f64> = forecast
                .iter()
                .zip(&target_truth)
                .map(|(p, t)| (p - t).abs() / t)
                .collect();
            let mean = errors.iter().sum::<f64>() / errors.len() as f64;
            let worst = errors.iter().copied().fold(0.0, f64::max);
            println!(
                "{},{label}: {} points,{seconds:.3},{mean:.5},{worst:.5}",
                law.as_str(),
                fitted.report.n_points
            );
        }
    }
}
