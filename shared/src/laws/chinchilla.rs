//! Chinchilla (Hoffmann et al. 2022, Approach 3): `L(N, D) = E + A / N^alpha + B / D^beta`,
//! fitted in the log-sum-exp parametrisation
//!
//! ```text
//! log L^ = LSE(a - alpha log N, b - beta log D, e),   A = e^a, B = e^b, E = e^e
//! ```
//!
//! [`ChinchillaLaw`] evaluates `L^` (not its log) over prepared `(N, D)` pairs with the
//! parameters `[a, b, e, alpha, beta]`; [`Chinchilla`] holds the natural form `(E, A, B,
//! alpha, beta)`, converts between the two and gives the compute-optimal frontier under
//! `C = 6 N D`:
//!
//! ```text
//! N_opt(C) = G (C/6)^(beta/(alpha+beta)),  D_opt(C) = G^-1 (C/6)^(alpha/(alpha+beta)),
//! G = (alpha A / (beta B))^(1/(alpha+beta))
//! ```
//!
//! Any parameter values are evaluated as the formula says (no domain restriction).

use super::{Law, LawError, ParamSpec, check_dims, log_pairs};
use serde::{Deserialize, Serialize};

/// The law in its natural form.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Chinchilla {
    /// Irreducible loss `E`.
    pub e: f64,
    /// Parameter-count coefficient `A`.
    pub a: f64,
    /// Data coefficient `B`.
    pub b: f64,
    pub alpha: f64,
    pub beta: f64,
}

impl Chinchilla {
    /// Hoffmann et al.'s published fit.
    pub const HOFFMANN: Chinchilla = Chinchilla {
        e: 1.69,
        a: 406.4,
        b: 410.7,
        alpha: 0.34,
        beta: 0.28,
    };
    /// Besiroglu et al.'s (Epoch) re-fit of the digitised data.
    pub const EPOCH: Chinchilla = Chinchilla {
        e: 1.8172,
        a: 477.84,
        b: 2143.86,
        alpha: 0.3473,
        beta: 0.3672,
    };

    /// From the fitting parameters `[a, b, e, alpha, beta]` (`A = e^a`, ...).
    pub fn from_log_params(p: [f64; 5]) -> Self {
        Self {
            a: p[0].exp(),
            b: p[1].exp(),
            e: p[2].exp(),
            alpha: p[3],
            beta: p[4],
        }
    }

    /// To the fitting parameters `[a, b, e, alpha, beta]`.
    pub fn to_log_params(&self) -> [f64; 5] {
        [self.a.ln(), self.b.ln(), self.e.ln(), self.alpha, self.beta]
    }

    /// `L(N, D)`.
    pub fn loss(&self, n: f64, d: f64) -> f64 {
        self.e + self.a * n.powf(-self.alpha) + self.b * d.powf(-self.beta)
    }

    /// `G = (alpha A / (beta B))^(1/(alpha+beta))`.
    pub fn g(&self) -> f64 {
        (self.alpha * self.a / (self.beta * self.b)).powf(1.0 / (self.alpha + self.beta))
    }

    /// Compute-optimal parameters for `c` FLOPs (`C = 6 N D`).
    pub fn n_opt(&self, c: f64) -> f64 {
        self.g() * (c / 6.0).powf(self.beta / (self.alpha + self.beta))
    }

    /// Compute-optimal tokens for `c` FLOPs.
    pub fn d_opt(&self, c: f64) -> f64 {
        (c / 6.0).powf(self.alpha / (self.alpha + self.beta)) / self.g()
    }

    /// Loss along the compute-optimal frontier.
    pub fn loss_opt(&self, c: f64) -> f64 {
        self.loss(self.n_opt(c), self.d_opt(c))
    }
}

const SPECS: &[ParamSpec] = &[
    ParamSpec {
        name: "a",
        meaning: "log of A, the coefficient of N^-alpha",
        lower: -10.0,
        upper: 50.0,
        starts: &[0.0, 5.0, 10.0, 15.0, 20.0, 25.0],
    },
    ParamSpec {
        name: "b",
        meaning: "log of B, the coefficient of D^-beta",
        lower: -10.0,
        upper: 50.0,
        starts: &[0.0, 5.0, 10.0, 15.0, 20.0, 25.0],
    },
    ParamSpec {
        name: "e",
        meaning: "log of E, the irreducible loss",
        lower: -5.0,
        upper: 5.0,
        starts: &[-1.0, -0.5, 0.0, 0.5, 1.0],
    },
    ParamSpec {
        name: "alpha",
        meaning: "parameter-count exponent",
        lower: 0.0,
        upper: 5.0,
        starts: &[0.0, 0.5, 1.0, 1.5, 2.0],
    },
    ParamSpec {
        name: "beta",
        meaning: "data exponent",
        lower: 0.0,
        upper: 5.0,
        starts: &[0.0, 0.5, 1.0, 1.5, 2.0],
    },
];

/// Chinchilla's `L^(N, D)` over prepared `(N, D)` pairs, parameters `[a, b, e, alpha, beta]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChinchillaLaw {
    ln_n: Vec<f64>,
    ln_d: Vec<f64>,
}

impl ChinchillaLaw {
    /// The parameters, as [`Law::param_specs`] gives them, without building the law
    /// (to check a request's parameter names before any data is read).
    pub const PARAMS: &'static [ParamSpec] = SPECS;

    /// `n` parameters and `d` tokens per point (equal lengths, finite and > 0).
    pub fn new(n: &[f64], d: &[f64]) -> Result<Self, LawError> {
        let (ln_n, ln_d) = log_pairs(("n", n), ("d", d))?;
        Ok(Self { ln_n, ln_d })
    }
}

impl Law for ChinchillaLaw {
    fn name(&self) -> &'static str {
        "chinchilla"
    }

    fn param_specs(&self) -> &'static [ParamSpec] {
        SPECS
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
        let (a, b, e, alpha, beta) = (params[0], params[1], params[2], params[3], params[4]);
        let mut jac = jac;
        let te = e.exp();
        for (i, (&ln_n, &ln_d)) in self.ln_n.iter().zip(&self.ln_d).enumerate() {
            // exp(LSE(...)) is the plain sum of the three exponentials.
            let tn = (a - alpha * ln_n).exp();
            let td = (b - beta * ln_d).exp();
            out[i] = tn + td + te;
            if let Some(j) = jac.as_deref_mut() {
                j[i * 5..i * 5 + 5].copy_from_slice(&[tn, td, te, -ln_n * tn, -ln_d * td]);
            }
        }
        Ok(())
    }
}
