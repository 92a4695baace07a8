//! `curvecast compare`: which schedule law forecasts these runs best, without the server
//! (the engine is `fit::compare`).

use std::path::PathBuf;

use anyhow::bail;

use crate::cli_fit::{curve_run, parse_objective, parse_schedules, read_runs};
use crate::fit::FitOptions;
use crate::fit::compare::{self, parse_laws};
use crate::fit::laws::{Convention, Exclusion, LawSettings};

#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Laws to compare, comma-separated (default: momentum,multipower,fsl,convex,power-s1).
    #[arg(long, value_delimiter = ',')]
    pub laws: Vec<String>,
    /// Runs to compare on (default: every run in the files).
    #[arg(long = "runs", num_args = 1..)]
    pub runs: Vec<String>,
    /// A schedule for runs without a logged LR: `SPEC` for all, or `RUN=SPEC`.
    #[arg(long = "schedule")]
    pub schedules: Vec<String>,
    /// Index convention of the schedule laws: `code` (the authors' released code) or `paper`.
    #[arg(long, default_value = "code")]
    pub convention: String,
    /// Leave out points before this step (e.g. the warmup).
    #[arg(long)]
    pub skip_before: Option<usize>,
    /// Objective: `huber` (on log loss, the default), `ls-log` or `ls-raw` (least squares).
    #[arg(long, default_value = "huber")]
    pub objective: String,
    /// Huber's delta (on log residuals).
    #[arg(long, default_value_t = 1e-3)]
    pub delta: f64,
    /// Print the comparison as JSON.
    #[arg(long)]
    pub json: bool,
    pub files: Vec<PathBuf>,
}

pub fn run_compare(args: CompareArgs) -> anyhow::Result<()> {
    let laws = parse_laws(&args.laws)?;
    let convention = match args.convention.as_str() {
        "code" => Convention::Code,
        "paper" => Convention::Paper,
        other => bail!("unknown convention '{other}': use `code` or `paper`"),
    };
    let schedules = parse_schedules(&args.schedules)?;
    let mut runs = Vec::new();
    for path in &args.files {
        for run in read_runs(path)? {
            if args.runs.is_empty() || args.runs.contains(&run.name) {
                runs.push(curve_run(run, &schedules)?);
            }
        }
    }
    if let Some(missing) = args
        .runs
        .iter()
        .find(|n| !runs.iter().any(|r| &r.name == *n))
    {
        bail!("no run named '{missing}' in the files");
    }
    if runs.is_empty() {
        bail!("no runs to compare: give log files");
    }
    let options = FitOptions {
        objective: parse_objective(&args.objective, args.delta, 1.0)?,
        ..FitOptions::default()
    };
    let settings = LawSettings {
        convention,
        ..LawSettings::default()
    };
    let exclusion = Exclusion {
        before_step: args.skip_before,
        ..Exclusion::default()
    };
    let comparison = compare::compare(&laws, &runs, &exclusion, &settings, &options)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&comparison)?);
    } else {
        print!("{}", compare::text(&comparison));
    }
    Ok(())
}
