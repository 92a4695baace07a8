//! [`Assembler`]: collects points per run and series from any reader, then sorts them,
//! keeps the last of repeated steps, and reports what it handled (non-finite values,
//! steps going back, loss spikes, derived tokens). Nothing is dropped silently.
//!
//! Every point is checked as it arrives ([`super::values`]): an impossible step or
//! value (negative, fractional step, beyond a [`Limits`] value bound) is an error naming
//! the row and column; a non-finite value is left out and counted, and the warning names
//! the first few rows.
//!
//! Run-level values (batch size, sequence length, tokens per step, N) become run
//! attributes when constant within a run, and stay a series when they vary (a batch-size
//! ramp-up). A run with a single loss point (a row of a scaling table) also gets its
//! `lr`, `tokens` and `flops` as attributes.

use std::collections::HashMap;

use shared::api::Series;

use super::formats::FileAttrs;
use super::mapping::{Mapping, MappingRoles};
use super::origin::Origin;
use super::roles::Role;
use super::values::{self, Rule};
use super::{IngestError, Limits, ParsedRun};

/// A loss this many times the median of the previous points is reported as a spike.
const SPIKE_RATIO: f64 = 1.3;
/// Points before a spike that its median is taken over.
const SPIKE_WINDOW: usize = 20;
/// Rows of left-out non-finite values a warning names (then "...").
const NAMED_ROWS: usize = 3;

pub struct Assembler<'a> {
    file: String,
    limits: &'a Limits,
    runs: Vec<RunAcc>,
    index: HashMap<String, usize>,
    /// Data problems handled on the way (shown to the user).
    pub warnings: Vec<String>,
    /// Decisions taken on the way (derived tokens, a column read as the run...).
    pub notes: Vec<String>,
    /// The file has no step column: steps are row numbers, so no tokens from steps.
    pub steps_are_ordinals: bool,
    /// The column (or tag) steps come from, for errors about a step.
    pub step_source: String,
}

struct RunAcc {
    name: String,
    series: Vec<SeriesAcc>,
}

struct SeriesAcc {
    role: Role,
    key: String,
    source: String,
    steps: Vec<f64>,
    values: Vec<f64>,
    sorted: bool,
    backs: usize,
    first_back: Option<String>,
    rule: Rule,
    non_finite: usize,
    /// Where the first [`NAMED_ROWS`] non-finite values were.
    non_finite_rows: Vec<String>,
}

impl<'a> Assembler<'a> {
    pub fn new(file: &str, limits: &'a Limits) -> Self {
        Self {
            file: file.to_string(),
            limits,
            runs: Vec::new(),
            index: HashMap::new(),
            warnings: Vec::new(),
            notes: Vec::new(),
            steps_are_ordinals: false,
            step_source: "step".to_string(),
        }
    }

    pub fn file(&self) -> &str {
        &self.file
    }

    /// The index of a run, created on first use (bounded by `max_runs`).
    pub fn run(&mut self, name: &str) -> Result<usize, IngestError> {
        if let Some(&i) = self.index.get(name) {
            return Ok(i);
        }
        if self.runs.len() >= self.limits.max_runs {
            return Err(IngestError::too_large(
                &self.file,
                "max_runs",
                format!("more than {} runs in one file", self.limits.max_runs),
            ));
        }
        self.runs.push(RunAcc {
            name: name.to_string(),
            series: Vec::new(),
        });
        self.index.insert(name.to_string(), self.runs.len() - 1);
        Ok(self.runs.len() - 1)
    }

    /// The index of a run's series for a role, created on first use. `source` names the
    /// column, tag or key the values come from (shown in the report).
    pub fn series(&mut self, run: usize, role: Role, source: &str) -> usize {
        let series = &mut self.runs[run].series;
        if let Some(i) = series.iter().position(|s| s.role == role) {
            return i;
        }
        series.push(SeriesAcc {
            role,
            key: role.key().to_string(),
            source: source.to_string(),
            steps: Vec::new(),
            values: Vec::new(),
            sorted: true,
            backs: 0,
            first_back: None,
            rule: Rule::of(role),
            non_finite: 0,
            non_finite_rows: Vec::new(),
        });
        series.len() - 1
    }

