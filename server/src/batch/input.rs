//! Runs (stored or freshly read) -> sweep runs: the loss curve plus the run's batch size.

use std::collections::BTreeMap;

use shared::api::Series;
use shared::api::batch::SweepRun;

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
