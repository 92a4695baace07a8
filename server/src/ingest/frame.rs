//! From a polars table to runs: finds the role of each column (with the user's
//! [`Mapping`] first), picks the layout, converts the columns used to numbers (locating
//! any cell that is not one) and feeds the [`Assembler`].
//!
//! Layouts:
//! - long: a step column, value columns, and optionally a run column (several runs);
//! - wide: one loss column per run, named `<run> - <key>` (W&B chart export),
//!   `<run>/<key>`, listed with several `--loss-col`, or bare run names next to a step;
//! - one run per row: a table without a run column whose N or C varies between rows
//!   (a scaling table); each row is its own run, named after the file and its line.

use polars::prelude::*;

use super::assemble::Assembler;
use super::error::excerpt;
use super::mapping::{Mapping, MappingRoles, find_column};
use super::origin::Origin;
use super::roles::{self, Role};
use super::{IngestError, IngestErrorKind, Layout};

/// What a column holds, as far as the roles care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Numeric,
    Text,
    Other,
}

/// Which columns are read, and how.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub step: Option<usize>,
    pub run: Option<usize>,
    /// Value columns of every run.
    pub values: Vec<(usize, Role)>,
    /// Wide columns: (column, run, role).
    pub wide: Vec<(usize, String, Role)>,
    /// Columns used, with their role (for the report).
    pub used: Vec<(String, Role)>,
    /// Columns seen and not used.
    pub ignored: Vec<String>,
    pub notes: Vec<String>,
}

impl Plan {
    /// The columns to read, in table order.
    pub fn needed(&self) -> Vec<usize> {
        let mut cols: Vec<usize> = self.step.iter().chain(self.run.iter()).copied().collect();
        cols.extend(self.values.iter().map(|&(c, _)| c));
        cols.extend(self.wide.iter().map(|(c, _, _)| *c));
        cols.sort_unstable();
        cols.dedup();
        cols
    }

    /// Columns read as text (the run name); the others are read as numbers.
    pub fn is_text(&self, col: usize) -> bool {
        self.run == Some(col)
    }
}

/// Hints from the data that the header alone does not give.
#[derive(Clone, Copy, Debug, Default)]
pub struct Hints {
    /// The step column goes back somewhere in the rows seen (several runs one after another).
    pub steps_go_back: bool,
}

