//! Column roles: which column (or tag, or log key) is the step, the loss, the learning
//! rate, the run name, the model size... found from the header alone.
//!
//! Each known header has a rank: when several columns have the same role (Lightning's
//! `train_loss_step` and `train_loss_epoch`, HF's `loss` and the final `train_loss`), the
//! lowest rank wins and the others are reported as not used.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The run's name (long format: several runs in one table).
    Run,
    /// Optimiser step / iteration.
    Step,
    /// Training loss.
    Loss,
    /// Evaluation / validation loss.
    EvalLoss,
    /// Learning rate as logged.
    Lr,
    /// Tokens seen so far (D for a scaling table).
    Tokens,
    /// Samples (sequences) seen so far; tokens = samples x sequence length.
    Samples,
    /// Global batch size in sequences.
    BatchSize,
    /// Sequence length in tokens.
    SeqLen,
    /// Tokens per optimiser step (batch x sequence length).
    TokensPerStep,
    /// Model parameters (N).
    NParams,
    /// Training compute in FLOPs (C).
    Flops,
}

impl Role {
    /// The name a value of this role is kept under, as a series or a run attribute.
    pub fn key(self) -> &'static str {
        match self {
            Role::Run => "run",
            Role::Step => "step",
            Role::Loss => "loss",
            Role::EvalLoss => "eval_loss",
            Role::Lr => "lr",
            Role::Tokens => "tokens",
            Role::Samples => "samples",
            Role::BatchSize => "batch_size",
            Role::SeqLen => "seq_len",
            Role::TokensPerStep => "tokens_per_step",
            Role::NParams => "n_params",
            Role::Flops => "flops",
        }
    }

    /// Roles that describe a whole run (kept as a run attribute when constant in the run).
    pub fn is_run_level(self) -> bool {
        matches!(
            self,
            Role::BatchSize | Role::SeqLen | Role::TokensPerStep | Role::NParams
        )
    }

    /// Roles whose values are points of a series (everything but the run and the step).
    pub fn is_value(self) -> bool {
        !matches!(self, Role::Run | Role::Step)
    }

    pub const ALL: [Role; 12] = [
        Role::Run,
        Role::Step,
        Role::Loss,
        Role::EvalLoss,
        Role::Lr,
        Role::Tokens,
        Role::Samples,
        Role::BatchSize,
        Role::SeqLen,
        Role::TokensPerStep,
        Role::NParams,
        Role::Flops,
    ];
}

/// Lower-case, every other character as `_`, no repeated or edge `_`:
/// `train/loss` -> `train_loss`, `lm loss` -> `lm_loss`, `_step` -> `step`.
pub fn normalize(header: &str) -> String {
    let mut key = String::with_capacity(header.len());
    for c in header.trim().chars() {
        let c = if c.is_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '_'
        };
        if c != '_' || !(key.is_empty() || key.ends_with('_')) {
            key.push(c);
        }
    }
    while key.ends_with('_') {
        key.pop();
    }
    key
}

/// The role of a column from its header, if it has a known one.
pub fn detect(header: &str) -> Option<Role> {
    rank(header).map(|(role, _)| role)
}

