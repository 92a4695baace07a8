//! Bounds by reparametrisation: the optimiser works on unbounded `u`, the law sees
//! `p = lower + (upper - lower) * sigmoid(u)` (both bounds finite), `lower + softplus(u)`
//! (only a lower bound), `upper - softplus(u)` (only an upper bound) or `u`.
//! Fixed parameters are left out of `u` altogether.

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bound {
    pub lower: f64,
    pub upper: f64,
}

/// Maps between the optimiser's free vector `u` and the full parameter vector `p`.
#[derive(Clone, Debug)]
pub struct Transform {
    bounds: Vec<Bound>,
    /// `Some(value)` for a fixed parameter.
    fixed: Vec<Option<f64>>,
}

impl Transform {
    pub fn new(bounds: Vec<Bound>, fixed: Vec<Option<f64>>) -> Self {
        Self { bounds, fixed }
    }

    pub fn n_free(&self) -> usize {
        self.fixed.iter().filter(|f| f.is_none()).count()
    }

    pub fn bound(&self, j: usize) -> Bound {
        self.bounds[j]
    }

    pub fn is_fixed(&self, j: usize) -> bool {
        self.fixed[j].is_some()
    }

    pub fn free_indices(&self) -> Vec<usize> {
        (0..self.fixed.len())
            .filter(|&j| self.fixed[j].is_none())
            .collect()
    }

    /// `p` from `u`, and `dp/du` for each free parameter.
    pub fn to_params(&self, u: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let mut p = Vec::with_capacity(self.fixed.len());
        let mut dp = Vec::with_capacity(u.len());
        let mut k = 0;
        for (j, fixed) in self.fixed.iter().enumerate() {
            if let Some(v) = fixed {
                p.push(*v);
                continue;
            }
            let Bound { lower, upper } = self.bounds[j];
            let x = u[k];
            k += 1;
            let (value, slope) = match (lower.is_finite(), upper.is_finite()) {
                (true, true) => {
                    let s = sigmoid(x);
                    (lower + (upper - lower) * s, (upper - lower) * s * (1.0 - s))
                }
                (true, false) => (lower + softplus(x), sigmoid(x)),
                (false, true) => (upper - softplus(x), -sigmoid(x)),
                (false, false) => (x, 1.0),
            };
            p.push(value);
            dp.push(slope);
        }
        (p, dp)
    }

    /// `u` from `p`; values on or beyond a bound are pulled just inside it.
    pub fn to_free(&self, p: &[f64]) -> Vec<f64> {
        self.free_indices()
            .into_iter()
            .map(|j| {
                let Bound { lower, upper } = self.bounds[j];
                let width = if lower.is_finite() && upper.is_finite() {
                    upper - lower
                } else {
                    1.0
                };
                let eps = 1e-9 * width.max(1e-12);
                let v = p[j].clamp(lower + eps, upper - eps);
                match (lower.is_finite(), upper.is_finite()) {
                    (true, true) => logit((v - lower) / (upper - lower)),
                    (true, false) => inverse_softplus(v - lower),
                    (false, true) => inverse_softplus(upper - v),
                    (false, false) => v,
                }
            })
            .collect()
    }
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        x.exp() / (1.0 + x.exp())
    }
}

fn logit(s: f64) -> f64 {
    (s / (1.0 - s)).ln()
}

fn softplus(x: f64) -> f64 {
    if x > 30.0 { x } else { x.exp().ln_1p() }
}

fn inverse_softplus(y: f64) -> f64 {
    if y > 30.0 { y } else { y.exp_m1().ln() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_slopes() {
        let t = Transform::new(
            vec![
                Bound {
                    lower: 0.0,
                    upper: 10.0,
                },
                Bound {
                    lower: 1.0,
                    upper: f64::INFINITY,
                },
                Bound {
                    lower: f64::NEG_INFINITY,
                    upper: 2.0,
                },
                Bound {
                    lower: f64::NEG_INFINITY,
                    upper: f64::INFINITY,
                },
                Bound {
                    lower: 0.0,
                    upper: 1.0,
                },
            ],
            vec![None, None, None, None, Some(0.25)],
        );
        let p = [3.0, 4.5, -7.0, 0.3, 0.25];
        let u = t.to_free(&p);
        assert_eq!(u.len(), 4);
        let (back, dp) = t.to_params(&u);
        for j in 0..5 {
            assert!(
                (back[j] - p[j]).abs() < 1e-9,
                "{j}: {} vs {}",
                back[j],
                p[j]
            );
        }
        for k in 0..4 {
            let h = 1e-6;
            let (mut up, mut down) = (u.clone(), u.clone());
            up[k] += h;
            down[k] -= h;
            let fd = (t.to_params(&up).0[k] - t.to_params(&down).0[k]) / (2.0 * h);
            assert!((fd - dp[k]).abs() < 1e-6 * (1.0 + fd.abs()), "{k}");
        }
    }
}