    /// Room for `rows` points, so that a long series is allocated once.
    pub fn reserve(&mut self, run: usize, series: usize, rows: usize) {
        let s = &mut self.runs[run].series[series];
        s.steps.reserve_exact(rows);
        s.values.reserve_exact(rows);
    }

    /// Adds a point. Non-finite values are counted and left out; steps going back are
    /// counted (a resumed run) and sorted out at the end. An impossible step or value
    /// ([`super::values`]) is an error at `row` of `origin`.
    #[inline]
    pub fn push(
        &mut self,
        run: usize,
        series: usize,
        step: f64,
        value: f64,
        row: usize,
        origin: &Origin,
    ) -> Result<(), IngestError> {
        let s = &mut self.runs[run].series[series];
        if let Err(why) = values::check_step(step, self.limits) {
            return Err(IngestError::malformed(&self.file, why)
                .at_row(origin, row)
                .with_column(&self.step_source));
        }
        if !value.is_finite() {
            s.non_finite += 1;
            if s.non_finite_rows.len() < NAMED_ROWS {
                s.non_finite_rows.push(origin.describe(row));
            }
            return Ok(());
        }
        if let Err(why) = values::check_value(s.rule, value, self.limits) {
            return Err(IngestError::malformed(&self.file, why)
                .at_row(origin, row)
                .with_column(&s.source));
        }
        if let Some(&last) = s.steps.last()
            && step <= last
        {
            s.sorted = false;
            if step < last {
                s.backs += 1;
                if s.first_back.is_none() {
                    s.first_back = Some(origin.describe(row));
                }
            }
        }
        s.steps.push(step);
        s.values.push(value);
        Ok(())
    }

    /// Sorts, deduplicates and checks every series, turns run-level series into
    /// attributes, applies the mapping's values and derives tokens.
    pub fn finish(
        mut self,
        mapping: &Mapping,
        file_attrs: &FileAttrs,
    ) -> (Vec<ParsedRun>, Vec<String>, Vec<String>) {
        let mut runs = Vec::with_capacity(self.runs.len());
        let mut left_out = Vec::new();
        let accs = std::mem::take(&mut self.runs);
        for acc in accs {
            let name = acc.name;
            let mut run = ParsedRun {
                name: name.clone(),
                ..ParsedRun::default()
            };
            // Issues per series, merged when several series share one (loss and lr
            // of the same rows): `run 'a', loss and lr: ...`.
            let mut issues: Vec<(String, Vec<String>)> = Vec::new();
            let mut issue = |series: &str, message: String| match issues
                .iter_mut()
                .find(|(m, _)| *m == message)
            {
                Some((_, names)) => names.push(series.to_string()),
                None => issues.push((message, vec![series.to_string()])),
            };
            for s in acc.series {
                if s.non_finite > 0 {
                    issue(
                        &s.key,
                        format!(
                            "{} non-finite value(s) (NaN or inf) left out, at {}{}",
                            s.non_finite,
                            s.non_finite_rows.join(", "),
                            if s.non_finite > s.non_finite_rows.len() {
                                ", ..."
                            } else {
                                ""
                            }
                        ),
                    );
                }
                if s.backs > 0 {
                    issue(
                        &s.key,
                        format!(
                            "the steps go back {} time(s), the first at {} (a resumed run?); points were sorted by step",
                            s.backs,
                            s.first_back.as_deref().unwrap_or("?")
                        ),
                    );
                }
                let (series, duplicates) = sort_and_dedup(s.steps, s.values, s.sorted);
                if duplicates > 0 {
                    issue(
                        &s.key,
                        format!(
                            "{duplicates} repeated step(s): the last value logged for each was kept"
                        ),
                    );
                }
                if series.steps.is_empty() {
                    continue;
                }
                run.sources
                    .insert(s.key.clone(), format!("column '{}'", s.source));
                run.series.insert(s.key, series);
            }
            for (message, series) in issues {
                self.warnings
                    .push(format!("run '{name}', {}: {message}", series.join(" and ")));
            }
            self.resolve_attributes(&mut run, mapping, file_attrs);
            self.derive_tokens(&mut run);
            if let Some(loss) = run.series.get("loss") {
                if let Some(w) = spikes(loss) {
                    self.warnings
                        .push(format!("run '{name}', loss: {w} (kept)"));
                }
                runs.push(run);
            } else if run.series.contains_key("eval_loss") {
                runs.push(run);
            } else {
                left_out.push(name);
            }
        }
        if !left_out.is_empty() {
            let shown: Vec<_> = left_out.iter().take(5).map(|n| format!("'{n}'")).collect();
            self.warnings.push(format!(
                "{} run(s) without any finite loss or eval loss value left out: {}{}",
                left_out.len(),
                shown.join(", "),
                if left_out.len() > 5 { ", ..." } else { "" }
            ));
        }
        (runs, self.warnings, self.notes)
    }