/// The role and rank (lower is preferred) of a header.
pub fn rank(header: &str) -> Option<(Role, u8)> {
    // Exact one-letter names are case-sensitive: `N`, `D`, `C` of scaling tables.
    match header.trim() {
        "N" => return Some((Role::NParams, 3)),
        "D" => return Some((Role::Tokens, 3)),
        "C" => return Some((Role::Flops, 3)),
        _ => {}
    }
    let key = normalize(header);
    let found = match key.as_str() {
        "run" | "run_name" | "run_file" | "run_id" | "exp_name" | "experiment"
        | "experiment_name" => (Role::Run, 0),
        "name" => (Role::Run, 1),

        "global_step" | "train_global_step" | "trainer_global_step" => (Role::Step, 0),
        "step" | "steps" | "train_step" => (Role::Step, 1),
        "iteration" | "iter" | "iterations_done" | "consumed_iterations" => (Role::Step, 2),

        "train_loss_step" | "loss_step" => (Role::Loss, 0),
        "loss" | "train_loss" | "training_loss" | "lm_loss" | "train_lm_loss"
        | "reduced_train_loss" => (Role::Loss, 1),
        "train_crossentropyloss"
        | "crossentropyloss"
        | "train_loss_avg"
        | "epoch_loss"
        | "train_epoch_loss" => (Role::Loss, 2),
        "final_loss" | "final_train_loss" => (Role::Loss, 3),
        "last_train_loss" => (Role::Loss, 4),
        "train_loss_epoch" | "loss_epoch" => (Role::Loss, 5),

        "eval_loss"
        | "val_loss"
        | "validation_loss"
        | "valid_loss"
        | "val_loss_step"
        | "validation_epoch_loss"
        | "lm_loss_validation"
        | "validation_lm_loss"
        | "eval_lm_loss"
        | "val_lm_loss" => (Role::EvalLoss, 0),
        "val_loss_epoch" => (Role::EvalLoss, 1),
        "final_val_loss" | "final_eval_loss" => (Role::EvalLoss, 2),
        "test_loss" => (Role::EvalLoss, 3),

        "lr" | "learning_rate" | "train_lr" | "train_learning_rate" => (Role::Lr, 0),
        "peak_lr" | "max_lr" | "base_lr" => (Role::Lr, 3),
        // Lightning's `lr-AdamW`, `lr-SGD-pg1`; not its `lr-SGD-momentum`.
        _ if key.starts_with("lr_")
            && !key.contains("momentum")
            && !key.contains("decay")
            && !key.contains("scheduler") =>
        {
            (Role::Lr, 1)
        }

        "num_input_tokens_seen"
        | "consumed_tokens"
        | "tokens_seen"
        | "train_num_input_tokens_seen" => (Role::Tokens, 0),
        "tokens" | "n_tokens" | "num_tokens" | "total_tokens" | "train_tokens"
        | "training_tokens" | "dataset_size" => (Role::Tokens, 1),

        "consumed_samples" | "consumed_train_samples" => (Role::Samples, 0),
        "samples" | "samples_seen" | "num_samples" => (Role::Samples, 1),

        "global_batch_size" => (Role::BatchSize, 0),
        "batch_size" | "train_batch_size" | "total_train_batch_size" => (Role::BatchSize, 1),
        "bs" | "batch" | "batch_size_seqs" => (Role::BatchSize, 2),

        "seq_len" | "sequence_length" | "seq_length" | "max_seq_len" | "max_seq_length"
        | "context_length" | "ctx_len" | "block_size" | "n_ctx" => (Role::SeqLen, 0),

        "tokens_per_step"
        | "tokens_per_iter"
        | "tokens_per_iteration"
        | "tokens_per_batch"
        | "batch_size_tokens" => (Role::TokensPerStep, 0),

        "n_params"
        | "num_params"
        | "nparams"
        | "params"
        | "parameters"
        | "num_parameters"
        | "n_parameters"
        | "model_params"
        | "param_count"
        | "params_active_precise"
        | "model_size"
        | "non_embedding_params" => (Role::NParams, 0),

        "flops" | "training_flop" | "training_flops" | "train_flops" | "compute"
        | "total_compute" => (Role::Flops, 0),
        _ => return None,
    };
    Some(found)
}

/// Parts of a header that name a phase, not a run (`train/loss` is not run `train`).
const PHASES: &[&str] = &[
    "train",
    "training",
    "val",
    "valid",
    "validation",
    "eval",
    "test",
    "charts",
    "metrics",
    "loss",
    "losses",
];

