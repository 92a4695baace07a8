//! `shared`: what both the server and the browser app need.
//!
//! - [`api`]: the serde types of the JSON API, the only wire format.
//! - [`display`]: smoothing, downsampling and export tables of the app's charts;
//!   [`forecast`]: a saved schedule-law fit under any schedule, with its band;
//!   [`extrapolation`]: the warnings of a forecast that leaves what its fit saw.
//! - the pure law and schedule math (no IO, no threads), so that the browser can
//!   forecast instantly with exactly the code the server fits with.
//!
//! Architecture invariant: this crate does no IO and compiles for `wasm32-unknown-unknown`.

pub mod api;
pub mod api_batch;
mod api_ingest;
pub mod display;
pub mod extrapolation;
pub mod forecast;
pub mod laws;
pub mod schedule;
