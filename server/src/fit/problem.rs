//! A fitting problem: blocks of observed points, each with the law instance that
//! predicts them, sharing one parameter vector.
//!
//! Points belong to groups, the units of resampling: a whole training run (its
//! checkpoints are correlated) or one row of a scaling table. A block is what one law
//! instance evaluates at once: a run's curve (its own schedule) or a whole table, so a
//! 240-row table costs one call, not 240. The bootstrap reweights groups by how often
//! they were drawn, which is the same as refitting on the resampled data.

use std::sync::Arc;

use shared::laws::{Law, ParamSpec};

use super::control::Control;
use super::objective::Objective;
use super::prior::Prior;

#[derive(Clone)]
pub struct Block {
    /// Shared, so that a problem can be copied cheaply (e.g. per cross-validation fold).
    pub law: Arc<dyn Law>,
    pub observed: Vec<f64>,
    pub weights: Vec<f64>,
    /// The group (index into [`Problem::groups`]) of each point.
    pub group_of: Vec<usize>,
}

#[derive(Clone)]
pub struct Problem {
    pub specs: &'static [ParamSpec],
    pub blocks: Vec<Block>,
    /// Group names (runs).
    pub groups: Vec<String>,
    pub objective: Objective,
    /// Penalty on weakly identified parameters (inactive by default).
    pub prior: Prior,
    /// Once cancelled, every evaluation answers +inf (or no residuals), which stops
    /// every optimiser working on this problem.
    pub control: Arc<Control>,
}

/// Residuals of the points with a non-zero count, then the prior's rows.
pub struct Residuals {
    pub r: Vec<f64>,
    /// Row-major `r.len() x free.len()`.
    pub jac: Vec<f64>,
    pub weights: Vec<f64>,
    /// Rows `0..n_data` are data points (penalised by the objective); the rest are the
    /// prior's rows (always squared, weight 1).
    pub n_data: usize,
}

impl Problem {
    pub fn new(specs: &'static [ParamSpec], blocks: Vec<Block>, groups: Vec<String>) -> Self {
        Self {
            specs,
            blocks,
            groups,
            objective: Objective::default(),
            prior: Prior::default(),
            control: Arc::default(),
        }
    }

    /// Multiplies the weights of the points of each named run (group); names no run of
    /// this problem, negative or non-finite weights are errors.
    pub fn weight_runs(
        &mut self,
        weights: &std::collections::BTreeMap<String, f64>,
    ) -> Result<(), String> {
        for (run, &w) in weights {
            let group = self.groups.iter().position(|g| g == run).ok_or_else(|| {
                format!("a weight is given for '{run}', which is not a fitted run")
            })?;
            if !(w.is_finite() && w >= 0.0) {
                return Err(format!(
                    "the weight of run '{run}' must be finite and >= 0, not {w}"
                ));
            }
            for block in &mut self.blocks {
                for (weight, &g) in block.weights.iter_mut().zip(&block.group_of) {
                    if g == group {
                        *weight *= w;
                    }
                }
            }
        }
        Ok(())
    }

    pub fn n_params(&self) -> usize {
        self.specs.len()
    }

    /// Every group counted once.
    pub fn unit_counts(&self) -> Vec<f64> {
        vec![1.0; self.groups.len()]
    }

    /// Points with a non-zero count.
    pub fn n_points(&self, counts: &[f64]) -> usize {
        self.blocks
            .iter()
            .flat_map(|b| &b.group_of)
            .filter(|&&g| counts[g] > 0.0)
            .count()
    }

    /// The objective at full parameters `p`, each group weighted by `counts`, with its
    /// gradient when asked. +inf where the law cannot be evaluated.
    pub fn value(&self, p: &[f64], counts: &[f64], mut grad: Option<&mut [f64]>) -> f64 {
        if self.control.is_cancelled() {
            return f64::INFINITY;
        }
        let n_params = self.n_params();
        if let Some(g) = grad.as_deref_mut() {
            g.fill(0.0);
        }
        let mut block_grad = vec![0.0; n_params];
        let mut total = 0.0;
        for block in &self.blocks {
            let n = block.observed.len();
            let mut predicted = vec![0.0; n];
            let mut jac = grad.as_ref().map(|_| vec![0.0; n * n_params]);
            if block
                .law
                .eval(p, &mut predicted, jac.as_deref_mut())
                .is_err()
            {
                return f64::INFINITY;
            }
            let weights: Vec<f64> = block
                .weights
                .iter()
                .zip(&block.group_of)
                .map(|(w, &g)| w * counts[g])
                .collect();
            let want_grad = grad.is_some();
            total += self.objective.value(
                &block.observed,
                &weights,
                &predicted,
                jac.as_deref(),
                want_grad.then_some(&mut block_grad[..]),
            );
            if let Some(g) = grad.as_deref_mut() {
                for (a, b) in g.iter_mut().zip(&block_grad) {
                    *a += b;
                }
            }
        }
        total += self.prior.value(p, grad);
        if total.is_finite() {
            total
        } else {
            f64::INFINITY
        }
    }

    /// The data part of the objective only (no prior), e.g. to score held-out groups.
    pub fn data_value(&self, p: &[f64], counts: &[f64]) -> f64 {
        let mut total = 0.0;
        for block in &self.blocks {
            let Ok(predicted) = block.law.predict(p) else {
                return f64::INFINITY;
            };
            let weights: Vec<f64> = block
                .weights
                .iter()
                .zip(&block.group_of)
                .map(|(w, &g)| w * counts[g])
                .collect();
            total += self
                .objective
                .value(&block.observed, &weights, &predicted, None, None);
        }
        total
    }

    /// Observed and predicted losses of each group, in group order.
    pub fn per_group(&self, p: &[f64]) -> Vec<(Vec<f64>, Vec<f64>)> {
        let mut out = vec![(Vec::new(), Vec::new()); self.groups.len()];
        for block in &self.blocks {
            let predicted = block
                .law
                .predict(p)
                .unwrap_or_else(|_| vec![f64::NAN; block.observed.len()]);
            for (i, &g) in block.group_of.iter().enumerate() {
                out[g].0.push(block.observed[i]);
                out[g].1.push(predicted[i]);
            }
        }
        out
    }

    /// Residuals (on the objective's scale) of points with a non-zero count and the
    /// prior's rows, with their Jacobian over the free parameters.
    pub fn residuals(&self, p: &[f64], counts: &[f64], free: &[usize]) -> Option<Residuals> {
        if self.control.is_cancelled() {
            return None;
        }
        let n_params = self.n_params();
        let (mut r, mut jr, mut w) = (Vec::new(), Vec::new(), Vec::new());
        for block in &self.blocks {
            let (predicted, jac) = block.law.predict_with_jacobian(p).ok()?;
            for i in 0..block.observed.len() {
                let weight = block.weights[i] * counts[block.group_of[i]];
                if weight == 0.0 {
                    continue;
                }
                let ri = self.objective.residual(block.observed[i], predicted[i])?;
                let slope = self.objective.residual_slope(predicted[i]);
                r.push(ri);
                w.push(weight);
                jr.extend(free.iter().map(|&j| slope * jac[i * n_params + j]));
            }
        }
        let n_data = r.len();
        for (ri, index, slope) in self.prior.rows(p)? {
            r.push(ri);
            w.push(1.0);
            jr.extend(free.iter().map(|&j| if j == index { slope } else { 0.0 }));
        }
        Some(Residuals {
            r,
            jac: jr,
            weights: w,
            n_data,
        })
    }
}
