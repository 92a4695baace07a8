//! Reusable components.

pub mod chart;
pub mod upload;
