//! [`Mapping`]: the user's overrides of what was found automatically: which column has
//! which role, and run-level numbers the file does not hold (sequence length...).
//!
//! The same struct serves the API (JSON) and the CLI (`--step-col`, `--loss-col`, ...).
//! A column named here must exist, or the reading fails with an error naming it.

use super::roles::{Role, normalize};

pub use shared::api::Mapping;

/// The roles a [`Mapping`] gives.
pub trait MappingRoles {
    /// The columns named by the user, with the role each is given.
    fn columns(&self) -> Vec<(Role, &str)>;
    /// Run-level numbers given by the user, as `(attribute, value)`.
    fn values(&self) -> Vec<(Role, f64)>;
}

impl MappingRoles for Mapping {
    fn columns(&self) -> Vec<(Role, &str)> {
        let single = [
            (Role::Step, &self.step_col),
            (Role::EvalLoss, &self.eval_loss_col),
            (Role::Lr, &self.lr_col),
            (Role::Run, &self.run_col),
            (Role::Tokens, &self.tokens_col),
            (Role::Samples, &self.samples_col),
            (Role::BatchSize, &self.batch_size_col),
            (Role::NParams, &self.n_params_col),
            (Role::Flops, &self.flops_col),
        ];
        let mut out: Vec<(Role, &str)> = self
            .loss_col
            .iter()
            .map(|c| (Role::Loss, c.as_str()))
            .collect();
        out.extend(
            single
                .into_iter()
                .filter_map(|(role, col)| col.as_deref().map(|c| (role, c))),
        );
        out
    }

    fn values(&self) -> Vec<(Role, f64)> {
        [
            (Role::SeqLen, self.seq_len),
            (Role::BatchSize, self.batch_size),
            (Role::TokensPerStep, self.tokens_per_step),
            (Role::NParams, self.n_params),
        ]
        .into_iter()
        .filter_map(|(role, value)| value.map(|v| (role, v)))
        .collect()
    }
}

/// Finds a column by the name the user gave: exactly, or else ignoring case and punctuation.
pub fn find_column<'a>(
    names: impl IntoIterator<Item = &'a str> + Clone,
    wanted: &str,
) -> Option<usize> {
    names
        .clone()
        .into_iter()
        .position(|n| n == wanted)
        .or_else(|| {
            let key = normalize(wanted);
            names.into_iter().position(|n| normalize(n) == key)
        })
}
