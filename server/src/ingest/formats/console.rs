//! Console logs of trainers: Megatron-LM (`iteration N/ M | ... | lm loss: X |`), NeMo
//! (`global_step: N | reduced_train_loss: X`, also tqdm's `key=value`), nanoGPT
//! (`iter N: loss X`, `step N: train loss X, val loss Y`) and torchtitan
//! (`step: N  loss: X`, with ANSI colours).
//!
//! One scanner serves them all: ANSI codes are removed, then each line is read as
//! `key number` pairs (`lm loss: 7.1E+00`, `lr=3e-4`, `iter 120:`). A line with a step
//! and a loss is a record; the keys get their roles like table columns do, so the
//! mapping flags work on log keys too. Megatron's argument dump (`seq_length ..... 2048`)
//! gives run-level numbers.

use polars::prelude::*;

use super::super::mapping::Mapping;
use super::super::origin::Origin;
use super::super::roles::{self, Role};
use super::{FileAttrs, IngestError, Limits, ParsedFile, TableInfo};

/// Lines looked at to decide whether a text is a log.
const DETECT_LINES: usize = 200_000;

/// A log line with a step and at least one loss.
#[derive(Clone, Debug, PartialEq)]
pub struct LineRecord {
    pub step: f64,
    /// Every `key number` pair but the step, with eval losses renamed (`lm loss validation`).
    pub fields: Vec<(String, f64)>,
}

pub fn looks_like_log(text: &str) -> bool {
    segments(text)
        .take(DETECT_LINES)
        .any(|(_, line)| parse_line(line).is_some())
}

/// Lines split at `\n` and at tqdm's `\r`, with their 1-based line number.
fn segments(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n')
        .enumerate()
        .flat_map(|(i, line)| line.split('\r').map(move |s| (i + 1, s)))
}

/// Reads a line as a record, if it has a step and a loss.
pub fn parse_line(line: &str) -> Option<LineRecord> {
    let pairs = pairs(line);
    let mut step: Option<(u8, f64)> = None;
    let eval = pairs.iter().any(|(k, _)| {
        let k = k.to_ascii_lowercase();
        (k.contains("validation") || k.contains("eval"))
            && (k.ends_with("at iteration") || k.ends_with("at step"))
    });
    let mut fields = Vec::new();
    let mut has_loss = false;
    for (key, value) in pairs {
        let lower = key.to_ascii_lowercase();
        if eval && (lower.ends_with("at iteration") || lower.ends_with("at step")) {
            step = Some((0, value));
            continue;
        }
        let ranked = roles::rank(&key);
        if let Some((Role::Step, rank)) = ranked {
            if step.is_none_or(|(r, _)| rank < r) {
                step = Some((rank, value));
            }
            continue;
        }
        let key =
            if eval && lower.contains("loss") && !lower.contains("ppl") && !lower.contains("scale")
            {
                format!("{} validation", key.trim_end_matches(" value"))
            } else {
                key
            };
        has_loss |= matches!(roles::detect(&key), Some(Role::Loss | Role::EvalLoss));
        fields.push((key, value));
    }
    let (_, step) = step?;
    has_loss.then_some(LineRecord { step, fields })
}

