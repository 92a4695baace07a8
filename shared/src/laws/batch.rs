//! Critical batch size (Kaplan et al. 2020, McCandlish et al. 2018, Su et al. 2024).
//!
//! - `B_crit(L) = B* / L^(1/alpha_B)` (Kaplan: `B*` 2e8 tokens, `alpha_B` 0.21, so
//!   `B_crit(2.0)` = 7.37e6 tokens): [`critical_batch`], fittable as [`CriticalBatchLaw`].
//! - To reach a fixed loss, steps and examples trade off as `(S/S_min - 1)(E/E_min - 1) = 1`:
//!   `S = S_min (1 + B_crit/B)`, `E = E_min (1 + B/B_crit)`, `B_crit = E_min / S_min`
//!   ([`steps_at_batch`], [`examples_at_batch`]); regressing `S` on `1/B` gives
//!   `S = S_min + E_min / B` ([`McCandlishLaw`]).
//! - Kaplan's adjustments: `S_min = S / (1 + B_crit(L)/B)`, `C_min = C / (1 + B/B_crit(L))`
//!   ([`s_min`], [`c_min`]; `E_min` like `C_min`).
//! - Su et al.'s loss curve at batch `B`, implicit in `L`:
//!   `L = (N_c/N)^alpha_N + (S_c (1 + B*/(B L^(1/alpha_B))) / S)^alpha_S`.
//!   Its right side decreases in `L`, so the root is unique and lies in
//!   `[X, X + Y(X)]` with `X = (N_c/N)^alpha_N`; [`SuLaw`] solves it by bisection and gets
//!   the gradient from the implicit function theorem.

use super::{Law, LawError, ParamSpec, check_dims, check_positive};
use serde::{Deserialize, Serialize};

/// Kaplan's published `B*` (tokens).
pub const KAPLAN_B_STAR: f64 = 2e8;
/// Kaplan's published `alpha_B`.
pub const KAPLAN_ALPHA_B: f64 = 0.21;

/// `B_crit(L) = B* / L^(1/alpha_B)`.
pub fn critical_batch(loss: f64, b_star: f64, alpha_b: f64) -> f64 {
    b_star / loss.powf(1.0 / alpha_b)
}

/// Minimum steps: `S_min = S / (1 + B_crit / B)`.
pub fn s_min(steps: f64, batch: f64, b_crit: f64) -> f64 {
    steps / (1.0 + b_crit / batch)
}

/// Minimum compute: `C_min = C / (1 + B / B_crit)` (the same relation gives `E_min`).
pub fn c_min(compute: f64, batch: f64, b_crit: f64) -> f64 {
    compute / (1.0 + batch / b_crit)
}

/// McCandlish: steps needed at batch `B`, `S = S_min (1 + B_crit / B)`.
pub fn steps_at_batch(s_min: f64, b_crit: f64, batch: f64) -> f64 {
    s_min * (1.0 + b_crit / batch)
}

/// McCandlish: examples needed at batch `B`, `E = E_min (1 + B / B_crit)`.
pub fn examples_at_batch(e_min: f64, b_crit: f64, batch: f64) -> f64 {
    e_min * (1.0 + batch / b_crit)
}

const SPECS_BCRIT: &[ParamSpec] = &[
    ParamSpec {
        name: "log_b_star",
        meaning: "ln of B*",
        lower: -20.0,
        upper: 60.0,
        starts: &[10.0, 19.0],
    },
    ParamSpec {
        name: "alpha_b",
        meaning: "exponent: B_crit = B* / L^(1/alpha_B)",
        lower: 1e-3,
        upper: 10.0,
        starts: &[0.1, 0.21, 0.5],
    },
];

/// `B_crit(L) = exp(log_b_star - ln L / alpha_b)` over prepared losses.
#[derive(Debug, Clone, PartialEq)]
pub struct CriticalBatchLaw {
    ln_loss: Vec<f64>,
}

impl CriticalBatchLaw {
    pub fn new(losses: &[f64]) -> Result<Self, LawError> {
        check_positive("losses", losses)?;
        Ok(Self {
            ln_loss: losses.iter().map(|v| v.ln()).collect(),
        })
    }
}

