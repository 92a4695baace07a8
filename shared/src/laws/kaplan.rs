//! Kaplan et al. 2020 scaling laws, with published constants and fittable forms.
//!
//! | law | form | published constants |
//! |---|---|---|
//! | `L(N)` | `(N_c/N)^alpha_N` | `alpha_N` 0.076, `N_c` 8.8e13 |
//! | `L(D)` | `(D_c/D)^alpha_D` | `alpha_D` 0.095, `D_c` 5.4e13 |
//! | `L(N, D)` | `[(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D` | |
//! | `L(N, S_min)` | `(N_c/N)^alpha_N + (S_c/S_min)^alpha_S` | `alpha_N` 0.077, `alpha_S` 0.76, `N_c` 6.5e13, `S_c` 2.1e3 |
//!
//! The scales are fitted through their logarithms (`log_nc = ln N_c`, ...), which keeps the
//! parameters of order one. The batch-size relations (`B_crit`, `S_min`, `C_min`) are in
//! [`super::batch`]. Any parameter values are evaluated as the formula says.

use super::{Law, LawError, ParamSpec, check_dims, check_positive, log_pairs};
use serde::{Deserialize, Serialize};

/// `L(x) = (x_c / x)^alpha`, the form of both `L(N)` and `L(D)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KaplanPower {
    pub scale: f64,
    pub alpha: f64,
}

impl KaplanPower {
    /// `L(N)`: `alpha_N` 0.076, `N_c` 8.8e13 (non-embedding parameters).
    pub const L_OF_N: KaplanPower = KaplanPower {
        scale: 8.8e13,
        alpha: 0.076,
    };
    /// `L(D)`: `alpha_D` 0.095, `D_c` 5.4e13 (tokens).
    pub const L_OF_D: KaplanPower = KaplanPower {
        scale: 5.4e13,
        alpha: 0.095,
    };

    pub fn loss(&self, x: f64) -> f64 {
        (self.scale / x).powf(self.alpha)
    }
}

/// `L(N, D) = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KaplanND {
    pub n_c: f64,
    pub d_c: f64,
    pub alpha_n: f64,
    pub alpha_d: f64,
}

impl KaplanND {
    /// With the published `L(N)` and `L(D)` constants.
    pub const PUBLISHED: KaplanND = KaplanND {
        n_c: 8.8e13,
        d_c: 5.4e13,
        alpha_n: 0.076,
        alpha_d: 0.095,
    };

    pub fn loss(&self, n: f64, d: f64) -> f64 {
        ((self.n_c / n).powf(self.alpha_n / self.alpha_d) + self.d_c / d).powf(self.alpha_d)
    }
}

/// `L(N, S_min) = (N_c/N)^alpha_N + (S_c/S_min)^alpha_S`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KaplanNS {
    pub n_c: f64,
    pub alpha_n: f64,
    pub s_c: f64,
    pub alpha_s: f64,
}

impl KaplanNS {
    pub const PUBLISHED: KaplanNS = KaplanNS {
        n_c: 6.5e13,
        alpha_n: 0.077,
        s_c: 2.1e3,
        alpha_s: 0.76,
    };

    pub fn loss(&self, n: f64, s_min: f64) -> f64 {
        (self.n_c / n).powf(self.alpha_n) + (self.s_c / s_min).powf(self.alpha_s)
    }
}

const SPECS_POWER: &[ParamSpec] = &[
    ParamSpec {
        name: "log_scale",
        meaning: "ln of N_c (or D_c)",
        lower: 0.0,
        upper: 80.0,
        starts: &[20.0, 30.0, 40.0],
    },
    ParamSpec {
        name: "alpha",
        meaning: "exponent",
        lower: 0.0,
        upper: 2.0,
        starts: &[0.05, 0.1, 0.3],
    },
];

const SPECS_ND: &[ParamSpec] = &[
    ParamSpec {
        name: "log_nc",
        meaning: "ln of N_c",
        lower: 0.0,
        upper: 80.0,
        starts: &[25.0, 32.0],
    },
    ParamSpec {
        name: "log_dc",
        meaning: "ln of D_c",
        lower: 0.0,
        upper: 80.0,
        starts: &[25.0, 32.0],
    },
    ParamSpec {
        name: "alpha_n",
        meaning: "parameter-count exponent",
        lower: 1e-4,
        upper: 2.0,
        starts: &[0.05, 0.1],
    },
    ParamSpec {
        name: "alpha_d",
        meaning: "data exponent",
        lower: 1e-4,
        upper: 2.0,
        starts: &[0.05, 0.1],
    },
];

const SPECS_NS: &[ParamSpec] = &[
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
];

/// `L(x) = exp(alpha (log_scale - ln x))` over prepared `x` (N or D), parameters
/// `[log_scale, alpha]`.
#[derive(Debug, Clone, PartialEq)]
pub struct KaplanPowerLaw {
    ln_x: Vec<f64>,
}

impl KaplanPowerLaw {
    /// The parameters, as [`Law::param_specs`] gives them, without building the law
    /// (to check a request's parameter names before any data is read).
    pub const PARAMS: &'static [ParamSpec] = SPECS_POWER;

