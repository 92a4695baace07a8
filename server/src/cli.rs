//! The `curvecast` command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::api::{self, Config};
use crate::cli_examples as examples;
use crate::ingest::{self, Limits, Mapping, Report};
use crate::store::Store;

#[derive(Parser, Debug)]
#[command(
    name = "curvecast",
    version,
    about = "Fit scaling laws and loss-curve laws to training logs, and predict from them",
    after_help = examples::TOP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the web app and the JSON API.
    #[command(after_help = examples::SERVE)]
    Serve(ServeArgs),
    /// Fit a law to runs in log files and print its report.
    #[command(after_help = examples::FIT)]
    Fit(crate::cli_fit::FitArgs),
    /// Rank the schedule laws by how well each forecasts parts of these runs it did not see.
    #[command(after_help = examples::COMPARE)]
    Compare(crate::cli_compare::CompareArgs),
    /// Forecast a loss curve under a schedule from a saved fit.
    #[command(after_help = examples::PREDICT)]
    Predict(crate::cli_fit::PredictArgs),
    /// Critical batch size from a batch sweep (curves or a steps-to-target table).
    #[command(after_help = examples::BATCH)]
    Batch(crate::cli_batch::BatchArgs),
    /// Fit Su et al.'s L(N, S_min) with B_crit(L) on curves of several model sizes and batches.
    #[command(after_help = examples::BATCH_SU)]
    BatchSu(crate::cli_batch::SuFitArgs),
    /// Predict with a saved Su law: loss curve, steps and tokens to a loss, optimal batch.
    #[command(after_help = examples::BATCH_PREDICT)]
    BatchPredict(crate::cli_batch::SuPredictArgs),
    /// Write a synthetic batch sweep with known answers (Kaplan's constants).
    #[command(after_help = examples::BATCH_SWEEP)]
    BatchSweep(crate::cli_batch::SweepArgs),
    /// Optimal learning rate and batch laws from a sweep over LR and batch size.
    #[command(after_help = examples::HYPER)]
    Hyper(crate::cli_batch::HyperArgs),
    /// Write the synthetic demo runs (see `fixtures/README.md`).
    #[command(after_help = examples::DEMO_DATA)]
    DemoData {
        /// Folder to write into.
        #[arg(long, default_value = "fixtures/demo")]
        out: PathBuf,
    },
    /// Read training logs and print what was found (format, runs, series, column roles,
    /// LR source, point counts, warnings), without storing anything.
    #[command(after_help = examples::INGEST)]
    Ingest(IngestArgs),
    /// Write a sample file of every supported format (the project's fixtures).
    #[command(after_help = examples::FIXTURES)]
    Fixtures(FixturesArgs),
    /// Internal: write shell completions (bash, zsh, fish) and man pages into a folder
    /// (`cargo xtask completions` calls it on the built binary, see `cli_gen.rs`).
    #[command(hide = true)]
    Completions {
        #[arg(long)]
        out: PathBuf,
    },
    /// Internal: read one file from stdin and print the reading as JSON (the server reads
    /// Parquet and archives this way, see `isolated.rs`).
    #[command(hide = true)]
    ReadWorker {
        #[arg(long)]
        file: String,
        #[arg(long)]
        mapping: String,
        #[arg(long)]
        limits: String,
    },
}

#[derive(clap::Args, Debug)]
pub struct IngestArgs {
    /// Files to read; a folder is read whole (TensorBoard event files of one folder are one run).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Read every file as this format instead of detecting it (csv, json, ndjson, parquet, tfevents, log, zip).
    #[arg(long)]
    pub format: Option<String>,
    /// The step column (or TensorBoard tag, or log key).
    #[arg(long)]
    pub step_col: Option<String>,
    /// The loss column; repeat it for a wide table (one run per column).
    #[arg(long)]
    pub loss_col: Vec<String>,
    #[arg(long)]
    pub eval_loss_col: Option<String>,
    #[arg(long)]
    pub lr_col: Option<String>,
    /// The column naming the run of each row.
    #[arg(long)]
    pub run_col: Option<String>,
    #[arg(long)]
    pub tokens_col: Option<String>,
    /// Consumed samples (tokens = samples x --seq-len).
    #[arg(long)]
    pub samples_col: Option<String>,
    #[arg(long)]
    pub batch_size_col: Option<String>,
    /// The model-size (N) column.
    #[arg(long)]
    pub n_params_col: Option<String>,
    /// The compute (C, FLOPs) column.
    #[arg(long)]
    pub flops_col: Option<String>,
    /// Sequence length in tokens, for every run.
    #[arg(long)]
    pub seq_len: Option<f64>,
    /// Global batch size in sequences, for every run.
    #[arg(long)]
    pub batch_size: Option<f64>,
    /// Tokens per optimiser step, for every run.
    #[arg(long)]
    pub tokens_per_step: Option<f64>,
    /// Model parameters, for every run.
    #[arg(long)]
    pub n_params: Option<f64>,
}

