//! Learning-rate schedules: a small serde type users describe in a few fields, evaluated
//! per step, parsed from / printed to a compact text form, rebuilt from sparse logs and
//! fitted to logged (step, lr) points.
//!
//! # Conventions (shared by every kind)
//!
//! - Steps are 0-based: `eta(0)` is the learning rate of the first optimizer step and
//!   [`Schedule::to_array`] returns `eta(0..total)`.
//! - Warmup (`warmup = W` steps, default 0) is a linear ramp over steps `0..W`; the main
//!   phase starts at step `W`. The ramp's exact form is the optional field `ramp`
//!   ([`WarmupRamp`]): `zero` (default, `peak * t / W`, as in Hugging Face's trainers),
//!   `linspace` (`peak * t / (W - 1)`, numpy's `linspace(0, peak, W)`, used by the
//!   multi-power-law code: its published numbers need it) or `shifted` (`peak * (t+1) / W`).
//! - Decay phases run over `[start, total)` with progress `p = (t - start) / (total - start)`,
//!   so the final learning rate is reached at step `total`, one past the last trained step
//!   (the convention of the multi-power-law and Tissue et al. code).
//! - Past `total` every schedule holds its end value (`p` is clamped to 1); an `array`
//!   holds its last entry.
//!
//! # JSON (serde, tag `kind`)
//!
//! | kind | fields (defaults) | learning rate after warmup |
//! |---|---|---|
//! | every kind but `array` | `ramp` (`zero`) | the warmup ramp, see above |
//! | `constant` | `peak`, `warmup` (0), `total` | `peak` |
//! | `cosine` | `peak`, `final_lr` (0), `warmup` (0), `total` | `final + (peak-final)(1+cos(pi p))/2`, `p` over `[W, total)` |
//! | `linear` | `peak`, `final_lr` (0), `warmup` (0), `total` | `peak + (final-peak) p`, `p` over `[W, total)` |
//! | `wsd` | `peak`, `final_lr` (0), `warmup` (0), `total`, one of `decay` (fraction of `total`) or `decay_start` (step), `shape` (`linear`) | `peak` until the decay start `D = total - round(decay*total)` (at least `W`), then [`DecayShape`] over `[D, total)` |
//! | `multi_step` | `peak`, `warmup` (0), `total`, `milestones` (fractions of `total`), `factor` | `peak * factor^(number of milestones m with t >= round(m*total))` |
//! | `two_stage` | `peak`, `warmup` (0), `total`, `switch` (step), `lr2` | `peak` before `switch`, `lr2` from `switch` on |
//! | `inverse_sqrt` | `peak`, `warmup` (0), `total` | `peak * sqrt(tau / max(t, tau))`, `tau = max(W, 1)` |
//! | `array` | `lrs` (one learning rate per step) | `lrs[t]` (no warmup is added) |
//!
//! Example: `{"kind":"wsd","peak":3e-4,"warmup":2160,"total":24000,"decay":0.2,"shape":"sqrt","final_lr":0.0}`.
//! Deserialize user JSON with [`Schedule::from_json`], which also validates. (serde_json as
//! configured in this workspace may round a float's last bit when reading it back; the
//! text form round-trips exactly.)
//!
//! # Text form (CLI, URLs)
//!
//! `kind:key=value,key=value`, with the JSON field names except `final` for `final_lr`,
//! and lists written with `/` (`milestones=0.8/0.9`). See [`text`].
//! `Display` prints this form and `FromStr` reads it back (exact round trip).
//!
//! The multi-power-law data's schedules (warmup 2160, peak 3e-4, end 3e-5) read:
//! `cosine:peak=3e-4,final=3e-5,warmup=2160,ramp=linspace,total=24000`,
//! `wsd:peak=3e-4,final=3e-5,warmup=2160,ramp=linspace,total=24000,decay_start=20000,shape=geometric`,
//! the same with `shape=linear` (wsdld), and
//! `two_stage:peak=3e-4,warmup=2160,ramp=linspace,total=16000,switch=8000,lr2=9e-5` (wsdcon).

mod error;
pub mod fit;
pub mod reconstruct;
mod shape;
pub mod text;

pub use error::ScheduleError;
pub use fit::{FitOptions, ScheduleFamily, ScheduleFit, fit_best_family, fit_schedule};
pub use reconstruct::{BeforeFirst, reconstruct};
pub use shape::{DecayShape, WarmupRamp};

use serde::{Deserialize, Serialize};

