//! Pages of the app.

pub mod runs;
