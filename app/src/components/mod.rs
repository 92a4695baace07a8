//! Reusable components.

pub mod chart;
pub mod plotly;
pub mod preview;
pub mod upload;
