//! The `curvecast` command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::api::{self, Config};
use crate::store::Store;

#[derive(Parser, Debug)]
#[command(
    name = "curvecast",
    version,
    about = "Fit scaling laws and loss-curve laws to training logs, and predict from them"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the web app and the JSON API.
    Serve(ServeArgs),
    /// Fit a law to runs in log files and print its report.
    Fit(crate::cli_fit::FitArgs),
    /// Forecast a loss curve under a schedule from a saved fit.
    Predict(crate::cli_fit::PredictArgs),
    /// Write the synthetic demo runs (see `fixtures/README.md`).
    DemoData {
        /// Folder to write into.
        #[arg(long, default_value = "fixtures/demo")]
        out: PathBuf,
    },
}

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// SQLite database file (created if missing).
    #[arg(long, env = "CURVECAST_DB", default_value = "curvecast.db")]
    pub db: PathBuf,
    /// Folder of the built web app (made by `cargo xtask dist`).
    #[arg(long, default_value = "dist")]
    pub dist: PathBuf,
    /// Load the demo runs of this folder when the database has no runs.
    #[arg(long)]
    pub demo: Option<PathBuf>,
    /// Largest upload accepted, in MiB.
    #[arg(long, default_value_t = 256)]
    pub max_upload_mib: usize,
}

pub fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Serve(args) => runtime.block_on(serve(args)),
        Command::DemoData { out } => crate::demo::write(&out),
        Command::Fit(args) => crate::cli_fit::run_fit(args),
        Command::Predict(args) => crate::cli_fit::run_predict(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let store = Store::open(&args.db)?;
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
    if dist.is_none() {
        tracing::warn!(
            "no web app at {} (run `cargo xtask dist`); serving the API only",
            args.dist.display()
        );
    }
    let config = Config {
        max_upload_bytes: args.max_upload_mib * 1024 * 1024,
        dist,
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