/// The largest step anything in curvecast works with: a schedule's `total` (and an
/// `array`'s length) as [`Schedule::validate`] accepts it, a logged step as
/// [`step_index`] accepts it, and the server's default ingestion limit
/// (`ingest::Limits::max_step`). Ten million optimiser steps is well above any real
/// training run (large language models train for 1e4 to 1e6 steps), and a per-step f64
/// array of this length takes 80 MB, so a user's number can never make a fit or a
/// forecast allocate more than that.
pub const MAX_STEPS: u64 = 10_000_000;

/// Most entries of a per-step array: `eta(0..=MAX_STEPS)`.
const MAX_LEN: usize = MAX_STEPS as usize + 1;

/// Checks a step given as a number (steps come from files and JSON as f64): a whole
/// number in `0..=max`. The error says which rule it breaks.
pub fn check_step(step: f64, max: u64) -> Result<u64, ScheduleError> {
    let bad = |reason: String| Err(ScheduleError::BadStep { step, reason });
    if !step.is_finite() {
        bad("is not a finite number".into())
    } else if step < 0.0 {
        bad("is negative: steps count optimiser updates from 0".into())
    } else if step.fract() != 0.0 {
        bad("is not a whole number: steps count optimiser updates".into())
    } else if step > max as f64 {
        bad(format!("is above the limit of {max} steps"))
    } else {
        Ok(step as u64)
    }
}

/// A logged step as an index into per-step arrays (`0..=MAX_STEPS`): the one way a
/// user's step becomes a `usize`, so that no step can size an allocation unchecked.
pub fn step_index(step: f64) -> Result<usize, ScheduleError> {
    check_step(step, MAX_STEPS).map(|s| s as usize)
}

/// Refuses a per-step array longer than `eta(0..=MAX_STEPS)`.
pub(crate) fn check_len(len: usize) -> Result<(), ScheduleError> {
    if len > MAX_LEN {
        Err(ScheduleError::TooManySteps(len as u64))
    } else {
        Ok(())
    }
}

/// A learning-rate schedule. See the [module docs](self) for every kind's formula.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    Constant {
        peak: f64,
        #[serde(default)]
        warmup: u64,
        #[serde(default, skip_serializing_if = "WarmupRamp::is_default")]
        ramp: WarmupRamp,
        total: u64,
    },
    Cosine {
        peak: f64,
        #[serde(default)]
        final_lr: f64,
        #[serde(default)]
        warmup: u64,
        #[serde(default, skip_serializing_if = "WarmupRamp::is_default")]
        ramp: WarmupRamp,
        total: u64,
    },
    Linear {
        peak: f64,
        #[serde(default)]
        final_lr: f64,
        #[serde(default)]
        warmup: u64,
        #[serde(default, skip_serializing_if = "WarmupRamp::is_default")]
        ramp: WarmupRamp,
        total: u64,
    },
    Wsd {
        peak: f64,
        #[serde(default)]
        final_lr: f64,
        #[serde(default)]
        warmup: u64,
        #[serde(default, skip_serializing_if = "WarmupRamp::is_default")]
        ramp: WarmupRamp,
        total: u64,
        /// Fraction of `total` spent decaying (the decay starts at `total - round(decay*total)`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decay: Option<f64>,
        /// Step where the decay starts (alternative to `decay`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decay_start: Option<u64>,
        #[serde(default)]
        shape: DecayShape,
    },
    MultiStep {
        peak: f64,
        #[serde(default)]
        warmup: u64,
        #[serde(default, skip_serializing_if = "WarmupRamp::is_default")]
        ramp: WarmupRamp,
        total: u64,
        /// Fractions of `total` where the learning rate is multiplied by `factor`.
        milestones: Vec<f64>,
        factor: f64,
    },
    TwoStage {
        peak: f64,
        #[serde(default)]
        warmup: u64,
        #[serde(default, skip_serializing_if = "WarmupRamp::is_default")]
        ramp: WarmupRamp,
        total: u64,
        /// First step at `lr2`.
        switch: u64,
        lr2: f64,
    },
    InverseSqrt {
        peak: f64,
        #[serde(default)]
        warmup: u64,
        #[serde(default, skip_serializing_if = "WarmupRamp::is_default")]
        ramp: WarmupRamp,
        total: u64,
    },
    Array {
        lrs: Vec<f64>,
    },
}

