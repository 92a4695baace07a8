//! The multi-power law of Luo et al. (ICLR 2025), with both index conventions and a fast,
//! error-bounded evaluation of its double sum.
//!
//! ```text
//! L(t)   = L0 + A * (S1(t) + S_W)^(-alpha) - LD(t)
//! LD(t)  = B * sum_k (eta_{k-1} - eta_k) * G(eta_k^(-gamma) * S_k(t)),   S_k(t) = sum_{tau=k..t} eta_tau
//! G(x)   = 1 - (C x + 1)^(-beta)
//! ```
//!
//! Parameters, in order: `L0, A, alpha, B, C, beta, gamma`. Inputs: the per-step learning
//! rates `eta_0..eta_{T-1}` (raw values) and the steps to evaluate at (each `< T`).
//!
//! # Index conventions ([`MplConvention`])
//!
//! In absolute 0-based steps, `S1(t) + S_W = sum_{tau=0..t} eta_tau` (= `cumsum(eta)[t]`) in
//! both readings; they differ in where the LD sum starts:
//! - `AuthorsCode` (reproduces the published numbers): `k = 1..t`, i.e. the LR array starts
//!   at step 0 with the real warmup ramp and the rising warmup steps enter LD as negative
//!   drops (this shifts the fitted `L0` by about 0.15).
//! - `Paper { warmup }`: `k = warmup+1..t`, the sums start after warmup and the warmup
//!   area only enters through `S_W`.
//!
//! # Speed and accuracy
//!
//! The direct sum costs O(n T) for n evaluation points of a T-step schedule
//! ([`MultiPowerLaw::eval_naive`]). [`Law::eval`] instead uses the tree code of [`fast`]:
//! steps with a zero drop are skipped exactly, and each evaluation point sums far blocks
//! of drops through truncated expansions whose error is bounded a priori:
//!
//! ```text
//! |LD_fast(t) - LD(t)| <= B * tol * sum_{k<=t} |eta_{k-1} - eta_k| u_k^-beta  <=  B * tol * sum_k |drop_k|
//! ```
//!
//! (`u_k = 1 + C eta_k^-gamma S_k(t)`, `tol` = [`MultiPowerLaw::tolerance`], default
//! [`DEFAULT_TOLERANCE`] = 1e-12; each gradient entry obeys the analogous bound), plus
//! floating-point rounding. Cost: O(T J) per parameter vector plus O(log T) blocks per point;
//! value and full gradient at 1,000 points of a 100,000-step cosine take a few ms.
//!
//! # Domain
//!
//! The fast path needs `C > 0`, `beta > 0` and finite parameters. Other parameter values
//! fall back to the direct O(n T) sum (correct, slow; an optimizer should keep `C` and
//! `beta` inside the default bounds). A step whose LR is 0 counts as fully annealed
//! (`G = 1`, the limit of `d_k (C c_k)^-beta -> 0`). `S1 = 0` (evaluating at step 0 of a
//! warmup from 0) gives an infinite `A` term.

pub(crate) mod batch_math;
pub mod fast;
pub(crate) mod moments;
mod naive;
pub(crate) mod sources;

use super::{Law, LawError, ParamSpec, check_dims};
use crate::schedule::{MAX_STEPS, Schedule};

/// Default truncation tolerance of the fast evaluation (see the module docs).
pub const DEFAULT_TOLERANCE: f64 = 1e-12;

/// Which index convention the sums follow (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MplConvention {
    /// The authors' code: LD over `k = 1..t`, warmup ramp included.
    AuthorsCode,
    /// The paper: LD over `k = warmup+1..t`.
    Paper { warmup: usize },
}

const SPECS: &[ParamSpec] = &[
    ParamSpec {
        name: "L0",
        meaning: "irreducible loss",
        lower: 0.0,
        upper: 20.0,
        starts: &[2.0, 2.5, 3.0, 3.5],
    },
    ParamSpec {
        name: "A",
        meaning: "scale of the power law in the LR area S1 + S_W",
        lower: 0.0,
        upper: 100.0,
        starts: &[0.3, 0.6, 1.0],
    },
    ParamSpec {
        name: "alpha",
        meaning: "exponent of the LR area",
        lower: 0.0,
        upper: 5.0,
        starts: &[0.3, 0.5, 0.7],
    },
    ParamSpec {
        name: "B",
        meaning: "scale of the loss drop per unit of LR decrease",
        lower: 0.0,
        upper: 1e5,
        starts: &[100.0, 550.0, 1000.0],
    },
    ParamSpec {
        name: "C",
        meaning: "speed at which a drop's benefit saturates",
        lower: 1e-6,
        upper: 1e4,
        starts: &[1.0],
    },
    ParamSpec {
        name: "beta",
        meaning: "exponent of the loss-drop saturation G",
        lower: 1e-4,
        upper: 5.0,
        starts: &[0.5],
    },
    ParamSpec {
        name: "gamma",
        meaning: "LR exponent scaling the area after a drop (eta_k^-gamma)",
        lower: 0.0,
        upper: 5.0,
        starts: &[0.5],
    },
];

