//! Su et al.'s workflow on the synthetic sweep (Kaplan's constants, 3 model sizes x 8
//! batches, 0.3% noise): fit L(N, S_min) with the measured B_crit(L), then predict a
//! larger model (not in the sweep) against the true law; and through the CLI.

use std::process::Command;

use server::batch::{su, synthetic};
use shared::api::batch::{BatchOptions, SuPredictRequest};

fn rel(a: f64, b: f64) -> f64 {
    (a / b - 1.0).abs()
}

#[test]
fn fitted_law_predicts_an_unseen_model_size() {
    let spec = synthetic::SweepSpec::default();
    let runs = synthetic::sweep(&spec);
    let options = BatchOptions {
        smoothing_window: 5,
        ..BatchOptions::default()
    };
    let fitted = su::fit_su(&runs, &options).unwrap();
    let (law, truth) = (fitted.law, spec.law);
    eprintln!(
        "fitted {law:?}\ntrue {truth:?}\nmean rel error {}",
        fitted.mean_rel_error
    );
    // Tolerances: exponents within 10% of the truth; the fit reproduces the points to 1%.
    assert!(
        rel(law.alpha_s, truth.alpha_s) < 0.1,
        "alpha_S {}",
        law.alpha_s
    );
    assert!(
        rel(law.alpha_b, truth.alpha_b) < 0.1,
        "alpha_B {}",
        law.alpha_b
    );
    assert!(fitted.mean_rel_error < 0.01);
    // A 1B model (5x the largest in the sweep) at batch 2^20 tokens.
    let request = SuPredictRequest {
        law,
        n_params: 1e9,
        batch: 2f64.powi(20),
        max_steps: 1e5,
        n_points: 20,
        target_losses: vec![3.0, 3.2],
        tokens_per_batch_unit: 1.0,
        covariance: None,
        ci_level: None,
    };
    let p = su::predict(&request).unwrap();
    let t = su::predict(&SuPredictRequest {
        law: truth,
        ..request.clone()
    })
    .unwrap();
    eprintln!("predicted {:?}\ntrue {:?}", p.targets, t.targets);
    // Loss curve within 2% from step 1000 on (the fit saw losses below its highest target,
    // about 4; at step 1 the law extrapolates to losses in the hundreds), lowest loss within
    // 2%, steps to a loss and B_crit within 15%.
    for (a, b) in p
        .curve
        .iter()
        .zip(&t.curve)
        .filter(|(a, _)| a.step >= 1000.0)
    {
        assert!(
            rel(a.loss, b.loss) < 0.02,
            "step {}: {} vs {}",
            a.step,
            a.loss,
            b.loss
        );
    }
    assert!(rel(p.lowest_loss, t.lowest_loss) < 0.02);
    for (a, b) in p.targets.iter().zip(&t.targets) {
        assert!(
            rel(a.steps.unwrap(), b.steps.unwrap()) < 0.15,
            "{a:?} vs {b:?}"
        );
        assert!(rel(a.b_crit, b.b_crit) < 0.15, "{a:?} vs {b:?}");
    }
    // Below the lowest reachable loss: no steps, said plainly.
    let low = su::predict(&SuPredictRequest {
        target_losses: vec![1.0],
        ..request
    })
    .unwrap();
    assert_eq!(low.targets[0].steps, None);
}

