//! Which schedule law forecasts *these* runs best. Every law is fitted on each fold (part
//! of the runs hidden) and scored on what it did not see, the way a forecast is used:
//!
//! - each run's last third, the other runs whole (later steps of a known schedule: the
//!   annealing of a decay, the flattening of a constant LR);
//! - with three runs or more, each run left out whole (a schedule not seen). With two,
//!   leaving one out leaves a single schedule to fit the annealing terms from, which says
//!   little (the same folds as the prior's cross-validation, [`super::crossval`]).
//!
//! A law's score is the mean over folds of the hidden points' mean |L - L^| / L, its worst
//! the largest |L - L^| / L of any hidden point; laws are ranked by the mean, then the
//! worst. Fits use the caller's options without bootstrap (intervals are not compared).

use std::time::Instant;

use shared::api::{ComparisonRow, FitReport, LawComparison};

use super::laws::{self, CurveRun, Exclusion, LawName, LawSettings};
use super::{FitError, FitOptions, fit};

/// The `law` of a fit request that compares the schedule laws.
pub const COMPARE: &str = "compare";

/// The share of a run's points (its last ones) a tail fold hides.
pub const TAIL_FRACTION: f64 = 1.0 / 3.0;

/// One fold: the runs of its fit, the last of which (or part of one) is held out.
struct Fold {
    label: String,
    runs: Vec<CurveRun>,
}

impl Fold {
    fn new(label: String, mut runs: Vec<CurveRun>, hidden: CurveRun) -> Self {
        runs.push(hidden);
        Self { label, runs }
    }

    /// The held-out run's name.
    fn hidden(&self) -> &String {
        &self.runs[self.runs.len() - 1].name
    }
}

/// The folds of `runs` (see the module's doc).
fn folds(runs: &[CurveRun]) -> Vec<Fold> {
    let mut out = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        let n = run.steps.len();
        let keep = n - ((n as f64 * TAIL_FRACTION).round() as usize).min(n);
        if keep == 0 || keep == n {
            continue;
        }
        let mut train = runs.to_vec();
        train[i].steps.truncate(keep);
        train[i].loss.truncate(keep);
        let hidden = CurveRun {
            name: format!("{} (last third)", run.name),
            steps: run.steps[keep..].to_vec(),
            loss: run.loss[keep..].to_vec(),
            lrs: run.lrs.clone(),
        };
        out.push(Fold::new(
            format!("{}: last third", run.name),
            train,
            hidden,
        ));
    }
    if runs.len() >= 3 {
        for (i, run) in runs.iter().enumerate() {
            let train = runs
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, r)| r.clone())
                .collect();
            out.push(Fold::new(
                format!("{}: whole run", run.name),
                train,
                run.clone(),
            ));
        }
    }
    out
}

