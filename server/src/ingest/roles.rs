//! Column roles: which column is the step, the loss, the learning rate, the run name.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Run,
    Step,
    Loss,
    EvalLoss,
    Lr,
}

impl Role {
    /// The series name a value column is stored under.
    pub fn series_name(self) -> Option<&'static str> {
        match self {
            Role::Loss => Some("loss"),
            Role::EvalLoss => Some("eval_loss"),
            Role::Lr => Some("lr"),
            Role::Run | Role::Step => None,
        }
    }
}

/// The role of a column from its header, if it has a known one.
pub fn detect(header: &str) -> Option<Role> {
    let key: String = header
        .trim()
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect();
    let role = match key.as_str() {
        "run" | "run_name" | "run_file" | "run_id" | "name" => Role::Run,
        "step"
        | "steps"
        | "_step"
        | "iter"
        | "iteration"
        | "global_step"
        | "trainer_global_step" => Role::Step,
        "loss"
        | "train_loss"
        | "train_loss_step"
        | "train_loss_epoch"
        | "lm_loss"
        | "training_loss"
        | "reduced_train_loss"
        | "train_crossentropyloss" => Role::Loss,
        "eval_loss" | "val_loss" | "validation_loss" | "valid_loss" | "test_loss" => Role::EvalLoss,
        "lr" | "learning_rate" | "learning_rate_" | "lr_adamw" | "lr_adam" => Role::Lr,
        _ if key.starts_with("lr_") => Role::Lr,
        _ => return None,
    };
    Some(role)
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
            ("loss", Role::Loss),
            ("train/loss", Role::Loss),
            ("lm loss", Role::Loss),
            ("train_loss", Role::Loss),
            ("val_loss", Role::EvalLoss),
            ("learning_rate", Role::Lr),
            ("learning-rate", Role::Lr),
            ("lr-AdamW", Role::Lr),
            ("run", Role::Run),
        ] {
            assert_eq!(detect(header), Some(role), "{header}");
        }
        assert_eq!(detect("grad_norm"), None);
    }
}
