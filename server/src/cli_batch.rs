//! `curvecast batch` (critical batch size from a sweep), `curvecast batch-predict`
//! (Su et al.'s predictions) and `curvecast hyper` (optimal LR and batch laws).

use std::path::PathBuf;

use anyhow::{Context, bail};
use shared::api::batch::{BatchOptions, StepsRow, SweepRun};

use crate::batch::{self, table::Columns};
use crate::ingest::{self, Limits, Mapping};

#[derive(clap::Args, Debug)]
pub struct BatchArgs {
    /// Loss curves of runs at several batch sizes (any supported log format; each run needs
    /// a batch size), or a reduced table with a steps-to-target column (e.g. `steps_to_goal`).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print the analysis as JSON.
    #[arg(long)]
    pub json: bool,
    /// Print one CSV row per model and target.
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
    /// Target losses (default: --n-targets chosen in the range all runs reach).
    #[arg(long = "target", num_args = 1..)]
    pub targets: Vec<f64>,
    #[arg(long, default_value_t = 8)]
    pub n_targets: usize,
    /// Centered moving average over this many logged points before finding crossings.
    #[arg(long, default_value_t = 1)]
    pub smooth: usize,
    /// Zhang's reference batch B0 (default: the smallest batch of each model's sweep).
    #[arg(long)]
    pub reference_batch: Option<f64>,
    /// Zhang's overhead over linear scaling.
    #[arg(long, default_value_t = 0.2)]
    pub overhead: f64,
    #[arg(long, default_value_t = 0.95)]
    pub ci_level: f64,
    /// Curves: the batch-size column, if not recognised by name.
    #[arg(long)]
    pub batch_size_col: Option<String>,
    /// Curves: the column naming the run of each row.
    #[arg(long)]
    pub run_col: Option<String>,
    /// Curves: the step and loss columns, if not recognised by name.
    #[arg(long)]
    pub step_col: Option<String>,
    #[arg(long)]
    pub loss_col: Option<String>,
    /// Curves: the model-size column.
    #[arg(long)]
    pub n_params_col: Option<String>,
    /// Table: the steps-to-target, batch, model and target-loss columns, if not recognised.
    #[arg(long)]
    pub steps_col: Option<String>,
    #[arg(long)]
    pub batch_col: Option<String>,
    #[arg(long)]
    pub model_col: Option<String>,
    #[arg(long)]
    pub target_col: Option<String>,
}

impl BatchArgs {
    pub fn options(&self) -> BatchOptions {
        BatchOptions {
            targets: self.targets.clone(),
            n_targets: self.n_targets,
            smoothing_window: self.smooth,
            reference_batch: self.reference_batch,
            overhead: self.overhead,
            ci_level: self.ci_level,
        }
    }
}

/// Reads each file as a reduced table if it has a steps-to-target column, else as runs.
pub fn read_inputs(args: &BatchArgs) -> anyhow::Result<(Vec<SweepRun>, Vec<StepsRow>)> {
    let columns = Columns {
        model: args.model_col.clone(),
        batch: args.batch_col.clone(),
        steps: args.steps_col.clone(),
        target: args.target_col.clone(),
    };
    let mapping = Mapping {
        batch_size_col: args.batch_size_col.clone(),
        run_col: args.run_col.clone(),
        step_col: args.step_col.clone(),
        loss_col: args.loss_col.iter().cloned().collect(),
        n_params_col: args.n_params_col.clone(),
        ..Mapping::default()
    };
    let (mut runs, mut rows) = (Vec::new(), Vec::new());
    for path in &args.files {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let name = path.display().to_string();
        let limits = Limits::default();
        let is_table = ingest::table::read_table(&name, &bytes, &limits)
            .ok()
            .filter(|t| batch::table::is_steps_table(t, &columns));
        match is_table {
            Some(table) => rows.extend(batch::table::rows(&table, &columns)?),
            None => {
                for run in ingest::ingest_with(&name, &bytes, &mapping, &limits)?.runs {
                    runs.push(batch::input::sweep_run(&run.name, &run.series, &run.attrs)?);
                }
            }
        }
    }
    if runs.is_empty() && rows.is_empty() {
        bail!("no runs or table rows in the files");
    }
    Ok((runs, rows))
}

pub fn run_batch(args: BatchArgs) -> anyhow::Result<()> {
    let (runs, rows) = read_inputs(&args)?;
    let analysis = batch::analyze(&runs, &rows, &args.options())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&analysis)?);
    } else if args.csv {
        print!("{}", batch::report::to_csv(&analysis));
    } else {
        print!("{}", batch::report::to_text(&analysis));
    }
    Ok(())
}