impl Law for CriticalBatchLaw {
    fn name(&self) -> &'static str {
        "critical_batch"
    }
    fn param_specs(&self) -> &'static [ParamSpec] {
        SPECS_BCRIT
    }
    fn n_points(&self) -> usize {
        self.ln_loss.len()
    }
    fn eval(
        &self,
        params: &[f64],
        out: &mut [f64],
        jac: Option<&mut [f64]>,
    ) -> Result<(), LawError> {
        check_dims(self, params, out, jac.as_deref())?;
        let (lb, ab) = (params[0], params[1]);
        let mut jac = jac;
        for (i, &ll) in self.ln_loss.iter().enumerate() {
            let b = (lb - ll / ab).exp();
            out[i] = b;
            if let Some(j) = jac.as_deref_mut() {
                j[i * 2..i * 2 + 2].copy_from_slice(&[b, b * ll / (ab * ab)]);
            }
        }
        Ok(())
    }
}

const SPECS_MC: &[ParamSpec] = &[
    ParamSpec {
        name: "s_min",
        meaning: "steps needed at infinite batch",
        lower: 0.0,
        upper: 1e12,
        starts: &[1e3, 1e4],
    },
    ParamSpec {
        name: "e_min",
        meaning: "examples needed at batch 1 (B_crit = E_min/S_min)",
        lower: 0.0,
        upper: 1e18,
        starts: &[1e6, 1e7],
    },
];

/// McCandlish's `S(B) = S_min + E_min / B` over prepared batch sizes.
#[derive(Debug, Clone, PartialEq)]
pub struct McCandlishLaw {
    inv_b: Vec<f64>,
}

impl McCandlishLaw {
    pub fn new(batches: &[f64]) -> Result<Self, LawError> {
        check_positive("batches", batches)?;
        Ok(Self {
            inv_b: batches.iter().map(|b| 1.0 / b).collect(),
        })
    }
}

impl Law for McCandlishLaw {
    fn name(&self) -> &'static str {
        "mccandlish"
    }
    fn param_specs(&self) -> &'static [ParamSpec] {
        SPECS_MC
    }
    fn n_points(&self) -> usize {
        self.inv_b.len()
    }
    fn eval(
        &self,
        params: &[f64],
        out: &mut [f64],
        jac: Option<&mut [f64]>,
    ) -> Result<(), LawError> {
        check_dims(self, params, out, jac.as_deref())?;
        let mut jac = jac;
        for (i, &ib) in self.inv_b.iter().enumerate() {
            out[i] = params[0] + params[1] * ib;
            if let Some(j) = jac.as_deref_mut() {
                j[i * 2..i * 2 + 2].copy_from_slice(&[1.0, ib]);
            }
        }
        Ok(())
    }
}

/// Su et al.'s constants: `L(N, S_min)` plus `B_crit(L)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SuParams {
    pub n_c: f64,
    pub alpha_n: f64,
    pub s_c: f64,
    pub alpha_s: f64,
    pub b_star: f64,
    pub alpha_b: f64,
}

impl SuParams {
    /// Kaplan's published constants (`L(N, S_min)` and `B_crit`).
    pub const KAPLAN: SuParams = SuParams {
        n_c: 6.5e13,
        alpha_n: 0.077,
        s_c: 2.1e3,
        alpha_s: 0.76,
        b_star: 2e8,
        alpha_b: 0.21,
    };

    /// The fitting parameters `[log_nc, alpha_n, log_sc, alpha_s, log_b_star, alpha_b]`.
    pub fn to_params(&self) -> [f64; 6] {
        [
            self.n_c.ln(),
            self.alpha_n,
            self.s_c.ln(),
            self.alpha_s,
            self.b_star.ln(),
            self.alpha_b,
        ]
    }

    /// Loss after `steps` at batch `batch` for a model of `n` parameters (see [`SuLaw`]).
    pub fn loss(&self, n: f64, steps: f64, batch: f64) -> Result<f64, LawError> {
        let p = self.to_params();
        solve_su(&p, n.ln(), steps.ln(), batch.ln()).map(|s| s.loss)
    }
}

const SPECS_SU: &[ParamSpec] = &[
    ParamSpec {
        name: "log_nc",
        meaning: "ln of N_c",
        lower: 0.0,
        upper: 80.0,
        starts: &[25.0, 32.0],
    },
    ParamSpec {
        name: "alpha_n",
        meaning: "parameter-count exponent",
        lower: 0.0,
        upper: 2.0,
        starts: &[0.05, 0.1],
    },
    ParamSpec {
        name: "log_sc",
        meaning: "ln of S_c",
        lower: -10.0,
        upper: 40.0,
        starts: &[5.0, 8.0],
    },
    ParamSpec {
        name: "alpha_s",
        meaning: "step exponent",
        lower: 0.0,
        upper: 3.0,
        starts: &[0.5, 0.8],
    },
    ParamSpec {
        name: "log_b_star",
        meaning: "ln of B* (same unit as B)",
        lower: -20.0,
        upper: 60.0,
        starts: &[10.0, 19.0],
    },
    ParamSpec {
        name: "alpha_b",
        meaning: "B_crit = B* / L^(1/alpha_B)",
        lower: 1e-3,
        upper: 10.0,
        starts: &[0.21],
    },
];