/// Over 5 noise seeds, the predictions' 95% intervals for a 1B model at batch 2^20 (lowest
/// loss, steps, tokens, B_crit and steps at B_crit for 2 losses, the curve from step 1000)
/// must hold the true law's values in at least 90% of the checks.
#[test]
fn prediction_intervals_hold_the_true_law() {
    let (mut checked, mut held) = (0, 0);
    for seed in 1..=5 {
        let spec = synthetic::SweepSpec {
            seed,
            ..Default::default()
        };
        let options = BatchOptions {
            smoothing_window: 5,
            ..BatchOptions::default()
        };
        let fitted = su::fit_su(&synthetic::sweep(&spec), &options).unwrap();
        let request = SuPredictRequest {
            law: fitted.law,
            n_params: 1e9,
            batch: 2f64.powi(20),
            max_steps: 1e5,
            n_points: 12,
            target_losses: vec![3.0, 3.2],
            tokens_per_batch_unit: 1.0,
            covariance: fitted.covariance.clone(),
            ci_level: None,
        };
        let p = su::predict(&request).unwrap();
        assert_eq!(p.ci_level, Some(0.95));
        let t = su::predict(&SuPredictRequest {
            law: spec.law,
            covariance: None,
            ..request
        })
        .unwrap();
        let mut check = |what: &str, ci: Option<[f64; 2]>, v: f64, truth: f64| {
            let [lo, hi] = ci.unwrap_or_else(|| panic!("seed {seed}: no interval for {what}"));
            assert!(
                lo <= v && v <= hi,
                "seed {seed} {what}: {v} outside [{lo}, {hi}]"
            );
            checked += 1;
            if lo <= truth && truth <= hi {
                held += 1;
            } else {
                eprintln!("seed {seed} {what}: {v} [{lo}, {hi}] misses {truth}");
            }
        };
        check(
            "lowest loss",
            p.lowest_loss_ci,
            p.lowest_loss,
            t.lowest_loss,
        );
        for (a, b) in p.targets.iter().zip(&t.targets) {
            let l = a.loss;
            check(
                &format!("steps to {l}"),
                a.steps_ci,
                a.steps.unwrap(),
                b.steps.unwrap(),
            );
            check(
                &format!("tokens to {l}"),
                a.tokens_ci,
                a.tokens.unwrap(),
                b.tokens.unwrap(),
            );
            check(&format!("B_crit at {l}"), a.b_crit_ci, a.b_crit, b.b_crit);
            check(
                &format!("steps at B_crit to {l}"),
                a.steps_at_b_crit_ci,
                a.steps_at_b_crit.unwrap(),
                b.steps_at_b_crit.unwrap(),
            );
        }
        for (a, b) in p
            .curve
            .iter()
            .zip(&t.curve)
            .filter(|(a, _)| a.step >= 1000.0)
        {
            check(
                &format!("loss at step {}", a.step),
                a.loss_ci,
                a.loss,
                b.loss,
            );
        }
    }
    eprintln!("prediction intervals: {held} of {checked} hold the truth");
    assert!(
        held as f64 >= 0.9 * checked as f64,
        "{held} of {checked} prediction intervals hold the truth"
    );
}

#[test]
fn sweep_to_prediction_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = dir.path().join("sweep.csv");
    let law = dir.path().join("law.json");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_curvecast"))
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    };
    run(&["batch-sweep", "--out", sweep.to_str().unwrap()]);
    let text = run(&["batch", "--smooth", "5", sweep.to_str().unwrap()]);
    assert!(text.contains("all models: B_crit(L)"), "{text}");
    run(&[
        "batch-su",
        "--smooth",
        "5",
        "--save",
        law.to_str().unwrap(),
        sweep.to_str().unwrap(),
    ]);
    let text = run(&[
        "batch-predict",
        "--law",
        law.to_str().unwrap(),
        "--n-params",
        "1e9",
        "--batch",
        "1048576",
        "--target",
        "3.0",
    ]);
    assert!(
        text.contains("loss 3.000:") && text.contains("tokens"),
        "{text}"
    );
    let e = Command::new(env!("CARGO_BIN_EXE_curvecast"))
        .args([
            "batch-predict",
            "--law",
            sweep.to_str().unwrap(),
            "--n-params",
            "1e9",
            "--batch",
            "1",
        ])
        .output()
        .unwrap();
    assert!(!e.status.success());
    assert!(String::from_utf8_lossy(&e.stderr).contains("not a law saved"));
}
