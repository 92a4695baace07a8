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

#[derive(clap::Args, Debug)]
pub struct HyperArgs {
    /// A table of runs: learning rate, batch size, final loss, and N and D (or C) per run.
    #[arg(required_unless_present = "runs")]
    pub file: Option<PathBuf>,
    /// Or (and) run logs in any format, one row per run: LR (the lr attribute, else the
    /// largest logged LR), batch_size, n_params, tokens (last logged), final loss.
    #[arg(long, num_args = 1..)]
    pub runs: Vec<PathBuf>,
    /// Run logs: the final loss is the mean of this many last logged points.
    #[arg(long, default_value_t = 1)]
    pub final_points: usize,
    #[arg(long)]
    pub json: bool,
    /// One CSV row per cell.
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
    /// The loss column (default: `smooth loss` if present, else `loss`).
    #[arg(long)]
    pub loss_col: Option<String>,
    /// Tokens per batch unit (e.g. the sequence length when batches are in sequences).
    #[arg(long, default_value_t = 1.0)]
    pub seq_len: f64,
    /// Runs within this relative distance of a cell's best loss feed its smooth fit.
    #[arg(long, default_value_t = 0.02)]
    pub window: f64,
    #[arg(long, default_value_t = 200)]
    pub bootstrap: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, default_value_t = 0.95)]
    pub ci_level: f64,
}

