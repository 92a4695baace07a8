//! Scaling laws and loss-curve laws: value and analytic gradient w.r.t. the parameters.
//!
//! # The [`Law`] interface (what a fitting engine is generic over)
//!
//! A law object holds its **prepared inputs**: the evaluation points and everything that
//! does not depend on the parameters (schedule prefix sums, the steps to evaluate at,
//! `(N, D)` pairs, ...), computed once at construction. Fitting then calls
//! [`Law::eval`] thousands of times with different parameter vectors:
//!
//! ```text
//! law.eval(params, out, Some(jac))
//!   params: [f64; n_params]           in the order of law.param_specs()
//!   out:    [f64; n_points]           predicted values (losses, batch sizes, ...)
//!   jac:    [f64; n_points * n_params] row-major: jac[i * n_params + j] = d out[i] / d params[j]
//! ```
//!
//! - The trait is object safe: an engine can hold `Box<dyn Law>` or `&dyn Law`
//!   (implementations are `Send + Sync`, so fits can run on worker threads).
//! - Gradients are analytic (checked against central finite differences in the tests).
//! - Slices of the wrong length give [`LawError::Dimension`]; nothing panics.
//! - Parameters outside a law's domain (e.g. a negative exponent base) are not errors:
//!   the outputs are then whatever the formula gives, possibly NaN or infinite, and the
//!   engine should treat a non-finite value as a rejected step. Each law documents its
//!   domain; [`ParamSpec::lower`]/[`ParamSpec::upper`] are default box bounds inside it.
//! - [`ParamSpec::starts`] lists data-independent start values per parameter (their
//!   Cartesian product is the published start grid where the reference gives one);
//!   laws whose good starts depend on the data also offer a `starts_for(...)` helper.
//!
//! # The laws
//!
//! | module | law | parameters |
//! |---|---|---|
//! | [`momentum`] | Tissue et al. 2024: `L0 + A S1^-alpha - C S2` | `L0, A, alpha, C` |
//! | [`multipower`] | Luo et al. 2025 multi-power law (fast LD sum with an a-priori error bound) | `L0, A, alpha, B, C, beta, gamma` |
//! | [`fsl`] | Li et al. 2025 functional scaling law, practical form (same fast sum) | `L0, c1, c2, c3, c4, s, gamma` |
//! | [`convex`] | Schaipp et al. 2025 convex last-iterate bound `C + M Omega` (fast sum) | `D, G1, G2, A1, A2, B, C, M` |
//! | [`power_s1`] | baseline power law in the LR area `L0 + A S1^-alpha` | `L0, A, alpha` |
//! | [`chinchilla`] | Hoffmann et al. 2022 `L(N, D)`, log-sum-exp form; compute-optimal frontier | `a, b, e, alpha, beta` |
//! | [`kaplan`] | Kaplan et al. 2020 `L(N)`, `L(D)`, `L(N, D)`, `L(N, S_min)` | log-scales and exponents |
//! | [`batch`] | critical batch size `B_crit(L)`, McCandlish `S(B)`, `S_min`/`C_min`, Su et al.'s implicit `L(N, S, B)` | |
//! | [`power`] | saturating power law `E + A x^-alpha` | `E, A, alpha` |
//! | [`hyper`] | log-linear hyper-parameter laws `y = k C^a`, `y = k N^a D^b` | `log_k, a(, b)` |

pub mod batch;
pub mod chinchilla;
pub mod convex;
pub mod fsl;
pub mod hyper;
pub mod kaplan;
mod kernel_sum;
pub mod momentum;
pub mod multipower;
pub mod power;
pub mod power_s1;

use serde::Serialize;
use std::fmt;

/// One named parameter of a law.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ParamSpec {
    /// Short name used in reports and JSON (`"L0"`, `"alpha"`, ...).
    pub name: &'static str,
    /// One line saying what the parameter means.
    pub meaning: &'static str,
    /// Default lower box bound (inside the law's domain).
    pub lower: f64,
    /// Default upper box bound.
    pub upper: f64,
    /// Data-independent start values for a multi-start fit.
    pub starts: &'static [f64],
}

