//! Stored runs -> the fitting engine's inputs: loss curves with per-step learning rates
//! for the schedule laws, rows of (N, D, loss) for the scaling laws.
//!
//! Steps and losses are checked again here, not only at ingestion: runs stored by an
//! older version (or written to the store directly) may carry any number, and a step
//! sizes the per-step learning-rate arrays. A step must be a whole number in
//! `0..=MAX_STEPS` ([`shared::schedule::step_index`]) and a loss finite and > 0, else
//! the fit fails with a [`FitError::Input`] naming the run and the step; nothing is
//! allocated by an unchecked number.

use std::collections::BTreeMap;

use shared::api::{RunDetail, Series};
use shared::schedule::{BeforeFirst, MAX_STEPS, Schedule, reconstruct, step_index};

use crate::fit::FitError;
use crate::fit::laws::{CurveRun, TableRow};

/// A run's loss curve with learning rates from `schedule` if given, else from its
/// logged `lr` series (rebuilt for every step).
pub fn curve_run(run: &RunDetail, schedule: Option<&Schedule>) -> Result<CurveRun, FitError> {
    curve_of(&run.summary.name, &run.points, schedule)
}

/// [`curve_run`] from a run's parts (a stored run or a freshly read one).
pub fn curve_of(
    name: &str,
    points: &BTreeMap<String, Series>,
    schedule: Option<&Schedule>,
) -> Result<CurveRun, FitError> {
    let loss = loss_of(name, points)?;
    let steps = indices(name, "loss", &loss.steps)?;
    check_losses(name, loss)?;
    // Steps are at most MAX_STEPS, so this cannot overflow.
    let len = steps.iter().max().map_or(0, |s| s + 1);
    let lrs = match (schedule, points.get("lr")) {
        (Some(schedule), _) => {
            let total = usize::try_from(schedule.total()).unwrap_or(usize::MAX);
            schedule
                .try_to_array_len(len.max(total))
                .map_err(|e| FitError::Input(format!("run '{name}': its schedule: {e}")))?
        }
        (None, Some(lr)) => logged_lrs(name, lr, len)?,
        (None, None) => {
            return Err(FitError::Input(format!(
                "run '{name}' has no learning rate: schedule laws need a logged lr column or a schedule for the run"
            )));
        }
    };
    Ok(CurveRun {
        name: name.to_string(),
        steps,
        loss: loss.values.clone(),
        lrs,
    })
}

/// Per-step learning rates `eta(0..len)` rebuilt from a run's logged (usually sparse)
/// `lr` series; `len` is at most `MAX_STEPS + 1` (else an error).
pub fn logged_lrs(name: &str, lr: &Series, len: usize) -> Result<Vec<f64>, FitError> {
    let points: Vec<(u64, f64)> = indices(name, "lr", &lr.steps)?
        .into_iter()
        .zip(&lr.values)
        .map(|(s, &v)| (s as u64, v))
        .collect();
    reconstruct(&points, len, BeforeFirst::RampFromZero)
        .map_err(|e| FitError::Input(format!("run '{name}': its logged learning rates: {e}")))
}

/// The steps of a run's series as array indices, or an error naming the run and step.
fn indices(name: &str, series: &str, steps: &[f64]) -> Result<Vec<usize>, FitError> {
    steps
        .iter()
        .map(|&s| {
            step_index(s).map_err(|e| {
                FitError::Input(format!(
                    "run '{name}', {series} series: {e} (steps must be whole numbers from 0 to {MAX_STEPS}); re-upload the run"
                ))
            })
        })
        .collect()
}

/// Losses are fitted in logs: each must be finite and > 0.
fn check_losses(name: &str, loss: &Series) -> Result<(), FitError> {
    match loss
        .values
        .iter()
        .position(|v| !(v.is_finite() && *v > 0.0))
    {
        Some(i) => Err(FitError::Input(format!(
            "run '{name}': the loss at step {} is {}, not a finite number > 0; re-upload the run",
            loss.steps[i], loss.values[i]
        ))),
        None => Ok(()),
    }
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
    let loss = loss_of(name, points)?;
    check_losses(name, loss)?;
    Ok(loss
        .steps
        .iter()
        .zip(&loss.values)
        .map(|(&step, &value)| {
            let d = tokens
                .and_then(|t| {
                    let i = t.steps.iter().position(|&s| s == step)?;
                    t.values.get(i).copied()
                })
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

fn loss_of<'a>(name: &str, points: &'a BTreeMap<String, Series>) -> Result<&'a Series, FitError> {
    let loss = points
        .get("loss")
        .filter(|s| !s.steps.is_empty())
        .ok_or_else(|| FitError::Input(format!("run '{name}' has no loss points")))?;
    if loss.steps.len() != loss.values.len() {
        return Err(FitError::Input(format!(
            "run '{name}': its loss series has {} steps but {} values",
            loss.steps.len(),
            loss.values.len()
        )));
    }
    Ok(loss)
}