    fn resolve_attributes(
        &mut self,
        run: &mut ParsedRun,
        mapping: &Mapping,
        file_attrs: &FileAttrs,
    ) {
        let single_point = run.series.get("loss").is_some_and(|s| s.steps.len() == 1);
        for role in Role::ALL {
            let key = role.key();
            let Some(series) = run.series.get(key) else {
                continue;
            };
            let first = series.values[0];
            let constant = series.values.iter().all(|&v| v == first);
            if role.is_run_level() {
                if constant {
                    run.attrs.insert(key.to_string(), first);
                    run.series.remove(key);
                } else {
                    self.notes.push(format!(
                        "run '{}': {key} varies within the run ({} to {}), kept as a series",
                        run.name,
                        series.values.iter().copied().fold(f64::INFINITY, f64::min),
                        series
                            .values
                            .iter()
                            .copied()
                            .fold(f64::NEG_INFINITY, f64::max)
                    ));
                }
            } else if single_point
                && matches!(role, Role::Lr | Role::Tokens | Role::Flops)
                && series.values.len() == 1
            {
                run.attrs.insert(key.to_string(), first);
            }
        }
        for (role, value, source) in file_attrs {
            if !run.attrs.contains_key(role.key()) {
                run.attrs.insert(role.key().to_string(), *value);
                run.sources.insert(role.key().to_string(), source.clone());
            }
        }
        for (role, value) in mapping.values() {
            run.attrs.insert(role.key().to_string(), value);
            run.sources
                .insert(role.key().to_string(), "given in the mapping".to_string());
        }
    }

    /// Tokens, when not logged: from consumed samples x sequence length, else step x
    /// tokens per step, else step x batch x sequence length; D = C / (6 N) for a
    /// scaling table with FLOPs and N.
    fn derive_tokens(&mut self, run: &mut ParsedRun) {
        if run.series.contains_key("tokens") {
            return;
        }
        let attr = |k: &str| run.attrs.get(k).copied();
        let seq_len = attr("seq_len");
        let real_steps = !self.steps_are_ordinals;
        let (series, how) =
            if let (Some(samples), Some(seq_len)) = (run.series.get("samples"), seq_len) {
                (
                    scale(samples, seq_len),
                    format!("consumed samples x sequence length {seq_len}"),
                )
            } else if let (true, Some(loss), Some(per_step)) =
                (real_steps, run.series.get("loss"), attr("tokens_per_step"))
            {
                (
                    steps_times(loss, per_step),
                    format!("step x {per_step} tokens per step"),
                )
            } else if let (true, Some(loss), Some(batch), Some(seq_len)) = (
                real_steps,
                run.series.get("loss"),
                attr("batch_size"),
                seq_len,
            ) {
                (
                    steps_times(loss, batch * seq_len),
                    format!("step x batch size {batch} x sequence length {seq_len}"),
                )
            } else if let (Some(flops), Some(n)) = (run.series.get("flops"), attr("n_params")) {
                (scale(flops, 1.0 / (6.0 * n)), "FLOPs / (6 N)".to_string())
            } else {
                return;
            };
        if run.series.get("loss").is_some_and(|s| s.steps.len() == 1) && series.values.len() == 1 {
            run.attrs.insert("tokens".to_string(), series.values[0]);
        }
        run.sources
            .insert("tokens".to_string(), format!("derived: {how}"));
        run.series.insert("tokens".to_string(), series);
    }
}

