//! curvecast's server: ingestion, storage, the HTTP API and the command line.
//!
//! Code map (each module alone knows one outside thing):
//! - [`ingest`]: file bytes -> runs (the only module that knows polars);
//! - [`store`]: SQLite (the only module that knows SQL);
//! - [`fit`]: fitting laws to runs (the only module that knows argmin);
//! - [`api`]: HTTP (the only module that knows axum);
//! - [`cli`]: the `curvecast` command line (`cli_fit`: its `fit` and `predict`);
//! - [`demo`]: loads the demo runs of `fixtures/demo` into an empty store.

pub mod api;
pub mod cli;
mod cli_fit;
pub mod demo;
pub mod fit;
pub mod ingest;
pub mod rng;
pub mod store;
