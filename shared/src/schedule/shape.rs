//! Shapes of a warmup ramp ([`WarmupRamp`]) and of a WSD (warmup-stable-decay) cooldown
//! ([`DecayShape`]).
//!
//! # Warmup ramps (steps `t < W`)
//!
//! | ramp | serde / text | eta(t) | reaches peak at |
//! |---|---|---|---|
//! | zero (default) | `zero` | `peak * t / W` | step `W` (Hugging Face) |
//! | linspace | `linspace` | `peak * t / (W - 1)` | step `W - 1` (numpy `linspace(0, peak, W)`, multi-power-law code) |
//! | shifted | `shifted` | `peak * (t + 1) / W` | step `W - 1` (never 0) |
//!
//! # Decay shapes
//!
//! With `p = (t - D) / (T - D)` in `[0, 1]` the progress through the decay window
//! `[D, T)` (p = 1 is reached at step T, one past the last trained step), the learning
//! rate goes from `peak` to `final_lr` as:
//!
//! | shape | serde / text | eta(p) |
//! |---|---|---|
//! | linear | `linear` | `final + (peak - final) (1 - p)` |
//! | 1-sqrt (Hägele et al. 2024) | `sqrt` | `final + (peak - final) (1 - sqrt(p))` |
//! | cosine | `cosine` | `final + (peak - final) (1 + cos(pi p)) / 2` |
//! | 1-square | `square` | `final + (peak - final) (1 - p^2)` |
//! | geometric / exponential | `geometric` (alias `exp`, `exponential`) | `peak^(1-p) final^p` |
//!
//! The geometric shape is the multi-power-law paper's WSD:
//! `lr = peak^((T-t)/(T-D)) * end^((t-D)/(T-D))`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The form of the linear warmup ramp (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarmupRamp {
    /// `peak * t / W`.
    #[default]
    Zero,
    /// `peak * t / (W - 1)`.
    Linspace,
    /// `peak * (t + 1) / W`.
    Shifted,
}

impl WarmupRamp {
    /// Learning rate at warmup step `t < warmup`.
    pub fn value(self, peak: f64, warmup: u64, t: u64) -> f64 {
        let (t, w) = (t as f64, warmup as f64);
        match self {
            Self::Zero => peak * t / w,
            // A one-step linspace is [0]: numpy's linspace(0, peak, 1) = [0].
            Self::Linspace if warmup <= 1 => 0.0,
            Self::Linspace => peak * t / (w - 1.0),
            Self::Shifted => peak * (t + 1.0) / w,
        }
    }

    /// Whether this is the default (`zero`), for serde's `skip_serializing_if`.
    pub fn is_default(&self) -> bool {
        *self == Self::Zero
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Zero => "zero",
            Self::Linspace => "linspace",
            Self::Shifted => "shifted",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "zero" => Some(Self::Zero),
            "linspace" => Some(Self::Linspace),
            "shifted" => Some(Self::Shifted),
            _ => None,
        }
    }
}

impl fmt::Display for WarmupRamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the learning rate falls over a WSD decay window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecayShape {
    #[default]
    Linear,
    /// `1 - sqrt(p)`.
    Sqrt,
    Cosine,
    /// `1 - p^2`.
    Square,
    /// `peak^(1-p) * final^p`.
    #[serde(alias = "exp", alias = "exponential")]
    Geometric,
}

impl DecayShape {
    /// All shapes, in a stable order (used by the fitter and the tests).
    pub const ALL: [DecayShape; 5] = [
        Self::Linear,
        Self::Sqrt,
        Self::Cosine,
        Self::Square,
        Self::Geometric,
    ];

    /// Learning rate at decay progress `p` (clamped to `[0, 1]`).
    pub fn value(self, peak: f64, final_lr: f64, p: f64) -> f64 {
        let p = p.clamp(0.0, 1.0);
        match self {
            Self::Linear => final_lr + (peak - final_lr) * (1.0 - p),
            Self::Sqrt => final_lr + (peak - final_lr) * (1.0 - p.sqrt()),
            Self::Cosine => {
                final_lr + (peak - final_lr) * 0.5 * (1.0 + (std::f64::consts::PI * p).cos())
            }
            Self::Square => final_lr + (peak - final_lr) * (1.0 - p * p),
            // Written as a product of powers (not exp/ln) so that final_lr = 0 gives 0, not NaN.
            Self::Geometric => peak.powf(1.0 - p) * final_lr.powf(p),
        }
    }

    /// Canonical name, as used in JSON and in the text form.
    pub fn name(self) -> &'static str {
        match self {
            Self::Linear => "linear",
            Self::Sqrt => "sqrt",
            Self::Cosine => "cosine",
            Self::Square => "square",
            Self::Geometric => "geometric",
        }
    }

    /// Reads a shape name (canonical names plus the aliases in the table above).
    pub fn from_name(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "linear" => Some(Self::Linear),
            "sqrt" | "1-sqrt" | "one_minus_sqrt" => Some(Self::Sqrt),
            "cosine" | "cos" => Some(Self::Cosine),
            "square" | "1-square" => Some(Self::Square),
            "geometric" | "exp" | "exponential" => Some(Self::Geometric),
            _ => None,
        }
    }
}

impl fmt::Display for DecayShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
