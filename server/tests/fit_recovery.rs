//! Synthetic recovery: tables generated from known Chinchilla parameters plus noise, fitted
//! 100 times with different seeds; each parameter's bootstrap 95% CI must contain its true
//! value in at least 90 of the 100 repetitions (the bar; nominal coverage is 95).

use server::fit::laws::{self, Exclusion, LawName, TableRow};
use server::fit::{FitOptions, fit};
use server::rng::SplitMix64;

/// ln A, ln B, ln E, alpha, beta: near Hoffmann et al.'s published values.
const TRUTH: [f64; 5] = [6.0, 7.3, 0.55, 0.33, 0.30];
/// Standard deviation of the multiplicative noise on the loss (1%).
const NOISE: f64 = 0.01;
const REPETITIONS: u64 = 100;

/// 6 model sizes x 7 token counts, log-spaced; each row is its own run (resampled alone).
fn synthetic_table(seed: u64) -> Vec<TableRow> {
    let [la, lb, le, alpha, beta] = TRUTH;
    let mut rng = SplitMix64(seed);
    let mut rows = Vec::new();
    for i in 0..6 {
        let n = 1e7 * 10f64.powf(i as f64 * 0.5);
        for j in 0..7 {
            let d = 1e9 * 10f64.powf(j as f64 * 0.4);
            let loss = le.exp() + (la - alpha * n.ln()).exp() + (lb - beta * d.ln()).exp();
            rows.push(TableRow {
                run: format!("n{i}d{j}"),
                n: Some(n),
                d: Some(d),
                x: None,
                loss: loss * (NOISE * rng.normal()).exp(),
            });
        }
    }
    rows
}

#[test]
fn chinchilla_parameters_are_inside_their_bootstrap_cis_in_90_of_100_repetitions() {
    let names = ["ln A", "ln B", "ln E", "alpha", "beta"];
    let mut covered = [0u32; 5];
    for rep in 0..REPETITIONS {
        let rows = synthetic_table(1000 + rep);
        let mut prepared =
            laws::prepare_table(LawName::Chinchilla, &rows, &[], &Exclusion::default()).unwrap();
        // Every 60th start of Hoffmann's 4,500-point grid keeps the test quick; the grid's
        // spread still covers the truth's basin.
        prepared.starts = prepared.starts.iter().step_by(60).cloned().collect();
        let options = FitOptions {
            bootstrap: 100,
            seed: rep,
            ..FitOptions::default()
        };
        let fitted = fit(prepared, &options).unwrap();
        for (k, param) in fitted.report.params.iter().enumerate() {
            let [lo, hi] = param.ci.expect("bootstrap CI");
            // Parameters in the law's own scale: a, b, e are ln A, ln B, ln E.
            let truth = TRUTH[k];
            if lo <= truth && truth <= hi {
                covered[k] += 1;
            }
        }
    }
    eprintln!(
        "coverage of the 95% bootstrap CIs in {REPETITIONS} repetitions: {names:?} {covered:?}"
    );
    for (name, c) in names.iter().zip(covered) {
        assert!(
            c >= 90,
            "{name}: the true value was inside its CI in only {c} of {REPETITIONS} repetitions"
        );
    }
}