/// Decides the role of each column.
pub fn plan(
    file: &str,
    names: &[String],
    kinds: &[Kind],
    mapping: &Mapping,
    hints: Hints,
) -> Result<Plan, IngestError> {
    let mut plan = Plan::default();
    let mut role_of: Vec<Option<(Role, u8)>> = vec![None; names.len()];
    let name_refs = || names.iter().map(String::as_str);

    // The user's mapping first: a named column must exist.
    let forced = mapping.columns();
    let forced_roles: Vec<Role> = forced.iter().map(|&(r, _)| r).collect();
    let wide_losses = mapping.loss_col.len() > 1;
    for &(role, wanted) in &forced {
        let Some(col) = find_column(name_refs(), wanted) else {
            return Err(IngestError::missing(
                file,
                format!(
                    "the column '{wanted}' given as the {} column is not in the file; its columns are [{}]",
                    role.key(),
                    list(names)
                ),
            )
            .with_column(wanted));
        };
        if role == Role::Loss && wide_losses {
            plan.wide.push((col, names[col].clone(), Role::Loss));
            plan.used.push((names[col].clone(), Role::Loss));
        } else {
            role_of[col] = Some((role, 0));
        }
    }
    let wide_forced: Vec<usize> = plan.wide.iter().map(|(c, _, _)| *c).collect();
    for (col, name) in names.iter().enumerate() {
        if role_of[col].is_some() || wide_forced.contains(&col) || kinds[col] == Kind::Other {
            continue;
        }
        match roles::rank(name) {
            Some((role, _))
                if forced_roles.contains(&role) || (role == Role::Loss && wide_losses) => {}
            found => role_of[col] = found,
        }
    }

    // The best-ranked column of each role wins; the others are reported unused.
    for role in Role::ALL {
        let best = (0..names.len())
            .filter_map(|c| {
                role_of[c]
                    .filter(|(r, _)| *r == role)
                    .map(|(_, rank)| (rank, c))
            })
            .min()
            .map(|(_, c)| c);
        let Some(best) = best else { continue };
        for c in 0..names.len() {
            if c != best && role_of[c].is_some_and(|(r, _)| r == role) {
                plan.notes.push(format!(
                    "column '{}' is also a {} column; '{}' was used",
                    names[c],
                    role.key(),
                    names[best]
                ));
                role_of[c] = None;
            }
        }
        plan.used.push((names[best].clone(), role));
        match role {
            Role::Step => plan.step = Some(best),
            Role::Run => plan.run = Some(best),
            _ => plan.values.push((best, role)),
        }
    }

    // An eval loss alone is enough (a file of validation curves).
    let has_loss = plan
        .values
        .iter()
        .any(|&(_, r)| matches!(r, Role::Loss | Role::EvalLoss))
        || !plan.wide.is_empty();
    let free = |c: usize, plan: &Plan| {
        role_of[c].is_none()
            && !plan.wide.iter().any(|(w, _, _)| *w == c)
            && kinds[c] != Kind::Other
    };
    if !has_loss {
        // Run-qualified columns: `<run> - <key>`, `<run>/<key>`.
        for (col, name) in names.iter().enumerate() {
            if !free(col, &plan) || roles::is_band(name) {
                continue;
            }
            if let Some((run, _, role)) = roles::split_qualified(name) {
                plan.wide.push((col, run, role));
                plan.used.push((name.clone(), role));
            }
        }
        if !plan
            .wide
            .iter()
            .any(|(_, _, r)| matches!(r, Role::Loss | Role::EvalLoss))
        {
            plan.wide.clear();
            plan.used.retain(|(name, _)| {
                !roles::split_qualified(name).is_some_and(|(_, _, r)| r.is_value())
            });
            // Bare run names next to a step column (a pivoted table).
            let bare: Vec<usize> = (0..names.len())
                .filter(|&c| {
                    free(c, &plan)
                        && kinds[c] == Kind::Numeric
                        && !roles::is_known_metric(&names[c])
                })
                .collect();
            if plan.step.is_some() && plan.run.is_none() && bare.len() >= 2 {
                plan.notes.push(format!(
                    "no loss column: each of the columns [{}] is read as the loss of a run of that name (a wide table)",
                    bare.iter().map(|&c| names[c].as_str()).collect::<Vec<_>>().join(", ")
                ));
                for c in bare {
                    plan.wide.push((c, names[c].clone(), Role::Loss));
                    plan.used.push((names[c].clone(), Role::Loss));
                }
            } else {
                return Err(IngestError::missing(
                    file,
                    format!(
                        "no loss column found among the columns [{}]; name one `loss`, or give it with --loss-col \
                         (API: loss_col)",
                        list(names)
                    ),
                ));
            }
        }
    }

    // A single text column next to steps that go back: the run name (e.g. `schedule`).
    if plan.run.is_none() && plan.wide.is_empty() && plan.step.is_some() && hints.steps_go_back {
        let text: Vec<usize> = (0..names.len())
            .filter(|&c| {
                free(c, &plan) && kinds[c] == Kind::Text && !roles::is_known_metric(&names[c])
            })
            .collect();
        if let [c] = text[..] {
            plan.run = Some(c);
            plan.used.push((names[c].clone(), Role::Run));
            plan.notes.push(format!(
                "the text column '{}' is read as the run name (the steps start again)",
                names[c]
            ));
        }
    }

    let needed = plan.needed();
    plan.ignored = (0..names.len())
        .filter(|c| !needed.contains(c))
        .map(|c| names[c].clone())
        .collect();
    Ok(plan)
}

fn list(names: &[String]) -> String {
    let shown: Vec<&str> = names.iter().take(30).map(String::as_str).collect();
    format!(
        "{}{}",
        shown.join(", "),
        if names.len() > 30 { ", ..." } else { "" }
    )
}

