//! Stored runs -> the fitting engine's inputs: loss curves with per-step learning rates
//! for the schedule laws, rows of (N, D, loss) for the scaling laws.

use std::collections::BTreeMap;

use shared::api::{RunDetail, Series};
use shared::schedule::{BeforeFirst, Schedule, reconstruct};

use crate::fit::FitError;
use crate::fit::laws::{CurveRun, TableRow};

/// A run's loss curve with learning rates from `schedule` if given, else from its
/// logged `lr` series (rebuilt for every step).
pub fn curve_run(run: &RunDetail, schedule: Option<&Schedule>) -> Result<CurveRun, FitError> {
    let name = &run.summary.name;
    let loss = loss_of(run)?;
    let steps: Vec<usize> = loss.steps.iter().map(|&s| s.max(0.0) as usize).collect();
    let len = steps.last().map_or(0, |s| s + 1);
    let lrs = match (schedule, run.points.get("lr")) {
        (Some(schedule), _) => schedule.to_array_len(len.max(schedule.total() as usize)),
        (None, Some(lr)) => {
            let points: Vec<(u64, f64)> = lr
                .steps
                .iter()
                .zip(&lr.values)
                .map(|(&s, &v)| (s.max(0.0) as u64, v))
                .collect();
            reconstruct(&points, len, BeforeFirst::RampFromZero).map_err(|e| {
                FitError::Input(format!("run '{name}': its logged learning rates: {e}"))
            })?
        }
        (None, None) => {
            return Err(FitError::Input(format!(
                "run '{name}' has no learning rate: schedule laws need a logged lr column or a schedule for the run"
            )));
        }
    };
    Ok(CurveRun {
        name: name.clone(),
        steps,
        loss: loss.values.clone(),
        lrs,
    })
}

/// A run as scaling-table rows: one per loss point, with N from the run's `n_params`,
/// D from its `tokens` series at that step (checkpoints) or its `tokens` attribute, or
/// C / (6 N) from its `flops` attribute; `x` (generic power law) is D, else C, else the step.
pub fn table_rows(run: &RunDetail) -> Result<Vec<TableRow>, FitError> {
    rows_of(&run.summary.name, &run.points, &run.summary.attrs)
}

/// [`table_rows`] from a run's parts (a stored run or a freshly read one).
pub fn rows_of(
    name: &str,
    points: &BTreeMap<String, Series>,
    attrs: &BTreeMap<String, f64>,
) -> Result<Vec<TableRow>, FitError> {
    let n = attrs.get("n_params").copied();
    let tokens = points.get("tokens");
    let loss = points
        .get("loss")
        .filter(|s| !s.steps.is_empty())
        .ok_or_else(|| FitError::Input(format!("run '{name}' has no loss points")))?;
    Ok(loss
        .steps
        .iter()
        .zip(&loss.values)
        .map(|(&step, &value)| {
            let d = tokens
                .and_then(|t| t.steps.iter().position(|&s| s == step).map(|i| t.values[i]))
                .or(attrs.get("tokens").copied())
                .or_else(|| Some(attrs.get("flops")? / (6.0 * n?)));
            let x = d.or(attrs.get("flops").copied()).or(Some(step));
            TableRow {
                run: name.to_string(),
                n,
                d,
                x,
                loss: value,
            }
        })
        .collect())
}

fn loss_of(run: &RunDetail) -> Result<&Series, FitError> {
    run.points
        .get("loss")
        .filter(|s| !s.steps.is_empty())
        .ok_or_else(|| FitError::Input(format!("run '{}' has no loss points", run.summary.name)))
}
