//! Log-linear hyper-parameter laws: optimal learning rate or batch size as power laws of
//! compute, or of model size and data.
//!
//! ```text
//! y = k C^a                      log y = log k + a log C           ([`PowerLawC`])
//! y = k N^a D^b                  log y = log k + a log N + b log D ([`PowerLawND`])
//! ```
//!
//! Published fits: DeepSeek LLM (2024) `eta_opt = 0.3118 C^-0.1250`,
//! `B_opt = 0.2920 C^0.3271` (C in FLOPs, B in tokens); Step Law (2025)
//! `eta_opt = 1.79 N^-0.713 D^0.307`, `B_opt = 0.58 D^0.571` (B in tokens).
//! The laws predict `y` itself (fit them with a log-space objective); parameters
//! `[log_k, a]` or `[log_k, a, b]`, any values evaluated as written.

use super::{Law, LawError, ParamSpec, check_dims, check_positive, log_pairs};
use serde::{Deserialize, Serialize};

/// `y = k x^a`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PowerLawC {
    pub k: f64,
    pub a: f64,
}

impl PowerLawC {
    pub const DEEPSEEK_LR: PowerLawC = PowerLawC {
        k: 0.3118,
        a: -0.1250,
    };
    pub const DEEPSEEK_BATCH_TOKENS: PowerLawC = PowerLawC {
        k: 0.2920,
        a: 0.3271,
    };

    pub fn eval(&self, x: f64) -> f64 {
        self.k * x.powf(self.a)
    }
}

/// `y = k N^a D^b`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PowerLawND {
    pub k: f64,
    pub a: f64,
    pub b: f64,
}

impl PowerLawND {
    pub const STEP_LAW_LR: PowerLawND = PowerLawND {
        k: 1.79,
        a: -0.713,
        b: 0.307,
    };
    pub const STEP_LAW_BATCH_TOKENS: PowerLawND = PowerLawND {
        k: 0.58,
        a: 0.0,
        b: 0.571,
    };

    pub fn eval(&self, n: f64, d: f64) -> f64 {
        self.k * n.powf(self.a) * d.powf(self.b)
    }
}

const SPECS_C: &[ParamSpec] = &[
    ParamSpec {
        name: "log_k",
        meaning: "ln of the coefficient k",
        lower: -50.0,
        upper: 50.0,
        starts: &[-5.0, 0.0, 5.0],
    },
    ParamSpec {
        name: "a",
        meaning: "exponent of C",
        lower: -3.0,
        upper: 3.0,
        starts: &[-0.5, 0.0, 0.5],
    },
];

const SPECS_ND: &[ParamSpec] = &[
    ParamSpec {
        name: "log_k",
        meaning: "ln of the coefficient k",
        lower: -50.0,
        upper: 50.0,
        starts: &[-5.0, 0.0, 5.0],
    },
    ParamSpec {
        name: "a",
        meaning: "exponent of N",
        lower: -3.0,
        upper: 3.0,
        starts: &[-0.5, 0.0, 0.5],
    },
    ParamSpec {
        name: "b",
        meaning: "exponent of D",
        lower: -3.0,
        upper: 3.0,
        starts: &[-0.5, 0.0, 0.5],
    },
];

/// `y = exp(log_k + a ln x)` over prepared `x` (compute), parameters `[log_k, a]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerLawCLaw {
    ln_x: Vec<f64>,
}

impl PowerLawCLaw {
    pub fn new(x: &[f64]) -> Result<Self, LawError> {
        check_positive("x", x)?;
        Ok(Self {
            ln_x: x.iter().map(|v| v.ln()).collect(),
        })
    }
}

impl Law for PowerLawCLaw {
    fn name(&self) -> &'static str {
        "hyper_c"
    }
    fn param_specs(&self) -> &'static [ParamSpec] {
        SPECS_C
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
        let mut jac = jac;
        for (i, &lx) in self.ln_x.iter().enumerate() {
            let y = (params[0] + params[1] * lx).exp();
            out[i] = y;
            if let Some(j) = jac.as_deref_mut() {
                j[i * 2..i * 2 + 2].copy_from_slice(&[y, y * lx]);
            }
        }
        Ok(())
    }
}

/// `y = exp(log_k + a ln N + b ln D)` over prepared pairs, parameters `[log_k, a, b]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerLawNDLaw {
    ln_n: Vec<f64>,
    ln_d: Vec<f64>,
}

impl PowerLawNDLaw {
    pub fn new(n: &[f64], d: &[f64]) -> Result<Self, LawError> {
        let (ln_n, ln_d) = log_pairs(("n", n), ("d", d))?;
        Ok(Self { ln_n, ln_d })
    }
}

impl Law for PowerLawNDLaw {
    fn name(&self) -> &'static str {
        "hyper_nd"
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
        let mut jac = jac;
        for (i, (&ln_n, &ln_d)) in self.ln_n.iter().zip(&self.ln_d).enumerate() {
            let y = (params[0] + params[1] * ln_n + params[2] * ln_d).exp();
            out[i] = y;
            if let Some(j) = jac.as_deref_mut() {
                j[i * 3..i * 3 + 3].copy_from_slice(&[y, y * ln_n, y * ln_d]);
            }
        }
        Ok(())
    }
}