/// What a table column holds: numbers, text (a cell that is not a number), or neither.
pub fn kind_of(column: &Column) -> Kind {
    match column.dtype() {
        dt if dt.is_primitive_numeric() || *dt == DataType::Null => Kind::Numeric,
        DataType::String => {
            let Ok(text) = column.str() else {
                return Kind::Other;
            };
            let mut cells = text
                .iter()
                .flatten()
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .take(200)
                .peekable();
            if cells.peek().is_none() || cells.all(|c| parse_number(c).is_some()) {
                Kind::Numeric
            } else {
                Kind::Text
            }
        }
        _ => Kind::Other,
    }
}

/// Whether the step column goes back somewhere (only numbers that parse are looked at).
pub fn steps_go_back(column: &Column) -> bool {
    let Ok(numbers) = column.cast(&DataType::Float64) else {
        return false;
    };
    let Ok(numbers) = numbers.f64() else {
        return false;
    };
    let steps: Vec<f64> = numbers.iter().flatten().collect();
    steps.windows(2).any(|w| w[1] < w[0])
}

/// A number as trainers write it, including `nan`, `inf`, `1.5E-04`, surrounding spaces.
pub fn parse_number(text: &str) -> Option<f64> {
    let text = text.trim();
    text.parse::<f64>()
        .ok()
        .or_else(|| match text.to_ascii_lowercase().as_str() {
            "nan" | "+nan" | "-nan" => Some(f64::NAN),
            "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
            "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        })
}

/// A column as numbers; a text cell that is not one is an error that says where.
pub fn to_f64(file: &str, column: &Column, origin: &Origin) -> Result<Float64Chunked, IngestError> {
    let name = column.name().to_string();
    let bad = |message: String| IngestError::malformed(file, message).with_column(name.clone());
    match column.dtype() {
        DataType::Float64 => Ok(column.f64().map_err(|e| bad(e.to_string()))?.clone()),
        dt if dt.is_primitive_numeric() || *dt == DataType::Null => {
            let cast = column
                .cast(&DataType::Float64)
                .map_err(|e| bad(format!("cannot be read as numbers: {e}")))?;
            Ok(cast.f64().map_err(|e| bad(e.to_string()))?.clone())
        }
        DataType::String => {
            let text = column.str().map_err(|e| bad(e.to_string()))?;
            let mut values = Vec::with_capacity(text.len());
            for (row, cell) in text.iter().enumerate() {
                let cell = cell.map(str::trim).filter(|c| !c.is_empty());
                match cell {
                    None => values.push(None),
                    Some(c) => match parse_number(c) {
                        Some(v) => values.push(Some(v)),
                        None => {
                            return Err(bad(format!("'{}' is not a number", excerpt(c)))
                                .at_row(origin, row));
                        }
                    },
                }
            }
            Ok(Float64Chunked::from_iter_options(
                name.as_str().into(),
                values.into_iter(),
            ))
        }
        DataType::Boolean => Err(bad("holds true/false values, not numbers".to_string())),
        dt => Err(bad(format!("holds {dt} values, not numbers"))),
    }
}

/// A column's numbers, as the chunks polars made them (not copied into one).
struct Numbers {
    ca: Float64Chunked,
    /// Per chunk, which cells hold a number, when some do not.
    valid: Vec<Option<Vec<bool>>>,
}

impl Numbers {
    fn new(ca: &Float64Chunked) -> Self {
        let ca = ca.clone();
        let valid = ca
            .downcast_iter()
            .map(|array| {
                array
                    .validity()
                    .filter(|b| b.unset_bits() > 0)
                    .map(|b| b.iter().collect())
            })
            .collect();
        Self { ca, valid }
    }

    fn view(&self) -> View<'_> {
        let mut chunks = Vec::new();
        let mut starts = Vec::new();
        let mut start = 0;
        for (array, valid) in self.ca.downcast_iter().zip(&self.valid) {
            starts.push(start);
            chunks.push((array.values().as_slice(), valid.as_deref()));
            start += array.len();
        }
        View {
            chunks,
            starts,
            len: start,
        }
    }
}

/// Numbers of a column, read row by row across its chunks.
struct View<'a> {
    chunks: Vec<(&'a [f64], Option<&'a [bool]>)>,
    /// The first row of each chunk.
    starts: Vec<usize>,
    len: usize,
}