/// Compares `laws` (schedule laws) on `runs`. Fails only on bad input or a cancel; a law
/// whose fit fails on a fold gets that error in its row and is ranked last.
pub fn compare(
    laws: &[LawName],
    runs: &[CurveRun],
    exclusion: &Exclusion,
    settings: &LawSettings,
    options: &FitOptions,
) -> Result<LawComparison, FitError> {
    if let Some(law) = laws.iter().find(|l| !l.is_schedule_law()) {
        return Err(not_a_schedule_law(law.as_str()));
    }
    let folds = folds(runs);
    if folds.is_empty() {
        return Err(FitError::Input(
            "nothing to compare on: every run needs at least 2 points (its last third is forecast)"
                .into(),
        ));
    }
    let options = FitOptions {
        bootstrap: 0,
        cross_validate: false,
        ..options.clone()
    };
    let mut rows = Vec::new();
    for &law in laws {
        let started = Instant::now();
        let mut row = ComparisonRow {
            law: law.as_str().into(),
            ..ComparisonRow::default()
        };
        let mut worst: f64 = 0.0;
        for fold in &folds {
            let scored = laws::prepare_curves(
                law,
                &fold.runs,
                std::slice::from_ref(fold.hidden()),
                exclusion,
                settings,
            )
            .and_then(|prepared| fit(prepared, &options));
            match scored {
                Ok(fitted) => {
                    let hidden = fitted.report.holdout.first();
                    row.fold_errors.push(hidden.map(|m| m.mean_rel_error));
                    worst = worst.max(hidden.map_or(f64::NAN, |m| m.worst_rel_error));
                }
                Err(FitError::Cancelled) => return Err(FitError::Cancelled),
                Err(e) => {
                    row.fold_errors.push(None);
                    row.error
                        .get_or_insert_with(|| format!("{}: {e}", fold.label));
                }
            }
        }
        let errors: Option<Vec<f64>> = row.fold_errors.iter().copied().collect();
        if let Some(errors) = errors.filter(|e| e.iter().all(|x| x.is_finite())) {
            row.mean_rel_error = Some(errors.iter().sum::<f64>() / errors.len() as f64);
            row.worst_rel_error = worst.is_finite().then_some(worst);
        }
        row.seconds = started.elapsed().as_secs_f64();
        rows.push(row);
    }
    rows.sort_by(|a, b| {
        let key = |r: &ComparisonRow| {
            (
                r.mean_rel_error.unwrap_or(f64::INFINITY),
                r.worst_rel_error.unwrap_or(f64::INFINITY),
            )
        };
        let (ka, kb) = (key(a), key(b));
        ka.0.total_cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
    });
    Ok(LawComparison {
        folds: folds.into_iter().map(|f| f.label).collect(),
        rows,
    })
}

/// The schedule laws, in the order the CLI and the API list them.
pub fn schedule_laws() -> Vec<LawName> {
    LawName::ALL
        .into_iter()
        .filter(|l| l.is_schedule_law())
        .collect()
}

fn not_a_schedule_law(name: &str) -> FitError {
    let laws: Vec<&str> = schedule_laws().iter().map(|l| l.as_str()).collect();
    FitError::Input(format!(
        "{name} is not a schedule law; compare takes {}",
        laws.join(", ")
    ))
}

/// Parses a list of law names (empty: every schedule law).
pub fn parse_laws(names: &[String]) -> Result<Vec<LawName>, FitError> {
    if names.is_empty() {
        return Ok(schedule_laws());
    }
    let mut laws = Vec::new();
    for name in names {
        let law = LawName::parse(name)?;
        if !law.is_schedule_law() {
            return Err(not_a_schedule_law(name));
        }
        if !laws.contains(&law) {
            laws.push(law);
        }
    }
    Ok(laws)
}

/// A comparison as a stored fit's report: law `compare`, no parameters of its own (the
/// statistics of a single fit are zero; `comparison` holds the result).
pub fn as_report(c: LawComparison, n_points: usize, options: &FitOptions) -> FitReport {
    let laws: Vec<&str> = c.rows.iter().map(|r| r.law.as_str()).collect();
    let warnings = c.rows.iter().filter_map(|r| {
        r.error
            .as_ref()
            .map(|e| format!("{} failed on a fold: {e}", r.law))
    });
    FitReport {
        law: "compare".into(),
        form: "each schedule law fitted with part of the runs hidden (each run's last third; each run left out whole with 3 runs or more), scored by the mean |L - L^|/L of what it did not see".into(),
        settings: serde_json::json!({ "laws": laws, "tail_fraction": TAIL_FRACTION }),
        objective: serde_json::to_value(options.objective).unwrap_or_default(),
        optimizer: "each law's default fit, without bootstrap".into(),
        start_grid: "each law's own".into(),
        n_starts: 0,
        excluded: Vec::new(),
        aggregation: Vec::new(),
        params: Vec::new(),
        correlation_names: Vec::new(),
        correlations: Vec::new(),
        objective_value: 0.0,
        n_points,
        aic: 0.0,
        bic: 0.0,
        convergence: serde_json::json!({ "status": "converged" }),
        evaluations: 0,
        train: Vec::new(),
        holdout: Vec::new(),
        ci_level: options.ci_level,
        bootstrap: None,
        warnings: warnings.collect(),
        regularisation: None,
        identifiability: None,
        coverage: None,
        derived: Vec::new(),
        comparison: Some(c),
    }
}

