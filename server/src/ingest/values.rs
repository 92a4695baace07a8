//! The rules every logged point obeys, checked where it enters: by the [`Assembler`]
//! that every file reader feeds (so CSV, JSON, Parquet, TensorBoard, console logs and
//! scaling tables alike) and by the JSON points body (`points`). The upload preview
//! reads through the same path, so it shows the same errors and warnings.
//!
//! - A step is a whole number in `0..=Limits::max_step` (an integral float such as
//!   `100.0` is fine). Fits build per-step arrays up to the last step, so a step is a
//!   size: an unbounded one would exhaust memory.
//! - A loss (roles `loss`, `eval_loss`) is > 0, since the laws fit its logarithm, and
//!   at most `Limits::max_loss`.
//! - A learning rate (`lr`) is >= 0 and at most `Limits::max_lr`.
//! - Other series (tokens, samples, batch size, N, FLOPs) only need to be finite.
//!
//! Non-finite values (NaN, inf) are not errors: a diverging run really logs `nan`
//! losses, so the assembler leaves such points out and warns, naming how many and the
//! first rows (a row without a finite step is left out the same way). A finite value
//! that breaks a rule (a negative loss or step, a fractional step, an absurd magnitude)
//! is an error naming the file, the row and the column, so nothing impossible is
//! stored and nothing is dropped silently.
//!
//! [`Assembler`]: super::assemble::Assembler

use super::Limits;
use super::roles::Role;

/// Which rule a series' values obey.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// `loss`, `eval_loss`: > 0 and <= `max_loss`.
    Loss,
    /// `lr`: >= 0 and <= `max_lr`.
    Lr,
    /// Anything else: finite.
    Finite,
}

impl Rule {
    pub fn of(role: Role) -> Self {
        match role {
            Role::Loss | Role::EvalLoss => Rule::Loss,
            Role::Lr => Rule::Lr,
            _ => Rule::Finite,
        }
    }

    /// The rule of a series or attribute kept under `key` (`loss`, `lr`, `tokens`...).
    pub fn of_key(key: &str) -> Self {
        Role::ALL
            .into_iter()
            .find(|r| r.key() == key)
            .map_or(Rule::Finite, Rule::of)
    }
}

/// Why `step` cannot be a step, if it cannot: `step -8 is negative: ...`.
pub fn check_step(step: f64, limits: &Limits) -> Result<(), String> {
    shared::schedule::check_step(step, limits.max_step)
        .map(drop)
        .map_err(|e| {
            if step > limits.max_step as f64 {
                format!("{e} (Limits::max_step)")
            } else {
                e.to_string()
            }
        })
}

/// Why a finite `value` of a series under `rule` is impossible, if it is. Non-finite
/// values are the caller's business (left out with a warning, or refused in JSON).
pub fn check_value(rule: Rule, value: f64, limits: &Limits) -> Result<(), String> {
    let value = Shown(value);
    match rule {
        Rule::Loss if value.0 <= 0.0 => Err(format!(
            "loss {value} is not > 0: the laws fit the logarithm of the loss"
        )),
        Rule::Loss if value.0 > limits.max_loss => Err(format!(
            "loss {value} is above {} (Limits::max_loss): not a per-token loss (a cross-entropy starts near ln(vocabulary size), about 10)",
            limits.max_loss
        )),
        Rule::Lr if value.0 < 0.0 => Err(format!("learning rate {value} is negative")),
        Rule::Lr if value.0 > limits.max_lr => Err(format!(
            "learning rate {value} is above {} (Limits::max_lr): is this column really the learning rate?",
            limits.max_lr
        )),
        _ => Ok(()),
    }
}

/// A user's number in a message: plain below 1e15, else in exponent form (`1e308`, not
/// 309 digits).
struct Shown(f64);

impl std::fmt::Display for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.abs() < 1e15 {
            write!(f, "{}", self.0)
        } else {
            write!(f, "{:e}", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_whole_numbers_within_the_limit() {
        let limits = Limits::default();
        for ok in [0.0, 1.0, 100.0, 1e7] {
            assert_eq!(check_step(ok, &limits), Ok(()), "{ok}");
        }
        for (bad, why) in [
            (-8.0, "step -8 is negative"),
            (2.5, "step 2.5 is not a whole number"),
            (
                1e12,
                "step 1000000000000 is above the limit of 10000000 steps (Limits::max_step)",
            ),
            (1e20, "step 1e20 is above the limit"),
            (f64::NAN, "not a finite number"),
        ] {
            let e = check_step(bad, &limits).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn losses_and_learning_rates_have_their_ranges() {
        let limits = Limits::default();
        let check = |role, v| check_value(Rule::of(role), v, &limits);
        assert!(check(Role::Loss, 2.5).is_ok());
        assert!(check(Role::EvalLoss, 1e-3).is_ok());
        assert!(
            check(Role::Loss, -5.0)
                .unwrap_err()
                .contains("loss -5 is not > 0")
        );
        assert!(check(Role::EvalLoss, 0.0).is_err());
        assert_eq!(
            check(Role::Loss, 1e308).unwrap_err(),
            "loss 1e308 is above 1000000 (Limits::max_loss): not a per-token loss (a cross-entropy starts near ln(vocabulary size), about 10)"
        );
        assert!(check(Role::Lr, 0.0).is_ok());
        assert!(check(Role::Lr, 25.6).is_ok());
        assert!(
            check(Role::Lr, -1.0)
                .unwrap_err()
                .contains("learning rate -1 is negative")
        );
        assert!(check(Role::Lr, 1e4).unwrap_err().contains("Limits::max_lr"));
        // Other series: any finite value (a tokens column is large, a grad norm may be 0).
        assert!(check(Role::Tokens, 1e15).is_ok());
        assert!(check(Role::NParams, -1.0).is_ok());
        assert_eq!(Rule::of_key("eval_loss"), Rule::Loss);
        assert_eq!(Rule::of_key("lr"), Rule::Lr);
        assert_eq!(Rule::of_key("grad_norm"), Rule::Finite);
    }
}