    pub fn new(x: &[f64]) -> Result<Self, LawError> {
        check_positive("x", x)?;
        Ok(Self {
            ln_x: x.iter().map(|v| v.ln()).collect(),
        })
    }
}

impl Law for KaplanPowerLaw {
    fn name(&self) -> &'static str {
        "kaplan_power"
    }
    fn param_specs(&self) -> &'static [ParamSpec] {
        SPECS_POWER
    }
    fn n_points(&self) -> usize {
        self.ln_x.len()
    }
    fn eval(
        &self,
        params: &[f64],
        out: &mut [f64],
        jac: Option<&mut [f64]>,
    ) -> Result<(), LawError> {
        check_dims(self, params, out, jac.as_deref())?;
        let (ls, alpha) = (params[0], params[1]);
        let mut jac = jac;
        for (i, &lx) in self.ln_x.iter().enumerate() {
            let l = (alpha * (ls - lx)).exp();
            out[i] = l;
            if let Some(j) = jac.as_deref_mut() {
                j[i * 2..i * 2 + 2].copy_from_slice(&[alpha * l, (ls - lx) * l]);
            }
        }
        Ok(())
    }
}

/// Kaplan's `L(N, D)` over prepared pairs, parameters `[log_nc, log_dc, alpha_n, alpha_d]`.
#[derive(Debug, Clone, PartialEq)]
pub struct KaplanNDLaw {
    ln_n: Vec<f64>,
    ln_d: Vec<f64>,
}

impl KaplanNDLaw {
    /// The parameters, as [`Law::param_specs`] gives them, without building the law
    /// (to check a request's parameter names before any data is read).
    pub const PARAMS: &'static [ParamSpec] = SPECS_ND;

    pub fn new(n: &[f64], d: &[f64]) -> Result<Self, LawError> {
        let (ln_n, ln_d) = log_pairs(("n", n), ("d", d))?;
        Ok(Self { ln_n, ln_d })
    }
}

impl Law for KaplanNDLaw {
    fn name(&self) -> &'static str {
        "kaplan_nd"
    }
    fn param_specs(&self) -> &'static [ParamSpec] {
        SPECS_ND
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
        let (lnc, ldc, an, ad) = (params[0], params[1], params[2], params[3]);
        let mut jac = jac;
        for (i, (&ln_n, &ln_d)) in self.ln_n.iter().zip(&self.ln_d).enumerate() {
            let gn = lnc - ln_n;
            let x = (an / ad * gn).exp(); // (N_c/N)^(alpha_N/alpha_D)
            let y = (ldc - ln_d).exp(); // D_c/D
            let u = x + y;
            let l = u.powf(ad);
            out[i] = l;
            if let Some(j) = jac.as_deref_mut() {
                let du = l / u; // u^(alpha_D - 1)
                // d/d alpha_D = L [ln u - (x/u) ln x], written without the cancellation
                // between its two terms: L [(x/u) ln(1 + y/x) + (y/u) ln u].
                let share_x = if x > 0.0 {
                    x / u * (y / x).ln_1p()
                } else {
                    0.0
                };
                j[i * 4..i * 4 + 4].copy_from_slice(&[
                    an * du * x,
                    ad * du * y,
                    du * x * gn,
                    l * (share_x + y / u * u.ln()),
                ]);
            }
        }
        Ok(())
    }
}

/// Kaplan's `L(N, S_min)` over prepared pairs, parameters `[log_nc, alpha_n, log_sc, alpha_s]`.
#[derive(Debug, Clone, PartialEq)]
pub struct KaplanNSLaw {
    ln_n: Vec<f64>,
    ln_s: Vec<f64>,
}

impl KaplanNSLaw {
    /// The parameters, as [`Law::param_specs`] gives them, without building the law
    /// (to check a request's parameter names before any data is read).
    pub const PARAMS: &'static [ParamSpec] = SPECS_NS;

    /// `n` parameters and `s_min` (minimum steps, see [`super::batch::s_min`]) per point.
    pub fn new(n: &[f64], s_min: &[f64]) -> Result<Self, LawError> {
        let (ln_n, ln_s) = log_pairs(("n", n), ("s_min", s_min))?;
        Ok(Self { ln_n, ln_s })
    }
}

impl Law for KaplanNSLaw {
    fn name(&self) -> &'static str {
        "kaplan_ns"
    }
    fn param_specs(&self) -> &'static [ParamSpec] {
        SPECS_NS
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
        let (lnc, an, lsc, as_) = (params[0], params[1], params[2], params[3]);
        let mut jac = jac;
        for (i, (&ln_n, &ln_s)) in self.ln_n.iter().zip(&self.ln_s).enumerate() {
            let (gn, gs) = (lnc - ln_n, lsc - ln_s);
            let (x, y) = ((an * gn).exp(), (as_ * gs).exp());
            out[i] = x + y;
            if let Some(j) = jac.as_deref_mut() {
                j[i * 4..i * 4 + 4].copy_from_slice(&[an * x, gn * x, as_ * y, gs * y]);
            }
        }
        Ok(())
    }
}