/// `key number` pairs of a line: words up to a number make its key; `|`, `,`, `;`,
/// brackets and ` - ` end a key; `/ M` after a number (a total) is skipped.
pub fn pairs(line: &str) -> Vec<(String, f64)> {
    let line = strip_ansi(line);
    let chars: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut after_number_slash = false;
    let mut last_was_number = false;
    // `nan` is a value only right after `:` or `=` (`loss: nan`, not `number of nan iterations`).
    let mut after_colon = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() || c == ':' || c == '=' {
            after_colon |= c != ' ' && !c.is_whitespace();
            i += 1;
            continue;
        }
        if c == '-' && chars.get(i + 1).is_none_or(|n| n.is_whitespace()) {
            words.clear();
            i += 1;
            continue;
        }
        let starts_number = c.is_ascii_digit()
            || (matches!(c, '-' | '+' | '.')
                && chars
                    .get(i + 1)
                    .is_some_and(|n| n.is_ascii_digit() || *n == '.'));
        if starts_number {
            let start = i;
            i += 1;
            while i < chars.len() {
                let d = chars[i];
                let exponent_sign = matches!(d, '+' | '-') && matches!(chars[i - 1], 'e' | 'E');
                if d.is_ascii_digit()
                    || d == '.'
                    || matches!(d, 'e' | 'E') && i + 1 < chars.len()
                    || exponent_sign
                {
                    i += 1;
                } else {
                    break;
                }
            }
            let text: String = chars[start..i].iter().collect();
            // A unit glued to the number (`45.12ms`, `12.3%`, `30GiB`) is skipped.
            while i < chars.len() && (chars[i].is_alphabetic() || chars[i] == '%') {
                i += 1;
            }
            if !after_number_slash && !words.is_empty() {
                let value = text.trim_end_matches(['e', 'E']).parse::<f64>().ok();
                if let Some(value) = value {
                    out.push((words.join(" "), value));
                }
            }
            words.clear();
            after_number_slash = false;
            after_colon = false;
            last_was_number = true;
            continue;
        }
        if c == '/' && last_was_number {
            after_number_slash = true;
            i += 1;
            continue;
        }
        last_was_number = false;
        if matches!(c, '|' | ',' | ';' | '[' | ']' | '{' | '}' | '<' | '>') {
            words.clear();
            i += 1;
            continue;
        }
        // A word: letters, digits, `_`, `-`, `/`, `.`, parentheses.
        let start = i;
        while i < chars.len()
            && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '-' | '/' | '.' | '(' | ')'))
        {
            i += 1;
        }
        if i == start {
            words.clear();
            i += 1;
            continue;
        }
        let word: String = chars[start..i]
            .iter()
            .collect::<String>()
            .trim_end_matches('.')
            .to_string();
        let lower = word.to_ascii_lowercase();
        let was_after_colon = std::mem::take(&mut after_colon);
        if matches!(lower.as_str(), "nan" | "inf" | "-nan" | "+inf" | "-inf")
            && !words.is_empty()
            && was_after_colon
        {
            let value = if lower.contains("nan") {
                f64::NAN
            } else if lower.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            };
            out.push((words.join(" "), value));
            words.clear();
            continue;
        }
        if words.len() >= 8 {
            words.remove(0);
        }
        words.push(word);
    }
    out
}

/// Removes ANSI escape sequences (`ESC [ ... letter`).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// The trainer that wrote the log, from its keys.
fn label(records: &[LineRecord]) -> &'static str {
    let has = |key: &str| {
        records
            .iter()
            .take(100)
            .any(|r| r.fields.iter().any(|(k, _)| k == key))
    };
    if has("lm loss") {
        "megatron_log"
    } else if has("reduced_train_loss") || has("consumed_samples") {
        "nemo_log"
    } else if has("train loss") || has("val loss") || has("mfu") && has("loss") && has("time") {
        "nanogpt_log"
    } else if has("loss") && (has("tps") || has("memory") || has("grad_norm")) {
        "torchtitan_log"
    } else {
        "text_log"
    }
}

/// Megatron's argument dump: `  seq_length ........ 2048`.
fn argument(line: &str) -> Option<(Role, f64, String)> {
    let line = line.trim();
    let (key, rest) = line.split_once(" ..")?;
    let value = rest.trim_start_matches('.').trim().parse::<f64>().ok()?;
    let role = roles::detect(key.trim())?;
    (matches!(role, Role::SeqLen | Role::TokensPerStep | Role::NParams))
        .then(|| (role, value, format!("log argument '{}'", key.trim())))
}

