//! Pages of the app, one per route.

pub mod batch;
pub mod curves;
pub mod fit_new;
pub mod fit_view;
pub mod forecast;
pub mod runs;
pub mod scaling;
