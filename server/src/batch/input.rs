//! Runs (stored or freshly read) -> sweep runs (the loss curve plus the run's batch size),
//! or -> rows of a hyper-parameter sweep (LR, batch, N, D, final loss).

use std::collections::BTreeMap;

use shared::api::Series;
use shared::api::batch::{HyperRow, SweepRun};

use crate::fit::FitError;

/// A run with a `batch_size` attribute (else `tokens_per_step`) and a `loss` series.
pub fn sweep_run(
    name: &str,
    points: &BTreeMap<String, Series>,
    attrs: &BTreeMap<String, f64>,
) -> Result<SweepRun, FitError> {
    let batch = attrs
        .get("batch_size")
        .or(attrs.get("tokens_per_step"))
        .copied()
        .ok_or_else(|| {
            FitError::Input(format!(
                "run '{name}' has no batch size: give a batch_size column or attribute (e.g. --batch-size-col)"
            ))
        })?;
    let loss = points
        .get("loss")
        .filter(|s| !s.steps.is_empty())
        .ok_or_else(|| FitError::Input(format!("run '{name}' has no loss points")))?;
    Ok(SweepRun {
        name: name.to_string(),
        model: None,
        n_params: attrs.get("n_params").copied(),
        batch,
        steps: loss.steps.clone(),
        loss: loss.values.clone(),
    })
}

/// What [`hyper_row`] does, for a report's method.
pub fn hyper_row_method(final_points: usize) -> String {
    format!(
        "runs -> rows: LR = the run's lr attribute, else its largest logged LR (the schedule's peak); batch = batch_size; N = n_params; D = the tokens attribute, else the last logged tokens; loss = the mean of the last {final_points} logged loss point(s)"
    )
}

/// A run of an LR x batch sweep -> one row (see [`hyper_row_method`]); errors name the run
/// and what it lacks.
pub fn hyper_row(
    name: &str,
    points: &BTreeMap<String, Series>,
    attrs: &BTreeMap<String, f64>,
    final_points: usize,
) -> Result<HyperRow, FitError> {
    if final_points == 0 {
        return Err(FitError::Input("final_points must be at least 1".into()));
    }
    let last = |key: &str| points.get(key).and_then(|s| s.values.last().copied());
    let lr = attrs
        .get("lr")
        .copied()
        .or_else(|| {
            let s = points.get("lr")?;
            s.values.iter().copied().reduce(f64::max)
        })
        .ok_or_else(|| {
            FitError::Input(format!(
                "run '{name}' has no learning rate: log an lr column or give an lr attribute"
            ))
        })?;
    let batch = attrs.get("batch_size").copied().ok_or_else(|| {
        FitError::Input(format!(
            "run '{name}' has no batch size: give a batch_size column or attribute"
        ))
    })?;
    let n = attrs.get("n_params").copied().ok_or_else(|| {
        FitError::Input(format!(
            "run '{name}' has no model size: give an n_params column or attribute"
        ))
    })?;
    let d = attrs
        .get("tokens")
        .copied()
        .or_else(|| last("tokens"))
        .ok_or_else(|| {
            FitError::Input(format!(
                "run '{name}' has no training tokens: log tokens, or give tokens_per_step (or batch_size and seq_len)"
            ))
        })?;
    let loss = points
        .get("loss")
        .filter(|s| !s.values.is_empty())
        .ok_or_else(|| FitError::Input(format!("run '{name}' has no loss points")))?;
    let tail = &loss.values[loss.values.len().saturating_sub(final_points)..];
    Ok(HyperRow {
        n_params: Some(n),
        tokens: Some(d),
        compute: None,
        lr,
        batch,
        loss: tail.iter().sum::<f64>() / tail.len() as f64,
    })
}
