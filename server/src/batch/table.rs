//! A reduced sweep read as a table -> [`StepsRow`]s: columns found by name (or given),
//! every bad cell reported with its file, line and column.

use shared::api::batch::StepsRow;

use crate::ingest::IngestError;
use crate::ingest::table::Table;

/// Column names recognised (case-insensitive), in order of preference.
const MODEL: &[&str] = &["model", "model_size", "model_name", "run"];
const N_PARAMS: &[&str] = &["n_params", "n", "params", "num_params"];
/// Model size in millions.
const N_PARAMS_M: &[&str] = &["model_size_m", "n_params_m", "params_m"];
const TARGET: &[&str] = &["target_loss", "goal_loss", "goal_c4_val_loss", "target"];
const BATCH: &[&str] = &[
    "batch_size_seqs",
    "batch_size",
    "batch",
    "bs",
    "batch_size_tokens",
];
const STEPS: &[&str] = &["steps_to_goal", "steps_to_target", "steps_to_loss", "steps"];

/// Column names that override the recognised ones.
#[derive(Clone, Debug, Default)]
pub struct Columns {
    pub model: Option<String>,
    pub batch: Option<String>,
    pub steps: Option<String>,
    pub target: Option<String>,
}

/// Whether the table looks like a reduced sweep (it has a steps-to-target column).
pub fn is_steps_table(table: &Table, columns: &Columns) -> bool {
    columns.steps.is_some() || table.find(&STEPS[..3]).is_some()
}

fn column(
    table: &Table,
    given: &Option<String>,
    names: &[&str],
    what: &str,
) -> Result<Option<usize>, IngestError> {
    match given {
        Some(name) => table.find(&[name.as_str()]).map(Some).ok_or_else(|| {
            IngestError::new(
                crate::ingest::IngestErrorKind::Missing,
                &table.file,
                format!(
                    "no column '{name}' for the {what}; the columns are {:?}",
                    table.columns
                ),
            )
        }),
        None => Ok(table.find(names)),
    }
}

pub fn rows(table: &Table, columns: &Columns) -> Result<Vec<StepsRow>, IngestError> {
    let required = |c: Option<usize>, what: &str, names: &[&str]| {
        c.ok_or_else(|| {
            IngestError::new(
                crate::ingest::IngestErrorKind::Missing,
                &table.file,
                format!(
                    "no {what} column (looked for {names:?}; the columns are {:?})",
                    table.columns
                ),
            )
        })
    };
    let batch = required(
        column(table, &columns.batch, BATCH, "batch size")?,
        "batch size",
        BATCH,
    )?;
    let steps = required(
        column(table, &columns.steps, STEPS, "steps")?,
        "steps",
        STEPS,
    )?;
    let model = column(table, &columns.model, MODEL, "model")?;
    let target = column(table, &columns.target, TARGET, "target loss")?;
    let n = table.find(N_PARAMS);
    let n_m = table.find(N_PARAMS_M);
    let mut out = Vec::with_capacity(table.cells.len());
    for row in 0..table.cells.len() {
        let n_params = match (n, n_m) {
            (Some(c), _) => Some(table.number(row, c)?),
            (None, Some(c)) => Some(table.number(row, c)? * 1e6),
            _ => None,
        };
        out.push(StepsRow {
            model: super::model_key(
                &model.and_then(|c| table.text(row, c)).map(str::to_string),
                n_params,
            ),
            n_params,
            target_loss: target.map(|c| table.number(row, c)).transpose()?,
            batch: table.number(row, batch)?,
            steps: table.number(row, steps)?,
        });
    }
    if out.is_empty() {
        return Err(IngestError::new(
            crate::ingest::IngestErrorKind::Empty,
            &table.file,
            "the table has no rows",
        ));
    }
    Ok(out)
}

const HYPER_LR: &[&str] = &["lr", "learning_rate", "peak_lr"];
const HYPER_BATCH: &[&str] = &["bs", "batch_size", "batch"];
/// The smoothed final loss first (less noise), then the final loss.
const HYPER_LOSS: &[&str] = &["smooth loss", "smooth_loss", "loss", "final_loss"];
const HYPER_D: &[&str] = &["d", "tokens", "n_tokens"];
const HYPER_C: &[&str] = &["c", "compute", "flops"];

/// A sweep of final losses over LR and batch, one row per run: columns found by name
/// (`loss_col` overrides the loss column).
pub fn hyper_rows(
    table: &Table,
    loss_col: Option<&str>,
) -> Result<Vec<shared::api::batch::HyperRow>, IngestError> {
    let need = |names: &[&str], what: &str| {
        table.find(names).ok_or_else(|| {
            IngestError::new(
                crate::ingest::IngestErrorKind::Missing,
                &table.file,
                format!(
                    "no {what} column (looked for {names:?}; the columns are {:?})",
                    table.columns
                ),
            )
        })
    };
    let lr = need(HYPER_LR, "learning-rate")?;
    let batch = need(HYPER_BATCH, "batch-size")?;
    let loss = match loss_col {
        Some(name) => need(&[name], "loss")?,
        None => need(HYPER_LOSS, "loss")?,
    };
    let (n, d, c) = (
        table.find(N_PARAMS),
        table.find(HYPER_D),
        table.find(HYPER_C),
    );
    let num = |row: usize, col: Option<usize>| col.map(|c| table.number(row, c)).transpose();
    (0..table.cells.len())
        .map(|row| {
            Ok(shared::api::batch::HyperRow {
                n_params: num(row, n)?,
                tokens: num(row, d)?,
                compute: num(row, c)?,
                lr: table.number(row, lr)?,
                batch: table.number(row, batch)?,
                loss: table.number(row, loss)?,
            })
        })
        .collect()
}