/// Errors of law construction and evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum LawError {
    /// A slice passed to [`Law::eval`] (or a constructor) has the wrong length.
    Dimension {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    /// An input (not a parameter) is unusable: a step beyond the schedule, N <= 0, ...
    Input(String),
    /// An implicit equation has no solution for these inputs.
    NoSolution(String),
}

impl fmt::Display for LawError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dimension {
                what,
                expected,
                got,
            } => {
                write!(f, "{what}: expected length {expected}, got {got}")
            }
            Self::Input(msg) => write!(f, "invalid input: {msg}"),
            Self::NoSolution(msg) => write!(f, "no solution: {msg}"),
        }
    }
}

impl std::error::Error for LawError {}

/// A law with prepared inputs: `n_points()` predictions as a function of `n_params()`
/// parameters. See the [module docs](self).
pub trait Law: Send + Sync {
    /// Short identifier (`"multipower"`, `"chinchilla"`, ...).
    fn name(&self) -> &'static str;

    /// The parameters, in the order `params` uses.
    fn param_specs(&self) -> &'static [ParamSpec];

    /// Number of evaluation points (the length of `out`).
    fn n_points(&self) -> usize;

    /// Writes the predictions into `out` and, when `jac` is given, the Jacobian
    /// (row-major, `n_points x n_params`).
    fn eval(
        &self,
        params: &[f64],
        out: &mut [f64],
        jac: Option<&mut [f64]>,
    ) -> Result<(), LawError>;

    /// Number of parameters.
    fn n_params(&self) -> usize {
        self.param_specs().len()
    }

    /// Convenience: the predictions as a new vector.
    fn predict(&self, params: &[f64]) -> Result<Vec<f64>, LawError> {
        let mut out = vec![0.0; self.n_points()];
        self.eval(params, &mut out, None)?;
        Ok(out)
    }

    /// Convenience: predictions and Jacobian as new vectors.
    fn predict_with_jacobian(&self, params: &[f64]) -> Result<(Vec<f64>, Vec<f64>), LawError> {
        let mut out = vec![0.0; self.n_points()];
        let mut jac = vec![0.0; self.n_points() * self.n_params()];
        self.eval(params, &mut out, Some(&mut jac))?;
        Ok((out, jac))
    }
}

/// Checks the slice lengths of an [`Law::eval`] call.
pub(crate) fn check_dims(
    law: &dyn Law,
    params: &[f64],
    out: &[f64],
    jac: Option<&[f64]>,
) -> Result<(), LawError> {
    let (np, n) = (law.n_params(), law.n_points());
    if params.len() != np {
        return Err(LawError::Dimension {
            what: "params",
            expected: np,
            got: params.len(),
        });
    }
    if out.len() != n {
        return Err(LawError::Dimension {
            what: "out",
            expected: n,
            got: out.len(),
        });
    }
    if let Some(j) = jac.filter(|j| j.len() != n * np) {
        return Err(LawError::Dimension {
            what: "jac",
            expected: n * np,
            got: j.len(),
        });
    }
    Ok(())
}

/// The logs of two equally long input columns whose values are finite and > 0 (the
/// prepared inputs of the two-variable scaling laws).
pub(crate) fn log_pairs(
    (x_name, x): (&'static str, &[f64]),
    (y_name, y): (&'static str, &[f64]),
) -> Result<(Vec<f64>, Vec<f64>), LawError> {
    if x.len() != y.len() {
        return Err(LawError::Dimension {
            what: y_name,
            expected: x.len(),
            got: y.len(),
        });
    }
    check_positive(x_name, x)?;
    check_positive(y_name, y)?;
    let ln = |v: &[f64]| v.iter().map(|v| v.ln()).collect();
    Ok((ln(x), ln(y)))
}

/// Checks that every value of an input column is finite and strictly positive.
pub(crate) fn check_positive(what: &str, values: &[f64]) -> Result<(), LawError> {
    match values.iter().position(|v| !(v.is_finite() && *v > 0.0)) {
        None => Ok(()),
        Some(i) => Err(LawError::Input(format!(
            "{what}[{i}] = {} is not finite and > 0",
            values[i]
        ))),
    }
}
