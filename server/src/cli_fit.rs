//! `curvecast fit` and `curvecast predict`: fitting laws to log files and forecasting
//! from a saved fit, without the server.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, bail};
use shared::schedule::{MAX_STEPS, Schedule};

use crate::fit::laws::{self, Convention, CurveRun, Exclusion, LawName, LawSettings};
use crate::fit::objective::{Objective, Penalty, Scale};
use crate::fit::predict::{SavedFit, predict_curve, warnings};
use crate::fit::{FitOptions, fit, report};
use crate::fit_input;
use crate::ingest::{self, Limits, ParsedRun};

#[derive(clap::Args, Debug)]
pub struct FitArgs {
    /// Schedule laws: momentum, multipower, fsl, convex, power-s1; table laws: chinchilla,
    /// kaplan-n, kaplan-d, kaplan-nd, kaplan-ns, power.
    #[arg(long)]
    pub law: String,
    /// Runs to fit (default: every run not held out).
    #[arg(long = "train", num_args = 1..)]
    pub train: Vec<String>,
    /// Runs to keep out of the fit and report errors on.
    #[arg(long = "holdout", num_args = 1..)]
    pub holdout: Vec<String>,
    /// A schedule for runs without a logged LR: `SPEC` for all, or `RUN=SPEC`.
    #[arg(long = "schedule")]
    pub schedules: Vec<String>,
    /// Index convention of the schedule laws: `code` (the authors' released code) or `paper`.
    #[arg(long, default_value = "code")]
    pub convention: String,
    /// Leave out points before this step (e.g. the warmup).
    #[arg(long)]
    pub skip_before: Option<usize>,
    /// Leave out the first fraction (0-1) of each run's logged steps.
    #[arg(long)]
    pub skip_fraction: Option<f64>,
    /// Leave out an inclusive step range `FIRST..LAST` of every run (repeatable).
    #[arg(long, value_parser = parse_range)]
    pub exclude_range: Vec<[usize; 2]>,
    /// Leave out the K highest-loss points (outliers, e.g. spikes).
    #[arg(long, default_value_t = 0)]
    pub exclude_highest: usize,
    /// Weight of a fitted run's points, `RUN=W` (repeatable; default 1).
    #[arg(long, value_parser = parse_weight)]
    pub weight: Vec<(String, f64)>,
    /// Objective: `huber` (on log loss, the default), `ls-log` or `ls-raw` (least squares).
    #[arg(long, default_value = "huber")]
    pub objective: String,
    /// Huber's delta (on log residuals).
    #[arg(long, default_value_t = 1e-3)]
    pub delta: f64,
    /// Multiply the penalty of over-predicted points (1 = symmetric).
    #[arg(long, default_value_t = 1.0)]
    pub over_prediction_weight: f64,
    /// Hold a parameter at a value: `NAME=VALUE` (repeatable).
    #[arg(long = "fix")]
    pub fix: Vec<String>,
    /// Bounds of a parameter: `NAME=LO:HI` (repeatable).
    #[arg(long = "bound")]
    pub bound: Vec<String>,
    /// Relative strength of the law's prior (multipower; 0 = plain maximum likelihood).
    #[arg(long)]
    pub prior_strength: Option<f64>,
    /// Choose the prior's strength by forecast validation on the fitted runs: the one
    /// that best forecasts each run's hidden last third (and, with 3+ runs, each run
    /// left out whole).
    #[arg(long)]
    pub cross_validate: bool,
    /// Bootstrap resamples (of whole runs with 4+ runs, else of blocks of residuals within
    /// each run); 0 for none.
    #[arg(long, default_value_t = 0)]
    pub bootstrap: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Save the fit (for `curvecast predict --fit`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    pub files: Vec<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct PredictArgs {
    /// A fit saved by `curvecast fit --out`.
    #[arg(long)]
    pub fit: PathBuf,
    /// The schedule to forecast, e.g. `wsd:peak=3e-4,warmup=2160,total=24000,decay=0.2,shape=sqrt`.
    #[arg(long, conflicts_with = "lr_from")]
    pub schedule: Option<String>,
    /// Take the learning rates from a log file's `lr` column instead.
    #[arg(long)]
    pub lr_from: Option<PathBuf>,
    /// Steps between predicted points (1 to 10,000,000, `shared::schedule::MAX_STEPS`).
    #[arg(long, default_value_t = 100)]
    pub every: usize,
    /// Output file: `.csv` or `.json` (default: CSV on standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run_fit(args: FitArgs) -> anyhow::Result<()> {
    if let Some(f) = args.skip_fraction {
        anyhow::ensure!(
            (0.0..1.0).contains(&f),
            "--skip-fraction {f} is not in [0, 1)"
        );
    }
    let law = LawName::parse(&args.law)?;
    if !law.is_schedule_law() {
        return run_table_fit(law, &args);
    }
    let convention = match args.convention.as_str() {
        "code" => Convention::Code,
        "paper" => Convention::Paper,
        other => bail!("unknown convention '{other}': use `code` or `paper`"),
    };
    let schedules = parse_schedules(&args.schedules)?;
    let mut runs = Vec::new();
    for path in &args.files {
        for run in read_runs(path)? {
            if !args.train.is_empty()
                && !args.train.contains(&run.name)
                && !args.holdout.contains(&run.name)
            {
                continue;
            }
            runs.push(curve_run(run, &schedules)?);
        }
    }
    let settings = LawSettings {
        convention,
        ..LawSettings::default()
    };
    let exclusion = Exclusion {
        before_step: args.skip_before,
        first_fraction: args.skip_fraction,
        highest_loss: args.exclude_highest,
        ranges: args.exclude_range.clone(),
    };
    let prepared = laws::prepare_curves(law, &runs, &args.holdout, &exclusion, &settings)?;
    let fitted = fit(prepared, &fit_options(&args)?)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&fitted.report)?);
    } else {
        print!("{}", report::text(&fitted.report));
    }
    if let Some(out) = args.out {
        let saved = SavedFit {
            law,
            settings,
            params: fitted.params,
            report: fitted.report,
        };
        std::fs::write(&out, serde_json::to_vec_pretty(&saved)?)
            .with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}

