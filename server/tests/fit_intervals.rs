//! Intervals that mean what they say with few runs (issue 14): curves drawn from a known
//! momentum law plus autocorrelated noise, two runs fitted with the default bootstrap
//! (with fewer than four runs: blocks of residuals within each run), and the 95% band of
//! the forecast of an unseen schedule must hold the true curve at 90% of its steps or
//! more, over several seeds. A bootstrap over whole runs could not pass: two runs have
//! three distinct resamples.

use server::fit::laws::{self, CurveRun, Exclusion, LawName, LawSettings};
use server::fit::{FitOptions, fit};
use server::rng::SplitMix64;
use shared::schedule::Schedule;

/// L0, A, alpha, C: the Tissue et al. demo fit.
const TRUTH: [f64; 4] = [2.6278, 0.429666, 0.549845, 0.410773];
const SEEDS: u64 = 8;
const SCHEDULE: &str = "peak=2e-4,warmup=500,total=20000";

fn truth(spec: &str, steps: &[usize]) -> (Vec<f64>, Vec<f64>) {
    let lrs = spec.parse::<Schedule>().unwrap().to_array();
    let law =
        server::fit::predict::schedule_law(LawName::Momentum, &LawSettings::default(), &lrs, steps)
            .unwrap();
    let curve = law.predict(&TRUTH).unwrap();
    (lrs, curve)
}

/// A run from the true law times exp(AR(1) noise): correlation 0.7 between neighbouring
/// logged points, 0.3% marginal sd (a smoothed training loss).
fn noisy_run(name: &str, spec: &str, rng: &mut SplitMix64) -> CurveRun {
    let steps: Vec<usize> = (1000..20000).step_by(100).collect();
    let (lrs, clean) = truth(spec, &steps);
    let (phi, sd) = (0.7_f64, 0.003);
    let innovation = sd * (1.0 - phi * phi).sqrt();
    let mut e = sd * rng.normal();
    let loss = clean
        .iter()
        .map(|l| {
            e = phi * e + innovation * rng.normal();
            l * e.exp()
        })
        .collect();
    CurveRun {
        name: name.into(),
        steps,
        loss,
        lrs,
    }
}

#[test]
fn forecast_bands_of_two_runs_hold_the_true_curve() {
    let target = format!("wsd:{SCHEDULE},decay=0.2,shape=linear");
    let target_steps: Vec<usize> = (1000..20000).step_by(200).collect();
    let (target_lrs, target_truth) = truth(&target, &target_steps);
    let (mut held, mut total) = (0usize, 0usize);
    for seed in 0..SEEDS {
        let mut rng = SplitMix64(100 + seed);
        let runs = vec![
            noisy_run("constant", &format!("constant:{SCHEDULE}"), &mut rng),
            noisy_run("cosine", &format!("cosine:{SCHEDULE},final=0"), &mut rng),
        ];
        let prepared = laws::prepare_curves(
            LawName::Momentum,
            &runs,
            &[],
            &Exclusion::default(),
            &LawSettings::default(),
        )
        .unwrap();
        let options = FitOptions {
            bootstrap: 200,
            seed,
            ..FitOptions::default()
        };
        let fitted = fit(prepared, &options).unwrap();
        let bootstrap = fitted.report.bootstrap.as_ref().unwrap();
        assert!(
            bootstrap.unit.contains("residuals within each run"),
            "{}",
            bootstrap.unit
        );
        let law = server::fit::predict::schedule_law(
            LawName::Momentum,
            &LawSettings::default(),
            &target_lrs,
            &target_steps,
        )
        .unwrap();
        let band =
            shared::forecast::predict(law.as_ref(), &fitted.params, &bootstrap.samples, 0.95)
                .unwrap();
        let (lower, upper) = (band.lower.unwrap(), band.upper.unwrap());
        let inside = target_truth
            .iter()
            .zip(lower.iter().zip(&upper))
            .filter(|(t, (lo, hi))| *lo <= *t && *t <= *hi)
            .count();
        eprintln!(
            "seed {seed}: the band holds the truth at {inside} of {} steps",
            target_truth.len()
        );
        held += inside;
        total += target_truth.len();
    }
    let coverage = held as f64 / total as f64;
    eprintln!("coverage {held} of {total} = {coverage:.3}");
    assert!(
        coverage >= 0.90,
        "95% bands held the truth at {coverage:.3} of the steps"
    );
}
