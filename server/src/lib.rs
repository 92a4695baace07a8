//! curvecast's server: ingestion, storage, the HTTP API and the command line.
//!
//! Code map (each module alone knows one outside thing):
//! - [`ingest`]: file bytes -> runs, and [`export`]: predictions -> CSV/JSON/Parquet
//!   (the only modules that know polars); [`isolated`]: reads Parquet and archives in a
//!   child process, whose abort on a damaged file cannot take the server down;
//! - [`store`]: SQLite (the only module that knows SQL);
//! - [`fit`]: fitting laws to runs (the only module that knows argmin);
//! - [`api`]: HTTP (the only module that knows axum);
//! - [`batch`]: the batch-size workflow (critical batch, `B_crit(L)`, Su law, hyper laws);
//! - [`fit_input`]: stored runs -> fit inputs; [`jobs`]: the queue that runs fits;
//! - [`batch`]: the batch-size workflow (critical batch, Su et al.'s law, hyper-parameter laws);
//! - [`cli`]: the `curvecast` command line (`cli_fit`: `fit` and `predict`; `cli_batch`:
//!   `batch`, `batch-su`, `batch-predict`, `batch-sweep`, `hyper`; `cli_examples`: the
//!   examples at the end of each help; `cli_gen`: shell completions and man pages);
//! - [`demo`]: loads the demo runs of `fixtures/demo` into an empty store.

pub mod api;
pub mod batch;
pub mod cli;
mod cli_batch;
mod cli_compare;
pub mod cli_examples;
mod cli_fit;
pub mod cli_gen;
pub mod demo;
pub mod export;
pub mod fit;
pub mod fit_input;
pub mod ingest;
pub mod isolated;
pub mod jobs;
pub mod rng;
pub mod store;
