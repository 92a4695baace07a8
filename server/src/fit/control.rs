//! A running fit's shared handle: a cancel flag the engine obeys and progress counters
//! the server reports.
//!
//! Cancelling works through [`Problem`](super::problem::Problem): once the flag is set,
//! every evaluation of the objective answers +inf, so every optimiser on every thread
//! stops at its next step, and [`fit`](super::fit) returns [`FitError::Cancelled`]
//! (super::FitError::Cancelled). One atomic load per evaluation costs nothing next to
//! evaluating a law.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use shared::api::Progress;

#[derive(Debug, Default)]
pub struct Control {
    cancelled: AtomicBool,
    stage: Mutex<&'static str>,
    done: AtomicU64,
    total: AtomicU64,
}

impl Control {
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// Starts a stage of `total` units of work (starts, resamples).
    pub fn begin(&self, stage: &'static str, total: usize) {
        *self.stage.lock().unwrap_or_else(|p| p.into_inner()) = stage;
        self.done.store(0, Ordering::Relaxed);
        self.total.store(total as u64, Ordering::Relaxed);
    }

    /// One unit of the current stage is done.
    pub fn advance(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }

    pub fn progress(&self) -> Progress {
        Progress {
            stage: self
                .stage
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .to_string(),
            done: self.done.load(Ordering::Relaxed),
            total: self.total.load(Ordering::Relaxed),
        }
    }
}
