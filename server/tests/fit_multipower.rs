//! The multi-power law's default fit forecasts unseen schedules: the paper's protocol on
//! the authors' data (`../shared/data/multipowerlaw`). Fit `cosine_24000`,
//! `constant_24000`, `wsdcon_9`; predict the other six schedules. The bar: the mean over
//! the six of mean |L - L^|/L no worse than the published fit's (25M 0.00110, 100M
//! 0.00142). The momentum law on the same split is printed beside it (scipy reference
//! about 0.0021 / 0.0020) and checked loosely.
//!
//! Learning rates come from the schedule formulas with the authors' `linspace` warmup
//! (they match the files' `lr` column); index convention: the authors' code.

use server::fit::laws::{self, CurveRun, Exclusion, LawName, LawSettings};
use server::fit::{FitOptions, Fitted, fit};

#[path = "support/mpl.rs"]
mod mpl;
use mpl::{TEST, TRAIN, run};

fn fit_split(law: LawName, size: u32, options: &FitOptions) -> (Fitted, f64) {
    let runs: Vec<CurveRun> = TRAIN.iter().chain(&TEST).map(|n| run(size, n)).collect();
    let holdout: Vec<String> = TEST.iter().map(|s| s.to_string()).collect();
    let prepared = laws::prepare_curves(
        law,
        &runs,
        &holdout,
        &Exclusion::default(),
        &LawSettings::default(),
    )
    .unwrap();
    let fitted = fit(prepared, options).unwrap();
    let per_run: Vec<f64> = fitted
        .report
        .holdout
        .iter()
        .filter(|m| m.run != "(all runs)")
        .map(|m| m.mean_rel_error)
        .collect();
    assert_eq!(per_run.len(), 6);
    let mean = per_run.iter().sum::<f64>() / 6.0;
    println!(
        "{size}M {}: held-out mean rel error {mean:.5} {per_run:.5?}",
        law.as_str()
    );
    (fitted, mean)
}

#[test]
fn multipower_default_forecasts_unseen_schedules_better_than_published() {
    for (size, published) in [(25, 0.00110), (100, 0.00142)] {
        let (fitted, mean) = fit_split(LawName::Multipower, size, &FitOptions::default());
        assert!(
            mean <= published,
            "{size}M: held-out {mean:.5} > published {published}"
        );
        // The report shows the prior and what the data alone cannot identify.
        let report = &fitted.report;
        let reg = report.regularisation.as_ref().expect("regularisation");
        assert!(reg["prior"]["strength"].as_f64().unwrap() > 0.0);
        let weak = &report.identifiability.as_ref().expect("identifiability")["weak"];
        assert!(weak.as_array().unwrap().iter().any(|w| w == "B"), "{weak}");
        assert!(!report.correlations.is_empty());
    }
}

#[test]
fn converging_the_full_law_without_a_prior_forecasts_worse() {
    // The trap the default avoids: prior strength 0 (maximum likelihood on all seven
    // parameters) gives a lower training objective and a worse forecast (25M: about
    // 0.00137).
    let options = FitOptions {
        prior_strength: Some(0.0),
        ..FitOptions::default()
    };
    let (plain, plain_error) = fit_split(LawName::Multipower, 25, &options);
    let (default, default_error) = fit_split(LawName::Multipower, 25, &FitOptions::default());
    let data = |f: &Fitted| {
        f.report
            .train
            .iter()
            .find(|m| m.run == "(all runs)")
            .unwrap()
            .rmse
    };
    assert!(data(&plain) < data(&default));
    assert!(plain_error > 0.0013, "{plain_error}");
    assert!(default_error < plain_error);
}

#[test]
fn momentum_law_on_the_same_split() {
    // The scipy reference gets about 0.0021 (25M) and 0.0020 (100M); tolerance 5%.
    for (size, reference) in [(25, 0.0021), (100, 0.0020)] {
        let (_, mean) = fit_split(LawName::Momentum, size, &FitOptions::default());
        assert!(
            (mean - reference).abs() <= 0.05 * reference,
            "{size}M: {mean}"
        );
    }
}
