//! A Gaussian prior (ridge penalty) on weakly identified parameters, added to the data
//! objective:
//!
//! ```text
//! penalty(p) = strength/2 * sum_j ((phi_j(p_j) - phi_j(center_j)) / scale_j)^2
//! ```
//!
//! with `phi = ln` for positive scale parameters and the identity otherwise. Fitting with
//! it is maximum a posteriori estimation; it also mimics the implicit regularisation of an
//! early-stopped optimizer started at `center` (early stopping of gradient descent acts
//! like a ridge penalty towards the start). The strength is chosen by cross-validation
//! (see `crossval`); 0 switches the prior off.
//!
//! For Gauss-Newton the penalty is written as extra residual rows
//! `sqrt(strength) (phi - phi0) / scale` that are always squared (never Huberised).

use serde::{Deserialize, Serialize};

/// One penalised parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PriorTerm {
    /// Index into the law's parameters.
    pub index: usize,
    /// The parameter's name (for reports).
    pub name: String,
    pub center: f64,
    /// Penalise `ln p` (positive scale parameters) rather than `p`.
    pub log: bool,
    /// Prior standard deviation of `phi(p)` at strength 1.
    pub scale: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Prior {
    pub terms: Vec<PriorTerm>,
    /// Multiplies the whole penalty (0: no prior).
    pub strength: f64,
}

impl Prior {
    pub fn is_active(&self) -> bool {
        self.strength > 0.0 && !self.terms.is_empty()
    }

    /// `((phi(v) - phi(center)) / scale, d/dv of it)`; `None` where `ln` is undefined.
    fn standardised(term: &PriorTerm, v: f64) -> Option<(f64, f64)> {
        if term.log {
            (v > 0.0 && term.center > 0.0).then(|| {
                (
                    (v.ln() - term.center.ln()) / term.scale,
                    1.0 / (v * term.scale),
                )
            })
        } else {
            Some(((v - term.center) / term.scale, 1.0 / term.scale))
        }
    }

    /// The penalty at full parameters `p`, adding its gradient into `grad` when given.
    pub fn value(&self, p: &[f64], grad: Option<&mut [f64]>) -> f64 {
        if !self.is_active() {
            return 0.0;
        }
        let mut total = 0.0;
        let mut grad = grad;
        for term in &self.terms {
            let Some((z, slope)) = Self::standardised(term, p[term.index]) else {
                return f64::INFINITY;
            };
            total += 0.5 * self.strength * z * z;
            if let Some(g) = grad.as_deref_mut() {
                g[term.index] += self.strength * z * slope;
            }
        }
        total
    }

    /// Residual rows `(r, parameter index, dr/dp)` whose half sum of squares is the penalty.
    pub fn rows(&self, p: &[f64]) -> Option<Vec<(f64, usize, f64)>> {
        if !self.is_active() {
            return Some(Vec::new());
        }
        let root = self.strength.sqrt();
        self.terms
            .iter()
            .map(|t| {
                Self::standardised(t, p[t.index])
                    .map(|(z, slope)| (root * z, t.index, root * slope))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_square_to_the_value_and_gradient_matches() {
        let prior = Prior {
            terms: vec![
                PriorTerm {
                    index: 0,
                    name: "C".into(),
                    center: 1.0,
                    log: true,
                    scale: 2.0,
                },
                PriorTerm {
                    index: 2,
                    name: "beta".into(),
                    center: 0.5,
                    log: false,
                    scale: 0.5,
                },
            ],
            strength: 3.0,
        };
        let p = [2.5, 7.0, 0.8];
        let mut grad = [0.0; 3];
        let value = prior.value(&p, Some(&mut grad));
        let rows = prior.rows(&p).unwrap();
        let half_sq: f64 = rows.iter().map(|r| 0.5 * r.0 * r.0).sum();
        assert!((value - half_sq).abs() < 1e-12);
        for j in 0..3 {
            let h = 1e-6;
            let (mut up, mut down) = (p, p);
            up[j] += h;
            down[j] -= h;
            let fd = (prior.value(&up, None) - prior.value(&down, None)) / (2.0 * h);
            assert!((fd - grad[j]).abs() < 1e-6, "{j}: {fd} vs {}", grad[j]);
        }
        assert_eq!(prior.value(&[-1.0, 0.0, 0.5], None), f64::INFINITY);
    }
}