impl View<'_> {
    #[inline]
    fn get(&self, row: usize) -> Option<f64> {
        if row >= self.len {
            return None;
        }
        let c = if self.chunks.len() == 1 {
            0
        } else {
            self.starts.partition_point(|&s| s <= row) - 1
        };
        let (values, valid) = self.chunks[c];
        let i = row - self.starts[c];
        match valid {
            Some(valid) if !valid[i] => None,
            _ => Some(values[i]),
        }
    }

    /// Cells that hold a number.
    fn count(&self) -> usize {
        self.chunks
            .iter()
            .map(|(values, valid)| valid.map_or(values.len(), |v| v.iter().filter(|&&b| b).count()))
            .sum()
    }

    fn varies(&self) -> bool {
        let mut seen = None;
        (0..self.len)
            .filter_map(|r| self.get(r))
            .any(|v| *seen.get_or_insert(v) != v)
    }
}

/// Reads the planned columns of a table into the assembler, and returns the layout.
pub fn assemble(
    asm: &mut Assembler,
    df: &DataFrame,
    origin: &Origin,
    default_run: &str,
    plan: &Plan,
) -> Result<Layout, IngestError> {
    let file = asm.file().to_string();
    let height = df.height();
    if height == 0 {
        return Err(IngestError::new(
            IngestErrorKind::Empty,
            &file,
            "the table has a header but no data rows",
        ));
    }
    let columns = df.columns();
    let numbers = |col: usize| -> Result<Numbers, IngestError> {
        Ok(Numbers::new(&to_f64(&file, &columns[col], origin)?))
    };
    let step_numbers = plan.step.map(numbers).transpose()?;
    let value_numbers: Vec<Numbers> = plan
        .values
        .iter()
        .map(|&(c, _)| numbers(c))
        .collect::<Result<_, _>>()?;
    let wide_numbers: Vec<Numbers> = plan
        .wide
        .iter()
        .map(|(c, _, _)| numbers(*c))
        .collect::<Result<_, _>>()?;
    let steps = step_numbers.as_ref().map(Numbers::view);
    if let Some(c) = plan.step {
        asm.step_source = columns[c].name().to_string();
    }
    let values: Vec<(View, Role, String)> = plan
        .values
        .iter()
        .zip(&value_numbers)
        .map(|(&(c, role), n)| (n.view(), role, columns[c].name().to_string()))
        .collect();
    let mut wide: Vec<(View, usize, Role, String)> = Vec::with_capacity(plan.wide.len());
    for ((c, run, role), n) in plan.wide.iter().zip(&wide_numbers) {
        wide.push((
            n.view(),
            asm.run(run)?,
            *role,
            columns[*c].name().to_string(),
        ));
    }
    let run_names = match plan.run {
        Some(c) => Some(columns[c].cast(&DataType::String).map_err(|e| {
            IngestError::malformed(&file, e.to_string()).with_column(columns[c].name().as_str())
        })?),
        None => None,
    };
    let run_text = run_names
        .as_ref()
        .map(|c| c.str())
        .transpose()
        .map_err(|e| IngestError::malformed(&file, e.to_string()))?;

    let per_row = plan.run.is_none()
        && wide.is_empty()
        && values
            .iter()
            .any(|(n, role, _)| matches!(role, Role::NParams | Role::Flops) && n.varies());
    if steps.is_none() {
        asm.steps_are_ordinals = true;
        if !per_row {
            asm.notes.push(
                "no step column: the rows of each run are numbered from 0 as its steps".to_string(),
            );
        }
    }
    let layout = if !wide.is_empty() {
        Layout::Wide
    } else if per_row {
        asm.notes.push(
            "no run column and N or C varies between rows: each row is its own run".to_string(),
        );
        Layout::RowPerRun
    } else {
        Layout::Long
    };

    // Rows per run name, so that each series is allocated once at its final size.
    let mut rows_of: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    if let Some(text) = run_text {
        let mut last: Option<(&str, usize)> = None;
        for name in text.iter().flatten().map(str::trim) {
            match &mut last {
                Some((l, n)) if *l == name => *n += 1,
                _ => {
                    if let Some((l, n)) = last {
                        *rows_of.entry(l).or_default() += n;
                    }
                    last = Some((name, 1));
                }
            }
        }
        if let Some((l, n)) = last {
            *rows_of.entry(l).or_default() += n;
        }
    }

    let value_counts: Vec<usize> = values.iter().map(|(n, _, _)| n.count()).collect();
    let wide_counts: Vec<usize> = wide.iter().map(|(n, _, _, _)| n.count()).collect();

    // Series ids per (run, value column), created on first use.
    let mut ids: Vec<Vec<Option<usize>>> = Vec::new();
    let mut series_id = |asm: &mut Assembler,
                         run: usize,
                         col: usize,
                         role: Role,
                         source: &str,
                         rows: usize|
     -> usize {
        if ids.len() <= run {
            ids.resize(run + 1, vec![None; values.len() + wide.len()]);
        }
        *ids[run][col].get_or_insert_with(|| {
            let id = asm.series(run, role, source);
            asm.reserve(run, id, rows);
            id
        })
    };
    let fixed_run = if plan.run.is_none() && !per_row && wide.is_empty() {
        Some(asm.run(default_run)?)
    } else {
        None
    };
    let mut run_iter = run_text.map(|t| t.iter());
    let mut last_run: Option<(String, usize)> = None;
    let (mut no_step, mut first_no_step) = (0usize, None);
    let mut unnamed = 0usize;
    // Without a step column, each run's rows are numbered 0, 1, ...
    let mut ordinals: Vec<f64> = Vec::new();
    let mut ordinal = |run: usize| {
        if ordinals.len() <= run {
            ordinals.resize(run + 1, 0.0);
        }
        ordinals[run] += 1.0;
        ordinals[run] - 1.0
    };
    for row in 0..height {
        let name_cell = run_iter
            .as_mut()
            .and_then(|it| it.next())
            .flatten()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let step = match &steps {
            Some(s) => s.get(row),
            None => Some(0.0),
        };
        let Some(step) = step.filter(|s| s.is_finite()) else {
            let has_value = values.iter().any(|(n, _, _)| n.get(row).is_some())
                || wide.iter().any(|(n, _, _, _)| n.get(row).is_some());
            if has_value {
                no_step += 1;
                first_no_step.get_or_insert(row);
            }
            continue;
        };
        if !wide.is_empty() {
            for (w, (numbers, run, role, source)) in wide.iter().enumerate() {
                if let Some(v) = numbers.get(row) {
                    let id = series_id(asm, *run, values.len() + w, *role, source, wide_counts[w]);
                    asm.push(*run, id, step, v, row, origin)?;
                }
                for (c, (numbers, role, source)) in values.iter().enumerate() {
                    if let Some(v) = numbers.get(row) {
                        let id = series_id(asm, *run, c, *role, source, value_counts[c]);
                        asm.push(*run, id, step, v, row, origin)?;
                    }
                }
            }
            continue;
        }
        if !values.iter().any(|(n, _, _)| n.get(row).is_some()) {
            continue;
        }
        let run = match (fixed_run, name_cell) {
            (Some(run), _) => run,
            (None, Some(name)) => match &last_run {
                Some((last, id)) if last == name => *id,
                _ => {
                    let id = asm.run(name)?;
                    last_run = Some((name.to_string(), id));
                    id
                }
            },
            (None, None) => {
                if plan.run.is_some() {
                    unnamed += 1;
                }
                asm.run(&format!("{default_run} {}", origin.describe(row)))?
            }
        };
        let step = if steps.is_none() { ordinal(run) } else { step };
        for (c, (numbers, role, source)) in values.iter().enumerate() {
            if let Some(v) = numbers.get(row) {
                let rows = match (fixed_run, name_cell) {
                    (Some(_), _) => value_counts[c],
                    (None, Some(name)) => rows_of.get(name).copied().unwrap_or(1),
                    (None, None) => 1,
                };
                let id = series_id(asm, run, c, *role, source, rows);
                asm.push(run, id, step, v, row, origin)?;
            }
        }
    }
    if no_step > 0 {
        asm.warnings.push(format!(
            "{no_step} row(s) without a step value left out, the first at {}",
            origin.describe(first_no_step.unwrap_or(0))
        ));
    }
    if unnamed > 0 {
        asm.warnings.push(format!(
            "{unnamed} row(s) have an empty run name: each was made its own run"
        ));
    }
    Ok(layout)
}