pub fn read(
    file: &str,
    text: &str,
    mapping: &Mapping,
    limits: &Limits,
) -> Result<ParsedFile, IngestError> {
    let mut records = Vec::new();
    let mut lines = Vec::new();
    let mut attrs: FileAttrs = Vec::new();
    for (line_no, line) in segments(text) {
        if let Some(record) = parse_line(line) {
            if records.len() >= limits.max_rows {
                return Err(IngestError::too_large(
                    file,
                    "max_rows",
                    format!("more than {} log records", limits.max_rows),
                ));
            }
            records.push(record);
            lines.push(line_no as u32);
        } else if let Some(arg) = argument(line)
            && !attrs.iter().any(|(r, _, _)| *r == arg.0)
        {
            attrs.push(arg);
        }
    }
    if records.is_empty() {
        return Err(IngestError::missing(
            file,
            "no log line has both a step and a loss (e.g. `iter 10: loss 3.2`)",
        ));
    }
    // Columns: the step, then each key in first-seen order.
    let mut keys: Vec<String> = Vec::new();
    let mut columns: Vec<Vec<Option<f64>>> = Vec::new();
    for (row, record) in records.iter().enumerate() {
        for (key, value) in &record.fields {
            let col = match keys.iter().position(|k| k == key) {
                Some(c) => c,
                None => {
                    keys.push(key.clone());
                    columns.push(vec![None; records.len()]);
                    keys.len() - 1
                }
            };
            columns[col][row] = Some(*value);
        }
    }
    let mut frame_columns = vec![Column::new(
        "step".into(),
        records.iter().map(|r| r.step).collect::<Vec<f64>>(),
    )];
    frame_columns.extend(
        keys.iter()
            .zip(columns)
            .map(|(k, values)| Column::new(k.as_str().into(), values)),
    );
    let df = DataFrame::new(records.len(), frame_columns)
        .map_err(|e| IngestError::malformed(file, e.to_string()))?;
    let info = TableInfo {
        format: label(&records).to_string(),
        origin: Origin::LineNumbers(lines),
        default_run: super::run_name_for(file),
        attrs,
        notes: Vec::new(),
        mapping,
    };
    super::table_file(file, &df, info, limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(line: &str, step: Option<f64>, expected: &[(&str, f64)]) {
        let record = parse_line(line);
        assert_eq!(record.as_ref().map(|r| r.step), step, "{line}");
        if let Some(record) = record {
            for (key, value) in expected {
                let found = record
                    .fields
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| *v);
                assert_eq!(found, Some(*value), "{key} in {line}: {:?}", record.fields);
            }
        }
    }

    #[test]
    fn reads_the_lines_of_each_trainer() {
        check(
            " iteration      100/  500000 | consumed samples:        51200 | elapsed time per iteration (ms): 1234.5 | \
             learning rate: 1.500000E-04 | global batch size:   512 | lm loss: 7.123456E+00 | loss scale: 1.0 | grad norm: 1.234 |",
            Some(100.0),
            &[
                ("consumed samples", 51200.0),
                ("learning rate", 1.5e-4),
                ("global batch size", 512.0),
                ("lm loss", 7.123456),
            ],
        );
        check(
            " validation loss at iteration 1000 | lm loss value: 6.500000E+00 | lm loss PPL: 6.65E+02 |",
            Some(1000.0),
            &[("lm loss validation", 6.5)],
        );
        check(
            "Training epoch 0, iteration 10/249 | lr: 1.961e-06 | global_batch_size: 8 | global_step: 10 | \
             reduced_train_loss: 1.315 | consumed_samples: 88",
            Some(10.0),
            &[
                ("lr", 1.961e-6),
                ("reduced_train_loss", 1.315),
                ("consumed_samples", 88.0),
            ],
        );
        check(
            "Epoch 0: 100%|##########| 10/10 [00:05<00:00, 1.80it/s, v_num=0, reduced_train_loss=1.320, global_step=9.000, val_loss=1.25]",
            Some(9.0),
            &[("reduced_train_loss", 1.32), ("val_loss", 1.25)],
        );
        check(
            "iter 120: loss 3.4567, time 45.12ms, mfu 12.34%",
            Some(120.0),
            &[("loss", 3.4567), ("mfu", 12.34)],
        );
        check(
            "step 2000: train loss 3.1234, val loss 3.2345",
            Some(2000.0),
            &[("train loss", 3.1234), ("val loss", 3.2345)],
        );
        check(
            "\u{1b}[31mstep: 10  \u{1b}[32mloss:  9.1234  \u{1b}[33mgrad_norm:  1.2345  memory: 30.12GiB(31.70%)  tps: 7,123\u{1b}[39m",
            Some(10.0),
            &[("loss", 9.1234), ("grad_norm", 1.2345)],
        );
        check(
            "[titan] 2025-01-01 12:00:00,000 - root - INFO - step: 20  loss:  nan  memory: 30GiB",
            Some(20.0),
            &[],
        );
        check("using world size: 1, data-parallel size: 1", None, &[]);
        check("step,loss", None, &[]);
    }

    #[test]
    fn nan_losses_are_values() {
        let record = parse_line("step: 20  loss:  nan").unwrap();
        assert!(record.fields[0].1.is_nan());
    }

    #[test]
    fn megatron_arguments_give_the_sequence_length() {
        assert_eq!(
            argument("  seq_length ...................................... 2048")
                .map(|a| (a.0, a.1)),
            Some((Role::SeqLen, 2048.0))
        );
        assert_eq!(
            argument("  lr ...................................... 0.00015"),
            None
        );
    }
}