/// The multi-power law at fixed steps of one schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiPowerLaw {
    lrs: Vec<f64>,
    /// `P(t) = sum_{tau<=t} eta_tau`.
    prefix: Vec<f64>,
    steps: Vec<usize>,
    ld_start: usize,
    /// `P(step)` per evaluation point.
    z: Vec<f64>,
    /// `sum_{k=ld_start..=t} (eta_{k-1} - eta_k)` per evaluation point.
    drop_sum: Vec<f64>,
    /// Sources (nonzero drops) with step `<= t`, per evaluation point.
    source_count: Vec<usize>,
    sources: sources::Sources,
    tolerance: f64,
    scratch: moments::ScratchCell,
}

/// The five loss-drop sums every output is assembled from (all over `k` in the LD range):
/// `q = sum d u^-b`, `r = sum d u^-(b+1)`, `lq = sum d u^-b ln u`,
/// `qe = sum d ln(eta) u^-b`, `re = sum d ln(eta) u^-(b+1)`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Aggregates {
    q: f64,
    r: f64,
    lq: f64,
    qe: f64,
    re: f64,
}

impl Aggregates {
    #[inline]
    fn add_exact(&mut self, d: f64, ln_eta: f64, u: f64, beta: f64) {
        let lu = u.ln();
        let pb = (-beta * lu).exp();
        let pb1 = pb / u;
        self.q += d * pb;
        self.r += d * pb1;
        self.lq += d * pb * lu;
        self.qe += d * ln_eta * pb;
        self.re += d * ln_eta * pb1;
    }
}

impl MultiPowerLaw {
    /// The parameters, as [`Law::param_specs`] gives them, without building the law
    /// (to check a request's parameter names before any data is read).
    pub const PARAMS: &'static [ParamSpec] = SPECS;