/// The comparison as text: one row per law, best first, then the folds.
pub fn text(c: &LawComparison) -> String {
    let mut out = String::from("[[Law comparison]]\n");
    out += &format!(
        "    each law fitted on {} folds, scored on what it did not see (mean |L - L^|/L)\n",
        c.folds.len()
    );
    out += &format!(
        "    {:<6}{:<12}{:>14}{:>12}{:>10}\n",
        "rank", "law", "held-out mean", "worst", "seconds"
    );
    let num = |x: Option<f64>| x.map_or_else(|| "failed".to_string(), |x| format!("{x:.5}"));
    for (i, r) in c.rows.iter().enumerate() {
        out += &format!(
            "    {:<6}{:<12}{:>14}{:>12}{:>10.1}\n",
            i + 1,
            r.law,
            num(r.mean_rel_error),
            num(r.worst_rel_error),
            r.seconds
        );
        if let Some(e) = &r.error {
            out += &format!("        {e}\n");
        }
    }
    out += "[[Folds]]\n";
    for f in &c.folds {
        out += &format!("    {f}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::laws::Law;
    use shared::laws::momentum::{MomentumLaw, WarmupConvention};

    /// A run drawn from a known momentum law (no noise) under per-step `lrs`.
    fn run(name: &str, lrs: Vec<f64>) -> CurveRun {
        let steps: Vec<usize> = (1..lrs.len()).step_by(50).collect();
        let law = MomentumLaw::new(&lrs, &steps, 0.999, WarmupConvention::Literal).expect("law");
        let mut loss = vec![0.0; steps.len()];
        law.eval(&[2.9, 0.45, 0.55, 1.0], &mut loss, None)
            .expect("eval");
        CurveRun {
            name: name.into(),
            steps,
            loss,
            lrs,
        }
    }

    fn runs() -> Vec<CurveRun> {
        let n = 3000;
        let constant = vec![3e-4; n];
        let cosine: Vec<f64> = (0..n)
            .map(|i| 3e-5 + 1.35e-4 * (1.0 + (std::f64::consts::PI * i as f64 / n as f64).cos()))
            .collect();
        let wsd: Vec<f64> = (0..n)
            .map(|i| {
                if i < 2400 {
                    3e-4
                } else {
                    3e-4 * (n - i) as f64 / 600.0
                }
            })
            .collect();
        vec![
            run("constant", constant),
            run("cosine", cosine),
            run("wsd", wsd),
        ]
    }

    #[test]
    fn three_runs_give_tails_and_leave_one_out_folds() {
        let labels: Vec<String> = folds(&runs()).into_iter().map(|f| f.label).collect();
        assert_eq!(
            labels,
            [
                "constant: last third",
                "cosine: last third",
                "wsd: last third",
                "constant: whole run",
                "cosine: whole run",
                "wsd: whole run"
            ]
        );
        assert_eq!(folds(&runs()[..2]).len(), 2, "two runs: tails only");
    }

    #[test]
    fn the_law_the_runs_were_drawn_from_beats_the_baseline() {
        let laws = [LawName::PowerS1, LawName::Momentum];
        let c = compare(
            &laws,
            &runs(),
            &Exclusion::default(),
            &LawSettings::default(),
            &FitOptions::default(),
        )
        .expect("compare");
        assert_eq!(c.rows[0].law, "momentum", "{}", text(&c));
        let best = c.rows[0].mean_rel_error.expect("momentum scored");
        let baseline = c.rows[1].mean_rel_error.expect("power-s1 scored");
        assert!(best < 1e-3, "noise-free momentum runs: {best}");
        assert!(baseline > 3.0 * best, "{}", text(&c));
    }

    #[test]
    fn table_laws_are_refused() {
        let names = vec!["chinchilla".to_string()];
        assert!(parse_laws(&names).is_err());
        assert_eq!(parse_laws(&[]).expect("all").len(), 5);
    }
}
