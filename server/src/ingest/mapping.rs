//! [`Mapping`]: the user's overrides of what was found automatically: which column has
//! which role, and run-level numbers the file does not hold (sequence length...).
//!
//! The same struct serves the API (JSON) and the CLI (`--step-col`, `--loss-col`, ...).
//! A column named here must exist, or the reading fails with an error naming it.

use serde::{Deserialize, Serialize};

use super::roles::{Role, normalize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mapping {
    /// Read the file as this format instead of detecting it (a name of [`super::Format`]).
    pub format: Option<String>,
    pub step_col: Option<String>,
    /// One column: the loss. Several: a wide table, one run per column, named after it.
    pub loss_col: Vec<String>,
    pub eval_loss_col: Option<String>,
    pub lr_col: Option<String>,
    pub run_col: Option<String>,
    pub tokens_col: Option<String>,
    pub samples_col: Option<String>,
    pub batch_size_col: Option<String>,
    pub n_params_col: Option<String>,
    pub flops_col: Option<String>,
    /// Sequence length in tokens, for every run (tokens = samples or step x batch x this).
    pub seq_len: Option<f64>,
    /// Global batch size in sequences, for every run.
    pub batch_size: Option<f64>,
    /// Tokens per optimiser step, for every run (tokens = step x this).
    pub tokens_per_step: Option<f64>,
    /// Model parameters, for every run.
    pub n_params: Option<f64>,
}

impl Mapping {
    /// The columns named by the user, with the role each is given.
    pub fn columns(&self) -> Vec<(Role, &str)> {
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

    /// Run-level numbers given by the user, as `(attribute, value)`.
    pub fn values(&self) -> Vec<(Role, f64)> {
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

    pub fn is_empty(&self) -> bool {
        *self == Mapping::default()
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