/// The engine's options from the command line.
fn fit_options(args: &FitArgs) -> anyhow::Result<FitOptions> {
    let objective = parse_objective(&args.objective, args.delta, args.over_prediction_weight)?;
    let fixed = args
        .fix
        .iter()
        .map(|f| {
            let (name, value) = f
                .split_once('=')
                .with_context(|| format!("--fix {f}: expected NAME=VALUE"))?;
            let value: f64 = value
                .parse()
                .with_context(|| format!("--fix {f}: '{value}' is not a number"))?;
            Ok((name.to_string(), value))
        })
        .collect::<anyhow::Result<BTreeMap<_, _>>>()?;
    let bounds = args
        .bound
        .iter()
        .map(|b| {
            let parsed = b.split_once('=').and_then(|(name, range)| {
                let (lo, hi) = range.split_once(':')?;
                Some((name.to_string(), [lo.parse().ok()?, hi.parse().ok()?]))
            });
            parsed.with_context(|| format!("--bound {b}: expected NAME=LO:HI with numbers"))
        })
        .collect::<anyhow::Result<BTreeMap<_, _>>>()?;
    Ok(FitOptions {
        bootstrap: args.bootstrap,
        objective,
        fixed,
        bounds,
        prior_strength: args.prior_strength,
        cross_validate: args.cross_validate,
        run_weights: args.weight.iter().cloned().collect(),
        ..FitOptions::default()
    })
}

/// A scaling law on table rows (N from `n_params`, D from `tokens` or `flops`/6N).
fn run_table_fit(law: LawName, args: &FitArgs) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for path in &args.files {
        for run in read_runs(path)? {
            if args.train.is_empty()
                || args.train.contains(&run.name)
                || args.holdout.contains(&run.name)
            {
                rows.extend(crate::fit_input::rows_of(
                    &run.name,
                    &run.series,
                    &run.attrs,
                )?);
            }
        }
    }
    let exclusion = Exclusion {
        highest_loss: args.exclude_highest,
        ..Exclusion::default()
    };
    let prepared = laws::prepare_table(law, &rows, &args.holdout, &exclusion)?;
    let fitted = fit(prepared, &fit_options(args)?)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&fitted.report)?);
    } else {
        print!("{}", report::text(&fitted.report));
    }
    Ok(())
}

