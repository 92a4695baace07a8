//! The plain power law in the LR area, the baseline of the schedule laws: the momentum law
//! of Tissue et al. 2024 ("Scaling Law with Learning Rate Annealing", arXiv 2408.11029)
//! without its annealing term,
//!
//! ```text
//! L(s)  = L0 + A * S1(s)^(-alpha),     S1(s) = sum_{i=0..s} eta_i   (forward area)
//! ```
//!
//! Parameters `L0, A, alpha` (the momentum law's, same units: raw learning rates, so `A` is
//! in loss x (LR x steps)^alpha). It sees a schedule only through its area: a decay helps
//! it never (a smaller area always predicts a higher loss), which is what the annealing
//! terms of the other laws add.
//!
//! Warmup: the momentum law's [`WarmupConvention`] (`AtPeak`, the authors' code: warmup
//! steps count at the peak LR; `Literal`: the ramp as given), so that this law equals
//! the momentum law with `C = 0` under either convention.

use super::momentum::{WarmupConvention, momentum_areas};
use super::{Law, LawError, ParamSpec, check_dims};

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
];

/// `L0 + A S1^-alpha` at fixed steps of one schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerS1Law {
    s1: Vec<f64>,
}

impl PowerS1Law {
    /// The law's parameters, known before any data is read.
    pub const PARAMS: &'static [ParamSpec] = SPECS;

    /// Prepares S1 at `steps` (each `< lrs.len()`) for per-step learning rates `lrs`.
    pub fn new(
        lrs: &[f64],
        steps: &[usize],
        convention: WarmupConvention,
    ) -> Result<Self, LawError> {
        if let Some(&bad) = steps.iter().find(|&&s| s >= lrs.len()) {
            return Err(LawError::Input(format!(
                "step {bad} is beyond the schedule ({} steps)",
                lrs.len()
            )));
        }
        let (s1, _) = momentum_areas(&convention.apply(lrs), 0.0);
        Ok(Self {
            s1: steps.iter().map(|&s| s1[s]).collect(),
        })
    }

    /// S1 at the evaluation steps.
    pub fn s1(&self) -> &[f64] {
        &self.s1
    }
}

impl Law for PowerS1Law {
    fn name(&self) -> &'static str {
        "power-s1"
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
        let (l0, a, alpha) = (params[0], params[1], params[2]);
        let mut jac = jac;
        for (i, &s1) in self.s1.iter().enumerate() {
            let p = s1.powf(-alpha);
            out[i] = l0 + a * p;
            if let Some(j) = jac.as_deref_mut() {
                j[i * 3..i * 3 + 3].copy_from_slice(&[1.0, p, -a * p * s1.ln()]);
            }
        }
        Ok(())
    }
}