pub fn run_hyper(args: HyperArgs) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    if let Some(file) = &args.file {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let table =
            ingest::table::read_table(&file.display().to_string(), &bytes, &Limits::default())?;
        rows = batch::table::hyper_rows(&table, args.loss_col.as_deref())?;
    }
    for path in &args.runs {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let name = path.display().to_string();
        for run in ingest::ingest_with(&name, &bytes, &Mapping::default(), &Limits::default())?.runs
        {
            rows.push(batch::input::hyper_row(
                &run.name,
                &run.series,
                &run.attrs,
                args.final_points,
            )?);
        }
    }
    let options = shared::api::batch::HyperOptions {
        tokens_per_batch_unit: args.seq_len,
        window: args.window,
        bootstrap: args.bootstrap,
        seed: args.seed,
        ci_level: args.ci_level,
    };
    let mut r = batch::hyper::fit_hyper(&rows, &options)?;
    if !args.runs.is_empty() {
        r.method
            .insert(0, batch::input::hyper_row_method(args.final_points));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else if args.csv {
        print!("{}", batch::report::hyper_csv(&r));
    } else {
        print!("{}", batch::report::hyper_text(&r));
    }
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct SuFitArgs {
    #[command(flatten)]
    pub sweep: BatchArgs,
    /// Save the fitted law (JSON) for `curvecast batch-predict --law`.
    #[arg(long)]
    pub save: Option<PathBuf>,
}

pub fn run_su_fit(args: SuFitArgs) -> anyhow::Result<()> {
    let (runs, rows) = read_inputs(&args.sweep)?;
    if !rows.is_empty() {
        bail!("L(N, S_min) is fitted to loss curves, not to a steps-to-target table");
    }
    let fitted = batch::su::fit_su(&runs, &args.sweep.options())?;
    if let Some(path) = &args.save {
        std::fs::write(path, serde_json::to_string_pretty(&fitted)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if args.sweep.json {
        println!("{}", serde_json::to_string_pretty(&fitted)?);
    } else {
        let g = batch::report::g;
        let e = |x: &shared::api::batch::Estimate| match x.ci {
            Some([lo, hi]) => format!("{} [{}, {}]", g(x.value), g(lo), g(hi)),
            None => g(x.value),
        };
        println!(
            "L(N, S_min) = (N_c/N)^alpha_N + (S_c/S_min)^alpha_S, B_crit(L) = B*/L^(1/alpha_B)"
        );
        println!(
            "  N_c = {}, alpha_N = {}",
            e(&fitted.n_c),
            e(&fitted.alpha_n)
        );
        println!(
            "  S_c = {}, alpha_S = {}",
            e(&fitted.s_c),
            e(&fitted.alpha_s)
        );
        println!(
            "  B* = {}, alpha_B = {}",
            e(&fitted.b_crit_law.b_star),
            e(&fitted.b_crit_law.alpha_b)
        );
        println!(
            "  {} points, mean relative error {}",
            fitted.n_points,
            g(fitted.mean_rel_error)
        );
        for w in &fitted.warnings {
            println!("warning: {w}");
        }
    }
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct SuPredictArgs {
    /// A law saved by `curvecast batch-su --save`.
    #[arg(long)]
    pub law: PathBuf,
    /// Model parameters N.
    #[arg(long)]
    pub n_params: f64,
    /// Batch size, in the unit of the sweep the law was fitted on.
    #[arg(long)]
    pub batch: f64,
    /// Losses to reach.
    #[arg(long = "target", num_args = 1..)]
    pub targets: Vec<f64>,
    /// The curve runs from step 1 to this step.
    #[arg(long, default_value_t = 100_000.0)]
    pub max_steps: f64,
    #[arg(long, default_value_t = 50)]
    pub points: usize,
    /// Tokens per batch unit.
    #[arg(long, default_value_t = 1.0)]
    pub seq_len: f64,
    #[arg(long)]
    pub json: bool,
    /// Print the curve as CSV `step,tokens,loss`.
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
}

pub fn run_su_predict(args: SuPredictArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.law)
        .with_context(|| format!("reading {}", args.law.display()))?;
    let saved: shared::api::batch::SuFitResponse =
        serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a law saved by `curvecast batch-su --save`",
                args.law.display()
            )
        })?;
    let request = shared::api::batch::SuPredictRequest {
        law: saved.law,
        n_params: args.n_params,
        batch: args.batch,
        max_steps: args.max_steps,
        n_points: args.points,
        target_losses: args.targets.clone(),
        tokens_per_batch_unit: args.seq_len,
        covariance: saved.covariance.clone(),
        ci_level: None,
    };
    let r = batch::su::predict(&request)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    if args.csv {
        println!("step,tokens,loss");
        for p in &r.curve {
            println!("{},{},{}", p.step, p.tokens, p.loss);
        }
        return Ok(());
    }
    let g = batch::report::g;
    // A value with its interval, when the saved law had a covariance.
    let w = |v: f64, ci: Option<[f64; 2]>| match ci {
        Some([lo, hi]) => format!("{} [{}, {}]", g(v), g(lo), g(hi)),
        None => g(v),
    };
    println!(
        "N = {}, batch {}: lowest reachable loss {}",
        g(args.n_params),
        g(args.batch),
        w(r.lowest_loss, r.lowest_loss_ci)
    );
    for t in &r.targets {
        match (t.steps, t.tokens, t.steps_at_b_crit, t.tokens_at_b_crit) {
            (Some(s), Some(tk), Some(s2), Some(tk2)) => println!(
                "loss {}: {} steps, {} tokens at batch {}; compute-optimal batch B_crit = {} ({} steps, {} tokens)",
                g(t.loss),
                w(s, t.steps_ci),
                w(tk, t.tokens_ci),
                g(args.batch),
                w(t.b_crit, t.b_crit_ci),
                w(s2, t.steps_at_b_crit_ci),
                w(tk2, t.tokens_at_b_crit_ci)
            ),
            _ => println!(
                "loss {}: not reachable (below {})",
                g(t.loss),
                g(r.lowest_loss)
            ),
        }
    }
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct SweepArgs {
    /// The CSV file to write (`run,step,loss,batch_size,n_params`).
    #[arg(long)]
    pub out: PathBuf,
}

/// Writes the synthetic sweep of [`batch::synthetic::SweepSpec::default`].
pub fn run_sweep(args: SweepArgs) -> anyhow::Result<()> {
    let runs = batch::synthetic::sweep(&batch::synthetic::SweepSpec::default());
    std::fs::write(&args.out, batch::synthetic::to_csv(&runs))
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!("wrote {} runs to {}", runs.len(), args.out.display());
    Ok(())
}
