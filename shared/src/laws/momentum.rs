//! The momentum law of Tissue et al. 2024 ("Scaling Law with Learning Rate Annealing"):
//!
//! ```text
//! L(s)  = L0 + A * S1(s)^(-alpha) - C * S2(s)
//! S1(s) = sum_{i=0..s} eta_i                         (forward area)
//! m_0 = 0,  m_i = lambda * m_{i-1} + (eta_{i-1} - eta_i)
//! S2(s) = sum_{i=0..s} m_i                           (annealing area, lambda = 0.999)
//! ```
//!
//! Both areas are computed for all steps in one O(T) pass ([`momentum_areas`]).
//!
//! Warmup conventions ([`WarmupConvention`]):
//! - `AtPeak { warmup }` (the authors'): every warmup step counts at the peak LR, so warmup
//!   adds `eta_max` per step to S1 and nothing to S2, although training used a ramp.
//! - `Literal`: the learning rates as given (the real ramp; its rising steps give negative
//!   momentum, lowering S2 early on).
//!
//! Raw (not normalised) learning rates. Domain: `S1 > 0` (else `S1^-alpha` is infinite);
//! any parameter values are evaluated as the formula says.

use super::{Law, LawError, ParamSpec, check_dims};
use crate::schedule::{MAX_STEPS, Schedule};

/// How warmup steps enter S1 and S2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarmupConvention {
    /// Authors' convention: the first `warmup` steps count at the peak (largest) LR.
    AtPeak { warmup: usize },
    /// The learning rates exactly as given.
    Literal,
}

impl WarmupConvention {
    /// The learning rates this convention feeds into S1 and S2.
    pub fn apply(self, lrs: &[f64]) -> Vec<f64> {
        let mut out = lrs.to_vec();
        if let Self::AtPeak { warmup } = self {
            let peak = lrs.iter().copied().fold(0.0, f64::max);
            for v in out.iter_mut().take(warmup) {
                *v = peak;
            }
        }
        out
    }
}

/// `(S1, S2)` for every step `0..lrs.len()` (O(T)).
pub fn momentum_areas(lrs: &[f64], lambda: f64) -> (Vec<f64>, Vec<f64>) {
    let mut s1 = Vec::with_capacity(lrs.len());
    let mut s2 = Vec::with_capacity(lrs.len());
    let (mut a1, mut a2, mut m) = (0.0, 0.0, 0.0);
    for (i, &eta) in lrs.iter().enumerate() {
        if i > 0 {
            m = lambda * m + (lrs[i - 1] - eta);
        }
        a1 += eta;
        a2 += m;
        s1.push(a1);
        s2.push(a2);
    }
    (s1, s2)
}

const SPECS: &[ParamSpec] = &[
    ParamSpec {
        name: "L0",
        meaning: "irreducible loss",
        lower: 0.0,
        upper: 20.0,
        starts: &[0.1, 2.1],
    },
    ParamSpec {
        name: "A",
        meaning: "scale of the power-law term in the forward area S1",
        lower: 0.0,
        upper: 1e3,
        starts: &[1.0, 11.5, 22.0],
    },
    ParamSpec {
        name: "alpha",
        meaning: "exponent of S1",
        lower: 0.0,
        upper: 5.0,
        starts: &[0.0, 0.4, 0.8],
    },
    ParamSpec {
        name: "C",
        meaning: "loss drop per unit of annealing area S2",
        lower: 0.0,
        upper: 1e4,
        starts: &[1.0, 11.5, 22.0],
    },
];

/// The momentum law evaluated at fixed steps of one schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct MomentumLaw {
    s1: Vec<f64>,
    s2: Vec<f64>,
}

impl MomentumLaw {
    /// The parameters, as [`Law::param_specs`] gives them, without building the law
    /// (to check a request's parameter names before any data is read).
    pub const PARAMS: &'static [ParamSpec] = SPECS;

    /// Prepares S1, S2 at `steps` (each `< lrs.len()`) for per-step learning rates `lrs`.
    pub fn new(
        lrs: &[f64],
        steps: &[usize],
        lambda: f64,
        convention: WarmupConvention,
    ) -> Result<Self, LawError> {
        if let Some(&bad) = steps.iter().find(|&&s| s >= lrs.len()) {
            return Err(LawError::Input(format!(
                "step {bad} is beyond the schedule ({} steps)",
                lrs.len()
            )));
        }
        let (s1, s2) = momentum_areas(&convention.apply(lrs), lambda);
        Ok(Self {
            s1: steps.iter().map(|&s| s1[s]).collect(),
            s2: steps.iter().map(|&s| s2[s]).collect(),
        })
    }

    /// Same, from a schedule spec; `authors` selects [`WarmupConvention::AtPeak`] with the
    /// schedule's warmup, otherwise [`WarmupConvention::Literal`].
    pub fn from_schedule(
        schedule: &Schedule,
        steps: &[usize],
        lambda: f64,
        authors: bool,
    ) -> Result<Self, LawError> {
        let len = steps.iter().max().map_or(0, |m| m + 1);
        let convention = if authors {
            WarmupConvention::AtPeak {
                warmup: schedule.warmup() as usize,
            }
        } else {
            WarmupConvention::Literal
        };
        if len as u64 > MAX_STEPS {
            return Err(LawError::Input(format!(
                "schedule of {len} steps exceeds {MAX_STEPS}"
            )));
        }
        Self::new(&schedule.to_array_len(len), steps, lambda, convention)
    }

    /// S1 at the evaluation steps.
    pub fn s1(&self) -> &[f64] {
        &self.s1
    }

    /// S2 at the evaluation steps.
    pub fn s2(&self) -> &[f64] {
        &self.s2
    }
}

impl Law for MomentumLaw {
    fn name(&self) -> &'static str {
        "momentum"
    }

    fn param_specs(&self) -> &'static [ParamSpec] {
        SPECS
    }

    fn n_points(&self) -> usize {
        self.s1.len()
    }

    fn eval(
        &self,
        params: &[f64],
        out: &mut [f64],
        jac: Option<&mut [f64]>,
    ) -> Result<(), LawError> {
        check_dims(self, params, out, jac.as_deref())?;
        let (l0, a, alpha, c) = (params[0], params[1], params[2], params[3]);
        let mut jac = jac;
        for (i, (&s1, &s2)) in self.s1.iter().zip(&self.s2).enumerate() {
            let p = s1.powf(-alpha);
            out[i] = l0 + a * p - c * s2;
            if let Some(j) = jac.as_deref_mut() {
                j[i * 4..i * 4 + 4].copy_from_slice(&[1.0, p, -a * p * s1.ln(), -s2]);
            }
        }
        Ok(())
    }
}