    /// Prepares the law for per-step learning rates `lrs` (finite, >= 0) evaluated at
    /// `steps` (each `< lrs.len()`, any order).
    pub fn new(lrs: &[f64], steps: &[usize], convention: MplConvention) -> Result<Self, LawError> {
        if let Some(i) = lrs.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err(LawError::Input(format!(
                "lrs[{i}] = {} is not a finite lr >= 0",
                lrs[i]
            )));
        }
        if let Some(&bad) = steps.iter().find(|&&s| s >= lrs.len()) {
            return Err(LawError::Input(format!(
                "step {bad} is beyond the schedule ({} steps)",
                lrs.len()
            )));
        }
        let ld_start = match convention {
            MplConvention::AuthorsCode => 1,
            MplConvention::Paper { warmup } => warmup.saturating_add(1),
        };
        let mut prefix = Vec::with_capacity(lrs.len());
        let mut acc = 0.0;
        for &v in lrs {
            acc += v;
            prefix.push(acc);
        }
        let sources = sources::Sources::new(lrs, &prefix, ld_start);
        let z = steps.iter().map(|&t| prefix[t]).collect();
        let drop_sum = steps
            .iter()
            .map(|&t| {
                if t >= ld_start {
                    lrs[ld_start - 1] - lrs[t]
                } else {
                    0.0
                }
            })
            .collect();
        let source_count = steps.iter().map(|&t| sources.count_up_to(t)).collect();
        Ok(Self {
            lrs: lrs.to_vec(),
            prefix,
            steps: steps.to_vec(),
            ld_start,
            z,
            drop_sum,
            source_count,
            sources,
            tolerance: DEFAULT_TOLERANCE,
            scratch: moments::ScratchCell::default(),
        })
    }

    /// Same, from a schedule spec (its array covers the largest step).
    pub fn from_schedule(
        schedule: &Schedule,
        steps: &[usize],
        convention: MplConvention,
    ) -> Result<Self, LawError> {
        let len = steps
            .iter()
            .max()
            .map_or(0, |m| m + 1)
            .max(schedule.total() as usize);
        if len as u64 > MAX_STEPS {
            return Err(LawError::Input(format!(
                "schedule of {len} steps exceeds {MAX_STEPS}"
            )));
        }
        Self::new(&schedule.to_array_len(len), steps, convention)
    }

    /// Sets the truncation tolerance of the fast evaluation (see the module docs); values
    /// are clamped to `[1e-16, 1e-3]`.
    pub fn with_tolerance(mut self, tol: f64) -> Self {
        self.tolerance = if tol.is_nan() {
            DEFAULT_TOLERANCE
        } else {
            tol.clamp(1e-16, 1e-3)
        };
        self
    }

    /// The truncation tolerance in use.
    pub fn tolerance(&self) -> f64 {
        self.tolerance
    }

    /// Number of schedule steps with a nonzero drop inside the LD range (the sum's sources).
    pub fn n_sources(&self) -> usize {
        self.sources.len()
    }

    /// `S1 + S_W = sum_{tau<=t} eta_tau` at the evaluation points.
    pub fn lr_area(&self) -> &[f64] {
        &self.z
    }

    /// Data-dependent start grid (the reference recipe): `L0` in `min_loss + {-0.2..0.2}`
    /// (5 values) crossed with the static starts of the other parameters.
    pub fn start_grid(min_loss: f64) -> Vec<Vec<f64>> {
        let mut grid = Vec::new();
        for dl in [-0.2, -0.1, 0.0, 0.1, 0.2] {
            for &a in SPECS[1].starts {
                for &alpha in SPECS[2].starts {
                    for &b in SPECS[3].starts {
                        grid.push(vec![min_loss + dl, a, alpha, b, 1.0, 0.5, 0.5]);
                    }
                }
            }
        }
        grid
    }

    /// The direct O(n T) evaluation (reference for tests and benchmarks).
    pub fn eval_naive(
        &self,
        params: &[f64],
        out: &mut [f64],
        jac: Option<&mut [f64]>,
    ) -> Result<(), LawError> {
        check_dims(self, params, out, jac.as_deref())?;
        let (c, beta, gamma) = (params[4], params[5], params[6]);
        let aggs: Vec<Aggregates> = (0..self.steps.len())
            .map(|i| naive::aggregates(self, i, c, beta, gamma))
            .collect();
        self.assemble(params, &aggs, out, jac);
        Ok(())
    }

    fn assemble(
        &self,
        params: &[f64],
        aggs: &[Aggregates],
        out: &mut [f64],
        mut jac: Option<&mut [f64]>,
    ) {
        let (l0, a, alpha, b, c, beta, gamma) = (
            params[0], params[1], params[2], params[3], params[4], params[5], params[6],
        );
        let _ = gamma;
        for (i, agg) in aggs.iter().enumerate() {
            let z = self.z[i];
            let pa = z.powf(-alpha);
            let ld_sum = self.drop_sum[i] - agg.q; // sum d G
            out[i] = l0 + a * pa - b * ld_sum;
            if let Some(j) = jac.as_deref_mut() {
                let row = &mut j[i * 7..i * 7 + 7];
                row[0] = 1.0;
                row[1] = pa;
                row[2] = -a * pa * z.ln();
                row[3] = -ld_sum;
                row[4] = -b * beta / c * (agg.q - agg.r);
                row[5] = -b * agg.lq;
                row[6] = b * beta * (agg.qe - agg.re);
            }
        }
    }
}

impl Law for MultiPowerLaw {
    fn name(&self) -> &'static str {
        "multipower"
    }

    fn param_specs(&self) -> &'static [ParamSpec] {
        SPECS
    }

    fn n_points(&self) -> usize {
        self.steps.len()
    }

    fn eval(
        &self,
        params: &[f64],
        out: &mut [f64],
        jac: Option<&mut [f64]>,
    ) -> Result<(), LawError> {
        check_dims(self, params, out, jac.as_deref())?;
        let (c, beta, gamma) = (params[4], params[5], params[6]);
        let fast_ok = c > 0.0 && beta > 0.0 && params.iter().all(|p| p.is_finite());
        if !fast_ok {
            return self.eval_naive(params, out, jac);
        }
        let aggs = fast::all_aggregates(self, c, beta, gamma);
        self.assemble(params, &aggs, out, jac);
        Ok(())
    }
}
