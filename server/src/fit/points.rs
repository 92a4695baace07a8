//! A law over a plain set of points (one block, each point its own group), for the
//! workflows that build their own law instances (batch-size regressions, power laws in N).

use std::collections::BTreeMap;

use shared::laws::Law;

use super::objective::{Objective, Penalty, Scale};
use super::problem::{Block, Problem};
use super::{FitError, FitOptions, Fitted, Prepared, fit};

/// Bootstrap, interval level and bounds of a points fit.
#[derive(Clone, Debug)]
pub struct PointsOptions {
    /// Bootstrap resamples over the points (0: none); percentile intervals land in `ci`.
    pub resamples: usize,
    pub seed: u64,
    pub ci_level: f64,
    /// Bounds replacing the law's defaults (its wide defaults would make a small value
    /// look "at a bound" to the standard-error check).
    pub bounds: BTreeMap<String, [f64; 2]>,
}

impl Default for PointsOptions {
    fn default() -> Self {
        Self {
            resamples: 0,
            seed: 1,
            ci_level: 0.95,
            bounds: BTreeMap::new(),
        }
    }
}

/// Fits `law` to `observed` (one value per point, named by `names`) by least squares on
/// the log scale from the given starts; each point is a bootstrap group.
pub fn fit_points(
    law: Box<dyn Law>,
    form: &str,
    observed: &[f64],
    names: Vec<String>,
    starts: Vec<Vec<f64>>,
    extra: &PointsOptions,
) -> Result<Fitted, FitError> {
    if law.n_points() != observed.len() || names.len() != observed.len() {
        return Err(FitError::Input(format!(
            "{} points but {} values and {} names",
            law.n_points(),
            observed.len(),
            names.len()
        )));
    }
    let specs = law.param_specs();
    let block = Block {
        law: law.into(),
        observed: observed.to_vec(),
        weights: vec![1.0; observed.len()],
        group_of: (0..observed.len()).collect(),
    };
    let name = specs.iter().map(|s| s.name).collect::<Vec<_>>().join(", ");
    let prepared = Prepared {
        law: form.to_string(),
        form: form.to_string(),
        settings: serde_json::json!({}),
        specs,
        train: Problem::new(specs, vec![block], names),
        holdout: Problem::new(specs, Vec::new(), Vec::new()),
        start_grid: format!("closed-form starts for [{name}]"),
        starts,
        excluded: Vec::new(),
        aggregation: Vec::new(),
        warnings: Vec::new(),
        linear: Vec::new(),
        staged: None,
        bounds: BTreeMap::new(),
        fixed: BTreeMap::new(),
        solve_linear_starts: false,
        coverage: None,
    };
    let options = FitOptions {
        objective: Objective {
            penalty: Penalty::LeastSquares,
            scale: Scale::Log,
            over_prediction_weight: 1.0,
        },
        threads: 1,
        bootstrap: extra.resamples,
        seed: extra.seed,
        ci_level: extra.ci_level,
        bounds: extra.bounds.clone(),
        ..FitOptions::default()
    };
    fit(prepared, &options)
}