/// Solution of Su et al.'s implicit equation and the pieces of its gradient.
struct SuSolution {
    loss: f64,
    /// d loss / d params.
    grad: [f64; 6],
}

/// Solves `L = X + Y(L)` by bisection on `[X, X + Y(X)]` and differentiates implicitly:
/// `dL/dtheta = (dRHS/dtheta) / (1 - dRHS/dL)`.
fn solve_su(p: &[f64], ln_n: f64, ln_s: f64, ln_b: f64) -> Result<SuSolution, LawError> {
    let (lnc, an, lsc, as_, lbs, ab) = (p[0], p[1], p[2], p[3], p[4], p[5]);
    let x = (an * (lnc - ln_n)).exp();
    // g(L) = 1 + B* / (B L^(1/alpha_B)); Y(L) = (S_c g / S)^alpha_S.
    let g = |l: f64| 1.0 + (lbs - ln_b - l.ln() / ab).exp();
    let y = |l: f64| (as_ * (lsc + g(l).ln() - ln_s)).exp();
    let (mut lo, mut hi) = (x, x + y(x));
    if !(lo.is_finite() && hi.is_finite() && lo > 0.0) {
        return Err(LawError::NoSolution(format!(
            "no finite bracket (X = {lo}, X + Y(X) = {hi}); check N, S, B and the parameters"
        )));
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if mid - x - y(mid) < 0.0 {
            lo = mid
        } else {
            hi = mid
        }
    }
    let l = 0.5 * (lo + hi);
    let (gl, yl) = (g(l), y(l));
    let ln_g = gl.ln();
    let dg_share = (gl - 1.0) / gl; // d ln g / d ln(B* ...) factor
    let d_rhs_dl = -as_ * yl * dg_share / (ab * l);
    let denom = 1.0 - d_rhs_dl;
    let d_rhs = [
        an * x,
        x * (lnc - ln_n),
        as_ * yl,
        yl * (lsc + ln_g - ln_s),
        as_ * yl * dg_share,
        as_ * yl * dg_share * l.ln() / (ab * ab),
    ];
    Ok(SuSolution {
        loss: l,
        grad: d_rhs.map(|v| v / denom),
    })
}

/// Su et al.'s loss at `(N, S, B)` points, parameters
/// `[log_nc, alpha_n, log_sc, alpha_s, log_b_star, alpha_b]`.
///
/// A point without a finite solution (e.g. `alpha_b <= 0`) yields NaN in `out` and `jac`.
#[derive(Debug, Clone, PartialEq)]
pub struct SuLaw {
    ln_n: Vec<f64>,
    ln_s: Vec<f64>,
    ln_b: Vec<f64>,
}

impl SuLaw {
    /// `n` parameters, `steps` and `batch` (same unit as `B*`) per point.
    pub fn new(n: &[f64], steps: &[f64], batch: &[f64]) -> Result<Self, LawError> {
        for (what, v) in [("steps", steps), ("batch", batch)] {
            if v.len() != n.len() {
                return Err(LawError::Dimension {
                    what,
                    expected: n.len(),
                    got: v.len(),
                });
            }
        }
        check_positive("n", n)?;
        check_positive("steps", steps)?;
        check_positive("batch", batch)?;
        let ln = |v: &[f64]| v.iter().map(|x| x.ln()).collect();
        Ok(Self {
            ln_n: ln(n),
            ln_s: ln(steps),
            ln_b: ln(batch),
        })
    }
}

impl Law for SuLaw {
    fn name(&self) -> &'static str {
        "su_batch_curve"
    }
    fn param_specs(&self) -> &'static [ParamSpec] {
        SPECS_SU
    }
    fn n_points(&self) -> usize {
        self.ln_n.len()
    }
    fn eval(
        &self,
        params: &[f64],
        out: &mut [f64],
        jac: Option<&mut [f64]>,
    ) -> Result<(), LawError> {
        check_dims(self, params, out, jac.as_deref())?;
        let mut jac = jac;
        for i in 0..self.ln_n.len() {
            let sol =
                solve_su(params, self.ln_n[i], self.ln_s[i], self.ln_b[i]).unwrap_or(SuSolution {
                    loss: f64::NAN,
                    grad: [f64::NAN; 6],
                });
            out[i] = sol.loss;
            if let Some(j) = jac.as_deref_mut() {
                j[i * 6..i * 6 + 6].copy_from_slice(&sol.grad);
            }
        }
        Ok(())
    }
}
