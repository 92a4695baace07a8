//! The objective a fit minimises, with its gradient from the law's Jacobian.
//!
//! The field's default (laws.md): SUM over points of Huber_delta(log L_obs - log L_pred),
//! delta = 1e-3. Sums, not means: averaging shrinks the gradient and makes L-BFGS stop
//! early. Also plain least squares, on log or raw loss, an optional asymmetric penalty on
//! over-prediction (fits the lower envelope of under-tuned runs) and point weights.

use serde::{Deserialize, Serialize};

/// The per-residual penalty.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Penalty {
    /// r^2/2 if |r| <= delta, else delta (|r| - delta/2).
    Huber { delta: f64 },
    /// r^2/2.
    LeastSquares,
}

/// Where residuals are taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// log L_obs - log L_pred (relative errors; the field's default).
    Log,
    /// L_obs - L_pred.
    Raw,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    pub penalty: Penalty,
    pub scale: Scale,
    /// Multiplies the penalty of points the law over-predicts (1 = symmetric).
    pub over_prediction_weight: f64,
}

impl Default for Objective {
    fn default() -> Self {
        Self {
            penalty: Penalty::Huber { delta: 1e-3 },
            scale: Scale::Log,
            over_prediction_weight: 1.0,
        }
    }
}

impl Objective {
    /// The residual of one point; `None` when the prediction is outside the scale's
    /// domain (a non-positive loss on the log scale, or non-finite).
    pub fn residual(&self, observed: f64, predicted: f64) -> Option<f64> {
        let r = match self.scale {
            Scale::Log if predicted > 0.0 => observed.ln() - predicted.ln(),
            Scale::Log => return None,
            Scale::Raw => observed - predicted,
        };
        r.is_finite().then_some(r)
    }

    /// d residual / d prediction.
    pub fn residual_slope(&self, predicted: f64) -> f64 {
        match self.scale {
            Scale::Log => -1.0 / predicted,
            Scale::Raw => -1.0,
        }
    }

    /// Penalty of one residual and its derivative.
    pub fn rho(&self, r: f64) -> (f64, f64) {
        let (value, slope) = match self.penalty {
            Penalty::Huber { delta } if r.abs() > delta => {
                (delta * (r.abs() - delta / 2.0), delta * r.signum())
            }
            _ => (r * r / 2.0, r),
        };
        // r < 0: the law predicts more than observed.
        if r < 0.0 {
            (
                value * self.over_prediction_weight,
                slope * self.over_prediction_weight,
            )
        } else {
            (value, slope)
        }
    }

    /// The objective and (if `grad` is given) its gradient over the parameters.
    /// `jac` is row-major `n x p`. Returns +inf when any prediction is unusable, so
    /// line searches back off instead of accepting a broken point.
    pub fn value(
        &self,
        observed: &[f64],
        weights: &[f64],
        predicted: &[f64],
        jac: Option<&[f64]>,
        mut grad: Option<&mut [f64]>,
    ) -> f64 {
        let p = grad.as_ref().map_or(0, |g| g.len());
        if let Some(g) = grad.as_deref_mut() {
            g.fill(0.0);
        }
        let mut total = 0.0;
        for i in 0..observed.len() {
            let Some(r) = self.residual(observed[i], predicted[i]) else {
                return f64::INFINITY;
            };
            let (value, slope) = self.rho(r);
            total += weights[i] * value;
            if let (Some(g), Some(jac)) = (grad.as_deref_mut(), jac) {
                let factor = weights[i] * slope * self.residual_slope(predicted[i]);
                for (gj, &jij) in g.iter_mut().zip(&jac[i * p..(i + 1) * p]) {
                    *gj += factor * jij;
                }
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_matches_finite_differences() {
        // predictions f(p) = p0 + p1 x, so the Jacobian is [1, x].
        let x = [1.0, 2.0, 3.0, 4.0];
        let observed = [3.1, 3.0, 2.2, 2.1];
        let weights = [1.0, 2.0, 1.0, 0.5];
        let predict = |p: &[f64]| x.iter().map(|x| p[0] + p[1] * x).collect::<Vec<_>>();
        let jac: Vec<f64> = x.iter().flat_map(|&x| [1.0, x]).collect();
        for objective in [
            Objective::default(),
            Objective {
                penalty: Penalty::LeastSquares,
                scale: Scale::Raw,
                over_prediction_weight: 3.0,
            },
            Objective {
                penalty: Penalty::Huber { delta: 0.05 },
                scale: Scale::Log,
                over_prediction_weight: 2.0,
            },
        ] {
            let p = [3.3, -0.2];
            let mut grad = [0.0; 2];
            objective.value(
                &observed,
                &weights,
                &predict(&p),
                Some(&jac),
                Some(&mut grad),
            );
            for j in 0..2 {
                let h = 1e-7;
                let (mut up, mut down) = (p, p);
                up[j] += h;
                down[j] -= h;
                let fd = (objective.value(&observed, &weights, &predict(&up), None, None)
                    - objective.value(&observed, &weights, &predict(&down), None, None))
                    / (2.0 * h);
                assert!(
                    (fd - grad[j]).abs() < 1e-6 * (1.0 + fd.abs()),
                    "{objective:?} j={j}: {fd} vs {}",
                    grad[j]
                );
            }
        }
    }
}