impl IngestArgs {
    pub fn mapping(&self) -> Mapping {
        Mapping {
            format: self.format.clone(),
            step_col: self.step_col.clone(),
            loss_col: self.loss_col.clone(),
            eval_loss_col: self.eval_loss_col.clone(),
            lr_col: self.lr_col.clone(),
            run_col: self.run_col.clone(),
            tokens_col: self.tokens_col.clone(),
            samples_col: self.samples_col.clone(),
            batch_size_col: self.batch_size_col.clone(),
            n_params_col: self.n_params_col.clone(),
            flops_col: self.flops_col.clone(),
            seq_len: self.seq_len,
            batch_size: self.batch_size,
            tokens_per_step: self.tokens_per_step,
            n_params: self.n_params,
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct FixturesArgs {
    /// Folder to write the sample files to.
    #[arg(long, default_value = "fixtures/formats")]
    pub out: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// SQLite database file (created if missing); else `DATABASE_URL` (`sqlite://PATH` or a
    /// path), else `curvecast.db`.
    #[arg(long, env = "CURVECAST_DB")]
    pub db: Option<PathBuf>,
    /// Access token: every `/api/*` request then needs `Authorization: Bearer TOKEN`.
    /// Required, of at least 16 characters, when `--addr` is not a loopback address.
    #[arg(long, env = "CURVECAST_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Folder of the built web app (made by `cargo xtask dist`); when it has no
    /// `index.html`, the app built into this binary is served, if any.
    #[arg(long, default_value = "dist")]
    pub dist: PathBuf,
    /// Load the demo runs of this folder when the database has no runs.
    #[arg(long)]
    pub demo: Option<PathBuf>,
    /// Largest upload accepted, in MiB. Uploads share a memory budget of this size (one
    /// maximum-size upload is read at a time; the server's peak memory is about 4x it).
    #[arg(long, default_value_t = 128)]
    pub max_upload_mib: usize,
}

/// The shortest access token accepted when the server listens beyond loopback: short
/// tokens can be guessed by a client that tries many.
const MIN_TOKEN_CHARS: usize = 16;

/// The command line; `embedded_app` is the web app the binary carries (empty if none).
pub fn main(embedded_app: api::EmbeddedApp) -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Ingest(args) => return ingest_files(&args),
        Command::ReadWorker {
            file,
            mapping,
            limits,
        } => return read_worker(&file, &mapping, &limits),
        Command::Completions { out } => {
            return match crate::cli_gen::write_all(&out) {
                Ok(files) => {
                    println!("wrote {} files to {}", files.len(), out.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {}: {e}", out.display());
                    ExitCode::FAILURE
                }
            };
        }
        Command::Fixtures(args) => {
            return match ingest::samples::write_all(&args.out) {
                Ok(files) => {
                    println!(
                        "wrote {} sample files to {}",
                        files.len(),
                        args.out.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            };
        }
        _ => {}
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Serve(args) => runtime.block_on(serve(args, embedded_app)),
        Command::DemoData { out } => crate::demo::write(&out),
        Command::Fit(args) => crate::cli_fit::run_fit(args),
        Command::Predict(args) => crate::cli_fit::run_predict(args),
        Command::Compare(args) => crate::cli_compare::run_compare(args),
        Command::Batch(args) => crate::cli_batch::run_batch(args),
        Command::BatchSu(args) => crate::cli_batch::run_su_fit(args),
        Command::BatchPredict(args) => crate::cli_batch::run_su_predict(args),
        Command::BatchSweep(args) => crate::cli_batch::run_sweep(args),
        Command::Hyper(args) => crate::cli_batch::run_hyper(args),
        Command::Ingest(_)
        | Command::Fixtures(_)
        | Command::Completions { .. }
        | Command::ReadWorker { .. } => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs, embedded: api::EmbeddedApp) -> anyhow::Result<()> {
    let token = args.token.clone().filter(|t| !t.is_empty());
    if !args.addr.ip().is_loopback() {
        match &token {
            None => anyhow::bail!(
                "refusing to listen on {} without an access token: set --token or CURVECAST_TOKEN (at least {MIN_TOKEN_CHARS} characters, e.g. from `openssl rand -hex 16`), or bind 127.0.0.1",
                args.addr
            ),
            Some(t) if t.chars().count() < MIN_TOKEN_CHARS => anyhow::bail!(
                "refusing to listen on {} with a token of {} characters: off loopback a token needs at least {MIN_TOKEN_CHARS} (e.g. from `openssl rand -hex 16`)",
                args.addr,
                t.chars().count()
            ),
            Some(_) => {}
        }
    }
    let db = args.db.clone().unwrap_or_else(|| {
        std::env::var("DATABASE_URL")
            .ok()
            .filter(|url| !url.is_empty())
            .map(|url| {
                let path = url
                    .strip_prefix("sqlite://")
                    .or(url.strip_prefix("sqlite:"));
                PathBuf::from(path.unwrap_or(&url))
            })
            .unwrap_or_else(|| PathBuf::from("curvecast.db"))
    });
    let store = Store::open(&db)?;
    if let Some(demo) = &args.demo {
        let n = crate::demo::load_if_empty(&store, demo).await?;
        if n > 0 {
            tracing::info!("loaded {n} demo runs from {}", demo.display());
        }
    }
    let dist = args
        .dist
        .join("index.html")
        .exists()
        .then(|| args.dist.clone());
    match (&dist, embedded.is_empty()) {
        (Some(dist), _) => tracing::info!("serving the web app from {}", dist.display()),
        (None, false) => tracing::info!("serving the web app built into this binary"),
        (None, true) => tracing::warn!(
            "no web app at {} and none built into this binary (run `cargo xtask dist`); serving the API only",
            args.dist.display()
        ),
    }
    let config = Config {
        max_upload_bytes: args.max_upload_mib * 1024 * 1024,
        dist,
        embedded,
        token,
        ..Config::default()
    };
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    tracing::info!("curvecast listening on http://{}", listener.local_addr()?);
    tokio::select! {
        served = api::serve(listener, api::app(store, config)) => served?,
        _ = tokio::signal::ctrl_c() => tracing::info!("shutting down"),
    }
    Ok(())
}

fn read_worker(file: &str, mapping: &str, limits: &str) -> ExitCode {
    let parsed = serde_json::from_str(mapping)
        .and_then(|m| Ok((m, serde_json::from_str(limits)?)))
        .map_err(std::io::Error::other)
        .and_then(|(mapping, limits)| crate::isolated::worker_main(file, &mapping, &limits));
    match parsed {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `curvecast ingest`: reads the files (folders recursively) and prints the report.
fn ingest_files(args: &IngestArgs) -> ExitCode {
    let mut files = Vec::new();
    for path in &args.files {
        if let Err(e) = collect_files(path, &mut files) {
            eprintln!("error: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    let results = crate::isolated::ingest_batch(&files, &args.mapping(), &Limits::default());
    let report = Report {
        files: results
            .iter()
            .map(|(name, r)| ingest::report::file_report(name, r))
            .collect(),
    };
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", ingest::report::to_text(&report));
    }
    if report.files.iter().any(|f| f.error.is_some()) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn collect_files(path: &std::path::Path, out: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for entry in entries {
            collect_files(&entry, out)?;
        }
        return Ok(());
    }
    out.push((path.display().to_string(), std::fs::read(path)?));
    Ok(())
}
