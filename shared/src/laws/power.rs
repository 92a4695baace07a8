//! The generic saturating power law `L(x) = E + A x^-alpha` (x: steps, tokens, FLOPs,
//! parameters, ...). Parameters `[E, A, alpha]`; any values are evaluated as written.

use super::{Law, LawError, ParamSpec, check_dims, check_positive};

const SPECS: &[ParamSpec] = &[
    ParamSpec {
        name: "E",
        meaning: "asymptote (irreducible value)",
        lower: 0.0,
        upper: 100.0,
        starts: &[0.0, 1.0, 2.0],
    },
    ParamSpec {
        name: "A",
        meaning: "coefficient of x^-alpha",
        lower: 0.0,
        upper: 1e12,
        starts: &[1.0, 10.0, 100.0],
    },
    ParamSpec {
        name: "alpha",
        meaning: "decay exponent",
        lower: 0.0,
        upper: 5.0,
        starts: &[0.1, 0.3, 0.6],
    },
];

/// `E + A x^-alpha` over prepared `x` values (finite, > 0).
#[derive(Debug, Clone, PartialEq)]
pub struct SaturatingPowerLaw {
    x: Vec<f64>,
}

impl SaturatingPowerLaw {
    /// The parameters, as [`Law::param_specs`] gives them, without building the law
    /// (to check a request's parameter names before any data is read).
    pub const PARAMS: &'static [ParamSpec] = SPECS;

    pub fn new(x: &[f64]) -> Result<Self, LawError> {
        check_positive("x", x)?;
        Ok(Self { x: x.to_vec() })
    }
}

impl Law for SaturatingPowerLaw {
    fn name(&self) -> &'static str {
        "saturating_power"
    }
    fn param_specs(&self) -> &'static [ParamSpec] {
        SPECS
    }
    fn n_points(&self) -> usize {
        self.x.len()
    }
    fn eval(
        &self,
        params: &[f64],
        out: &mut [f64],
        jac: Option<&mut [f64]>,
    ) -> Result<(), LawError> {
        check_dims(self, params, out, jac.as_deref())?;
        let (e, a, alpha) = (params[0], params[1], params[2]);
        let mut jac = jac;
        for (i, &x) in self.x.iter().enumerate() {
            let p = x.powf(-alpha);
            out[i] = e + a * p;
            if let Some(j) = jac.as_deref_mut() {
                j[i * 3..i * 3 + 3].copy_from_slice(&[1.0, p, -a * p * x.ln()]);
            }
        }
        Ok(())
    }
}