/// A run-qualified column of a wide table: `run-038 - train/CrossEntropyLoss` (W&B chart
/// export) or `run_a/loss`. Returns the run, the key and its role.
pub fn split_qualified(header: &str) -> Option<(String, String, Role)> {
    let header = header.trim();
    let mut candidates = Vec::new();
    if let Some(i) = header.rfind(" - ") {
        candidates.push((&header[..i], &header[i + 3..]));
    }
    for (i, _) in header.match_indices('/') {
        candidates.push((&header[..i], &header[i + 1..]));
    }
    candidates.into_iter().find_map(|(run, key)| {
        let role = detect(key)?;
        let run = run.trim();
        let valid =
            role.is_value() && !run.is_empty() && !PHASES.contains(&normalize(run).as_str());
        valid.then(|| (run.to_string(), key.trim().to_string(), role))
    })
}

/// W&B chart exports add a min/max band per series: `<run> - <key>__MIN`.
pub fn is_band(header: &str) -> bool {
    header.ends_with("__MIN") || header.ends_with("__MAX")
}

/// Metric words that are not a run's loss (used before reading bare columns as runs).
pub fn is_known_metric(header: &str) -> bool {
    const WORDS: &[&str] = &[
        "acc",
        "accuracy",
        "perplexity",
        "ppl",
        "grad",
        "norm",
        "time",
        "epoch",
        "runtime",
        "timestamp",
        "throughput",
        "mfu",
        "memory",
        "tps",
        "speed",
        "second",
        "seconds",
        "wall",
        "flos",
        "scale",
        "elapsed",
        "x",
        "y",
        "color",
        "index",
        "width",
        "depth",
        "layers",
        "heads",
        "seed",
        "warmup",
    ];
    let key = normalize(header);
    key.split('_').any(|w| WORDS.contains(&w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_common_headers() {
        for (header, role) in [
            ("step", Role::Step),
            ("_step", Role::Step),
            ("iter", Role::Step),
            ("Step", Role::Step),
            ("loss", Role::Loss),
            ("train/loss", Role::Loss),
            ("lm loss", Role::Loss),
            ("train_loss", Role::Loss),
            ("reduced_train_loss", Role::Loss),
            ("val_loss", Role::EvalLoss),
            ("eval/loss", Role::EvalLoss),
            ("learning_rate", Role::Lr),
            ("learning-rate", Role::Lr),
            ("lr-AdamW", Role::Lr),
            ("run", Role::Run),
            ("Model Size", Role::NParams),
            ("Training FLOP", Role::Flops),
            ("N", Role::NParams),
            ("D", Role::Tokens),
            ("num_input_tokens_seen", Role::Tokens),
            ("consumed samples", Role::Samples),
            ("global batch size", Role::BatchSize),
            ("bs", Role::BatchSize),
            ("params_active_precise", Role::NParams),
            ("exp_name", Role::Run),
        ] {
            assert_eq!(detect(header), Some(role), "{header}");
        }
        for header in [
            "grad_norm",
            "smooth loss",
            "d",
            "epoch",
            "D/N",
            "lr-SGD-momentum",
        ] {
            assert_eq!(detect(header), None, "{header}");
        }
    }

    #[test]
    fn ranks_prefer_step_values_over_epoch_averages() {
        let rank_of = |h| rank(h).map(|(_, r)| r);
        assert!(rank_of("train_loss_step") < rank_of("train_loss_epoch"));
        assert!(rank_of("loss") < rank_of("last_train_loss"));
        assert!(rank_of("global_step") < rank_of("iteration"));
    }

    #[test]
    fn splits_run_qualified_headers() {
        for (header, expected) in [
            (
                "run-038 - train/CrossEntropyLoss",
                Some(("run-038", Role::Loss)),
            ),
            ("run_a/loss", Some(("run_a", Role::Loss))),
            ("run_a/train/loss", Some(("run_a", Role::Loss))),
            ("cosine - lr", Some(("cosine", Role::Lr))),
            ("train/loss", None),
            ("val/loss", None),
            ("grad_norm", None),
        ] {
            let got = split_qualified(header);
            assert_eq!(
                got.as_ref().map(|(r, _, role)| (r.as_str(), *role)),
                expected,
                "{header}"
            );
        }
    }
}