impl Schedule {
    /// The serde tag / text-form kind name.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Constant { .. } => "constant",
            Self::Cosine { .. } => "cosine",
            Self::Linear { .. } => "linear",
            Self::Wsd { .. } => "wsd",
            Self::MultiStep { .. } => "multi_step",
            Self::TwoStage { .. } => "two_stage",
            Self::InverseSqrt { .. } => "inverse_sqrt",
            Self::Array { .. } => "array",
        }
    }

    /// Peak learning rate (for `array`: its largest entry).
    pub fn peak(&self) -> f64 {
        match self {
            Self::Constant { peak, .. }
            | Self::Cosine { peak, .. }
            | Self::Linear { peak, .. }
            | Self::Wsd { peak, .. }
            | Self::MultiStep { peak, .. }
            | Self::TwoStage { peak, .. }
            | Self::InverseSqrt { peak, .. } => *peak,
            Self::Array { lrs } => lrs.iter().copied().fold(0.0, f64::max),
        }
    }

    /// Number of warmup steps (0 for `array`).
    pub fn warmup(&self) -> u64 {
        match self {
            Self::Constant { warmup, .. }
            | Self::Cosine { warmup, .. }
            | Self::Linear { warmup, .. }
            | Self::Wsd { warmup, .. }
            | Self::MultiStep { warmup, .. }
            | Self::TwoStage { warmup, .. }
            | Self::InverseSqrt { warmup, .. } => *warmup,
            Self::Array { .. } => 0,
        }
    }

    /// Form of the warmup ramp (`zero` for `array`, which has no warmup).
    pub fn ramp(&self) -> WarmupRamp {
        match self {
            Self::Constant { ramp, .. }
            | Self::Cosine { ramp, .. }
            | Self::Linear { ramp, .. }
            | Self::Wsd { ramp, .. }
            | Self::MultiStep { ramp, .. }
            | Self::TwoStage { ramp, .. }
            | Self::InverseSqrt { ramp, .. } => *ramp,
            Self::Array { .. } => WarmupRamp::Zero,
        }
    }

    /// Number of training steps (for `array`: its length).
    pub fn total(&self) -> u64 {
        match self {
            Self::Constant { total, .. }
            | Self::Cosine { total, .. }
            | Self::Linear { total, .. }
            | Self::Wsd { total, .. }
            | Self::MultiStep { total, .. }
            | Self::TwoStage { total, .. }
            | Self::InverseSqrt { total, .. } => *total,
            Self::Array { lrs } => lrs.len() as u64,
        }
    }

    /// First step of the WSD decay (`None` for other kinds).
    pub fn decay_start(&self) -> Option<u64> {
        match self {
            Self::Wsd {
                warmup,
                total,
                decay,
                decay_start,
                ..
            } => {
                let d = match (decay_start, decay) {
                    (Some(d), _) => *d,
                    (None, Some(f)) => {
                        let len = (f.clamp(0.0, 1.0) * *total as f64).round() as u64;
                        total.saturating_sub(len)
                    }
                    (None, None) => *total,
                };
                Some(d.clamp(*warmup, (*total).max(*warmup)))
            }
            _ => None,
        }
    }

    /// Learning rate applied at (0-based) step `t`.
    ///
    /// Never panics; an invalid schedule (see [`Schedule::validate`]) may give
    /// non-finite or negative values.
    pub fn eta(&self, t: u64) -> f64 {
        if let Self::Array { lrs } = self {
            return array_eta(lrs, t);
        }
        let (peak, warmup, total) = (self.peak(), self.warmup(), self.total());
        if t < warmup {
            return self.ramp().value(peak, warmup, t);
        }
        let progress = |start: u64| -> f64 {
            if total <= start {
                1.0
            } else {
                ((t - start) as f64 / (total - start) as f64).min(1.0)
            }
        };
        match self {
            Self::Constant { .. } => peak,
            Self::Cosine { final_lr, .. } => {
                DecayShape::Cosine.value(peak, *final_lr, progress(warmup))
            }
            Self::Linear { final_lr, .. } => {
                DecayShape::Linear.value(peak, *final_lr, progress(warmup))
            }
            Self::Wsd {
                final_lr, shape, ..
            } => {
                let start = self.decay_start().unwrap_or(total);
                if t < start {
                    peak
                } else {
                    shape.value(peak, *final_lr, progress(start))
                }
            }
            Self::MultiStep {
                milestones, factor, ..
            } => {
                let passed = milestones
                    .iter()
                    .filter(|&&m| t >= (m * total as f64).round() as u64)
                    .count();
                peak * factor.powi(passed as i32)
            }
            Self::TwoStage { switch, lr2, .. } => {
                if t < *switch {
                    peak
                } else {
                    *lr2
                }
            }
            Self::InverseSqrt { .. } => {
                let tau = warmup.max(1) as f64;
                peak * (tau / (t as f64).max(tau)).sqrt()
            }
            Self::Array { lrs } => array_eta(lrs, t),
        }
    }

    /// The per-step learning rates `eta(0..total)`.
    pub fn to_array(&self) -> Vec<f64> {
        self.to_array_len(self.total() as usize)
    }

    /// The per-step learning rates `eta(0..len)` (past `total` the end value is held).
    ///
    /// At most `MAX_STEPS + 1` entries (`len` is capped there), so that a length computed
    /// from a user's numbers can never exhaust memory; use [`Schedule::try_to_array_len`]
    /// to get an error instead of the cap.
    pub fn to_array_len(&self, len: usize) -> Vec<f64> {
        (0..len.min(MAX_LEN) as u64).map(|t| self.eta(t)).collect()
    }

    /// [`Schedule::to_array_len`], or [`ScheduleError::TooManySteps`] when `len` is over
    /// `MAX_STEPS + 1`.
    pub fn try_to_array_len(&self, len: usize) -> Result<Vec<f64>, ScheduleError> {
        check_len(len)?;
        Ok(self.to_array_len(len))
    }

    /// Deserializes a schedule from JSON and validates it.
    pub fn from_json(json: &str) -> Result<Self, ScheduleError> {
        let s: Self = serde_json::from_str(json).map_err(|e| ScheduleError::Json(e.to_string()))?;
        s.validate()?;
        Ok(s)
    }

    /// Checks ranges and consistency; the error names the offending field.
    pub fn validate(&self) -> Result<(), ScheduleError> {
        if let Self::Array { lrs } = self {
            if lrs.is_empty() {
                return Err(invalid("lrs", "needs at least one learning rate"));
            }
            if lrs.len() as u64 > MAX_STEPS {
                return Err(invalid(
                    "lrs",
                    format!("more than {MAX_STEPS} entries (shared::schedule::MAX_STEPS)"),
                ));
            }
            if let Some(i) = lrs.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
                return Err(invalid(
                    "lrs",
                    format!("entry {i} is {}, not a finite lr >= 0", lrs[i]),
                ));
            }
            return Ok(());
        }
        let (peak, warmup, total) = (self.peak(), self.warmup(), self.total());
        check_lr("peak", peak)?;
        if total == 0 {
            return Err(invalid("total", "must be at least 1"));
        }
        if total > MAX_STEPS {
            return Err(invalid(
                "total",
                format!(
                    "{total} exceeds the limit of {MAX_STEPS} steps (shared::schedule::MAX_STEPS)"
                ),
            ));
        }
        if warmup > total {
            return Err(invalid("warmup", format!("{warmup} exceeds total {total}")));
        }
        match self {
            Self::Cosine { final_lr, .. } | Self::Linear { final_lr, .. } => {
                check_lr("final_lr", *final_lr)?
            }
            Self::Wsd {
                final_lr,
                decay,
                decay_start,
                ..
            } => {
                check_lr("final_lr", *final_lr)?;
                match (decay, decay_start) {
                    (Some(_), Some(_)) => {
                        return Err(invalid(
                            "decay",
                            "give either `decay` or `decay_start`, not both",
                        ));
                    }
                    (None, None) => {
                        return Err(invalid(
                            "decay",
                            "give `decay` (fraction) or `decay_start` (step)",
                        ));
                    }
                    (Some(f), None) if !(0.0..=1.0).contains(f) => {
                        return Err(invalid("decay", format!("{f} is not a fraction in [0, 1]")));
                    }
                    (None, Some(d)) if *d < warmup || *d > total => {
                        return Err(invalid(
                            "decay_start",
                            format!("{d} is outside [warmup, total] = [{warmup}, {total}]"),
                        ));
                    }
                    _ => {}
                }
            }
            Self::MultiStep {
                milestones, factor, ..
            } => {
                if let Some(m) = milestones.iter().find(|m| !(0.0..=1.0).contains(*m)) {
                    return Err(invalid(
                        "milestones",
                        format!("{m} is not a fraction in [0, 1]"),
                    ));
                }
                check_lr("factor", *factor)?;
            }
            Self::TwoStage { switch, lr2, .. } => {
                check_lr("lr2", *lr2)?;
                if *switch > total {
                    return Err(invalid("switch", format!("{switch} exceeds total {total}")));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn array_eta(lrs: &[f64], t: u64) -> f64 {
    match lrs.len() {
        0 => 0.0,
        n => lrs[t.min(n as u64 - 1) as usize],
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> ScheduleError {
    ScheduleError::Invalid {
        field,
        reason: reason.into(),
    }
}

fn check_lr(field: &'static str, v: f64) -> Result<(), ScheduleError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(invalid(field, format!("{v} is not a finite value >= 0")))
    }
}
