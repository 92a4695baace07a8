//! Reusable components.

pub mod chart;
pub mod preview;
pub mod upload;