pub fn run_predict(args: PredictArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=MAX_STEPS as usize).contains(&args.every),
        "--every {} is not in 1..={MAX_STEPS}",
        args.every
    );
    let text =
        std::fs::read(&args.fit).with_context(|| format!("reading {}", args.fit.display()))?;
    let saved: SavedFit = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a saved fit", args.fit.display()))?;
    let lrs = match (&args.schedule, &args.lr_from) {
        (Some(spec), _) => spec
            .parse::<Schedule>()
            .map_err(|e| anyhow::anyhow!("--schedule: {e}"))?
            .to_array(),
        (None, Some(path)) => {
            let runs = read_runs(path)?;
            let [run] = &runs[..] else {
                bail!("{}: expected one run, found {}", path.display(), runs.len())
            };
            let lr = run
                .series
                .get("lr")
                .with_context(|| format!("{}: no lr column", path.display()))?;
            // Ingestion bounds the steps; `step_index` checks them again as sizes.
            let last = lr.steps.last().copied().unwrap_or(0.0);
            let len = shared::schedule::step_index(last)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
                + 1;
            fit_input::logged_lrs(&run.name, lr, len)?
        }
        (None, None) => bail!("give --schedule SPEC or --lr-from FILE"),
    };
    let steps: Vec<usize> = (args.every..lrs.len()).step_by(args.every).collect();
    let points = predict_curve(&saved, &lrs, &steps)?;
    // On stderr, so that the CSV on stdout stays clean.
    for w in warnings(&saved, &lrs, lrs.len()) {
        eprintln!("warning: {} [{}]", w.message, w.code);
    }
    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let output = match args
        .out
        .as_ref()
        .and_then(|p| p.extension())
        .and_then(|e| e.to_str())
    {
        Some("json") => serde_json::to_string_pretty(&points)?,
        None | Some("csv") => {
            let mut csv = String::from("step,loss,lower,upper\n");
            for p in &points {
                csv.push_str(&format!(
                    "{},{},{},{}\n",
                    p.step,
                    p.loss,
                    opt(p.lower),
                    opt(p.upper)
                ));
            }
            csv
        }
        Some(other) => bail!("unknown output format '.{other}': use .csv or .json"),
    };
    match args.out {
        Some(path) => {
            std::fs::write(&path, output).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{output}"),
    }
    Ok(())
}

pub(crate) fn read_runs(path: &PathBuf) -> anyhow::Result<Vec<ParsedRun>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(ingest::ingest(&name, &bytes, &Limits::default())?.runs)
}

/// `RUN=W`.
fn parse_weight(text: &str) -> Result<(String, f64), String> {
    let (run, w) = text
        .rsplit_once('=')
        .ok_or_else(|| format!("'{text}' is not RUN=WEIGHT"))?;
    let w = w
        .trim()
        .parse::<f64>()
        .map_err(|_| format!("'{w}' in '{text}' is not a number"))?;
    Ok((run.to_string(), w))
}

/// `FIRST..LAST` (inclusive steps).
fn parse_range(text: &str) -> Result<[usize; 2], String> {
    let (a, b) = text
        .split_once("..")
        .ok_or_else(|| format!("'{text}' is not a step range FIRST..LAST"))?;
    let parse = |x: &str| {
        x.trim()
            .parse::<usize>()
            .map_err(|_| format!("'{x}' in '{text}' is not a step"))
    };
    let (a, b) = (parse(a)?, parse(b)?);
    if a > b {
        return Err(format!("the range '{text}' ends before it starts"));
    }
    Ok([a, b])
}

pub(crate) fn parse_objective(name: &str, delta: f64, over: f64) -> anyhow::Result<Objective> {
    if !(delta.is_finite() && delta > 0.0) {
        bail!("--delta must be a positive number, got {delta}");
    }
    if !(over.is_finite() && over > 0.0) {
        bail!("--over-prediction-weight must be a positive number, got {over}");
    }
    let (penalty, scale) = match name {
        "huber" => (Penalty::Huber { delta }, Scale::Log),
        "ls-log" => (Penalty::LeastSquares, Scale::Log),
        "ls-raw" => (Penalty::LeastSquares, Scale::Raw),
        other => bail!("unknown objective '{other}': use huber, ls-log or ls-raw"),
    };
    Ok(Objective {
        penalty,
        scale,
        over_prediction_weight: over,
    })
}

/// `SPEC` (key "") or `RUN=SPEC`.
pub(crate) fn parse_schedules(specs: &[String]) -> anyhow::Result<BTreeMap<String, Schedule>> {
    specs
        .iter()
        .map(|s| {
            let (run, spec) = match s.split_once('=') {
                Some((run, spec)) if !run.contains(':') => (run.to_string(), spec),
                _ => (String::new(), s.as_str()),
            };
            let schedule = spec
                .parse::<Schedule>()
                .map_err(|e| anyhow::anyhow!("--schedule {s}: {e}"))?;
            Ok((run, schedule))
        })
        .collect()
}

pub(crate) fn curve_run(
    run: ParsedRun,
    schedules: &BTreeMap<String, Schedule>,
) -> anyhow::Result<CurveRun> {
    let schedule = schedules.get(&run.name).or(schedules.get(""));
    if schedule.is_none() && !run.series.contains_key("lr") {
        bail!(
            "run '{}' has no learning rate: log an lr column or give --schedule",
            run.name
        );
    }
    Ok(fit_input::curve_of(&run.name, &run.series, schedule)?)
}