fn scale(series: &Series, factor: f64) -> Series {
    Series {
        steps: series.steps.clone(),
        values: series.values.iter().map(|v| v * factor).collect(),
    }
}

fn steps_times(series: &Series, factor: f64) -> Series {
    Series {
        steps: series.steps.clone(),
        values: series.steps.iter().map(|s| s * factor).collect(),
    }
}

/// Sorts by step (stable, so rows of a repeated step stay in file order) and keeps the
/// last value of each repeated step, as a restarted run would. Returns the duplicates.
fn sort_and_dedup(steps: Vec<f64>, values: Vec<f64>, sorted: bool) -> (Series, usize) {
    let (mut steps, mut values) = (steps, values);
    if !sorted {
        let mut order: Vec<u32> = (0..steps.len() as u32).collect();
        order.sort_by(|&a, &b| steps[a as usize].total_cmp(&steps[b as usize]));
        steps = order.iter().map(|&i| steps[i as usize]).collect();
        values = order.iter().map(|&i| values[i as usize]).collect();
    }
    let mut kept = 0;
    for i in 0..steps.len() {
        if kept > 0 && steps[kept - 1] == steps[i] {
            values[kept - 1] = values[i];
        } else {
            steps[kept] = steps[i];
            values[kept] = values[i];
            kept += 1;
        }
    }
    let duplicates = steps.len() - kept;
    steps.truncate(kept);
    values.truncate(kept);
    (Series { steps, values }, duplicates)
}

/// Loss spikes: points above the median of the previous [`SPIKE_WINDOW`] points by more
/// than 6 robust standard deviations (1.4826 MAD) and by more than [`SPIKE_RATIO`] - 1 of
/// it, so that a noisy per-batch loss is not all spikes. Reported, never removed.
fn spikes(loss: &Series) -> Option<String> {
    let v = &loss.values;
    let mut count = 0;
    let mut first = None;
    let mut window = [0.0; SPIKE_WINDOW];
    for i in SPIKE_WINDOW..v.len() {
        let prev = &v[i - SPIKE_WINDOW..i];
        // Cheap test first: below ratio x the window's minimum it cannot be a spike.
        let min = prev.iter().copied().fold(f64::INFINITY, f64::min);
        if !(v[i] > SPIKE_RATIO * min && min > 0.0) {
            continue;
        }
        window.copy_from_slice(prev);
        let median = *window
            .select_nth_unstable_by(SPIKE_WINDOW / 2, f64::total_cmp)
            .1;
        for x in window.iter_mut() {
            *x = (*x - median).abs();
        }
        let mad = *window
            .select_nth_unstable_by(SPIKE_WINDOW / 2, f64::total_cmp)
            .1;
        if v[i] > median + (6.0 * 1.4826 * mad).max((SPIKE_RATIO - 1.0) * median) {
            count += 1;
            first.get_or_insert(loss.steps[i]);
        }
    }
    first.map(|step| {
        format!("{count} spike(s) well above the median of the previous {SPIKE_WINDOW} points, the first at step {step}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_and_dedup_keeps_the_last_of_a_repeated_step() {
        let (s, dup) = sort_and_dedup(
            vec![1.0, 3.0, 2.0, 3.0],
            vec![10.0, 30.0, 20.0, 31.0],
            false,
        );
        assert_eq!(
            (s.steps, s.values, dup),
            (vec![1.0, 2.0, 3.0], vec![10.0, 20.0, 31.0], 1)
        );
    }

    #[test]
    fn spikes_are_found() {
        let mut values = vec![3.0; 40];
        values[30] = 6.0;
        let loss = Series {
            steps: (0..40).map(f64::from).collect(),
            values,
        };
        assert!(spikes(&loss).is_some_and(|w| w.contains("1 spike") && w.contains("step 30")));
        let flat = Series {
            steps: vec![0.0; 40],
            values: vec![3.0; 40],
        };
        assert_eq!(spikes(&flat), None);
    }
}
