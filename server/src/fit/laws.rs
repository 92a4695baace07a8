//! From runs to a [`Prepared`] fit of a named law: the law instances per run, the
//! excluded points, the default start grid and the report's description of the law.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shared::api::Coverage;
use shared::extrapolation::run_coverage;
use shared::laws::chinchilla::ChinchillaLaw;
use shared::laws::kaplan::{KaplanNDLaw, KaplanNSLaw, KaplanPowerLaw};
use shared::laws::multipower::MultiPowerLaw;
use shared::laws::power::SaturatingPowerLaw;
use shared::laws::{Law, ParamSpec};

use super::aggregate::aggregate;
use super::curve_starts::{self, Scales};
use super::prior::PriorTerm;
use super::problem::{Block, Problem};
use super::staged::Staged;
use super::{FitError, Prepared};

/// The laws the CLI and the API know, by their names there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LawName {
    Momentum,
    Multipower,
    Chinchilla,
    KaplanN,
    KaplanD,
    KaplanNd,
    KaplanNs,
    Power,
    Fsl,
    Convex,
    PowerS1,
}

impl LawName {
    pub const ALL: [LawName; 11] = [
        LawName::Momentum,
        LawName::Multipower,
        LawName::Fsl,
        LawName::Convex,
        LawName::PowerS1,
        LawName::Chinchilla,
        LawName::KaplanN,
        LawName::KaplanD,
        LawName::KaplanNd,
        LawName::KaplanNs,
        LawName::Power,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LawName::Momentum => "momentum",
            LawName::Multipower => "multipower",
            LawName::Chinchilla => "chinchilla",
            LawName::KaplanN => "kaplan-n",
            LawName::KaplanD => "kaplan-d",
            LawName::KaplanNd => "kaplan-nd",
            LawName::KaplanNs => "kaplan-ns",
            LawName::Power => "power",
            LawName::Fsl => "fsl",
            LawName::Convex => "convex",
            LawName::PowerS1 => "power-s1",
        }
    }

    pub fn parse(text: &str) -> Result<Self, FitError> {
        Self::ALL
            .into_iter()
            .find(|l| l.as_str() == text)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|l| l.as_str()).collect();
                FitError::Input(format!(
                    "unknown law '{text}'; the laws are {}",
                    names.join(", ")
                ))
            })
    }

    /// The law's parameters (names, default bounds), known before any data is read.
    pub fn param_specs(self) -> &'static [ParamSpec] {
        use shared::laws::momentum::MomentumLaw;
        match self {
            LawName::Momentum => MomentumLaw::PARAMS,
            LawName::Multipower => MultiPowerLaw::PARAMS,
            LawName::Chinchilla => ChinchillaLaw::PARAMS,
            LawName::KaplanN | LawName::KaplanD => KaplanPowerLaw::PARAMS,
            LawName::KaplanNd => KaplanNDLaw::PARAMS,
            LawName::KaplanNs => KaplanNSLaw::PARAMS,
            LawName::Power => SaturatingPowerLaw::PARAMS,
            LawName::Fsl => shared::laws::fsl::FslLaw::PARAMS,
            LawName::Convex => shared::laws::convex::ConvexLaw::PARAMS,
            LawName::PowerS1 => shared::laws::power_s1::PowerS1Law::PARAMS,
        }
    }

    /// Whether the law predicts a loss curve from a learning-rate schedule.
    pub fn is_schedule_law(self) -> bool {
        matches!(
            self,
            LawName::Momentum
                | LawName::Multipower
                | LawName::Fsl
                | LawName::Convex
                | LawName::PowerS1
        )
    }

    pub fn form(self) -> &'static str {
        match self {
            LawName::Momentum => {
                "L(s) = L0 + A S1(s)^-alpha - C S2(s); S1 = sum eta, S2 = sum m, m_i = lambda m_(i-1) + eta_(i-1) - eta_i"
            }
            LawName::Multipower => {
                "L(t) = L0 + A (S1(t) + S_W)^-alpha - B sum_k (eta_(k-1) - eta_k) G(eta_k^-gamma S_k(t)), G(x) = 1 - (C x + 1)^-beta"
            }
            LawName::Chinchilla => {
                "log L = LSE(a - alpha log N, b - beta log D, e); L = E + A/N^alpha + B/D^beta"
            }
            LawName::KaplanN => "L(N) = (N_c / N)^alpha_N",
            LawName::KaplanD => "L(D) = (D_c / D)^alpha_D",
            LawName::KaplanNd => "L(N, D) = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D",
            LawName::KaplanNs => "L(N, S_min) = (N_c/N)^alpha_N + (S_c/S_min)^alpha_S",
            LawName::Power => "L(x) = E + A x^-alpha",
            LawName::Fsl => {
                "L(k) = L0 + c1 T(k)^-s - c2 sum_(i<=k) (eta_(i-1) - eta_i) (c3 + T(i)^-s) [1 - (1 + c4 (T(k) - T(i)))^-gamma]; T = sum eta"
            }
            LawName::Convex => {
                "L(T) = C + M Omega_T, Omega_T = D^2/(2 P_T) + sum_t eta_t^2 G_t^2/(2 P_T) + 1/2 sum_(k<T) eta_k/(P_T - P_k) (sum_(t>=k) eta_t^2 G_t^2)/(P_T - P_(k-1)); G_t = G1 exp(A1 t) + G2 t^A2 + B, P = sum eta"
            }
            LawName::PowerS1 => {
                "L(s) = L0 + A S1(s)^-alpha; S1 = sum eta (the momentum law without C S2)"
            }
        }
    }
}

/// Index convention of the schedule laws.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Convention {
    /// The authors' released code (reproduces published numbers): momentum law (and the
    /// S1 power law) counts warmup steps at the peak LR; the multi-power law sums from
    /// step 0, ramp included; the FSL (no released code) sums every LR change, ramp
    /// included; the convex bound takes the LRs as given (its reference code).
    #[default]
    Code,
    /// The papers' text: the literal warmup ramp (momentum law, S1 power law); sums after
    /// warmup with S_W (multi-power law); LR changes after warmup only (FSL); the convex
    /// bound as under `Code`.
    Paper,
}

/// A loss curve with its per-step learning rates (index = step, from 0).
#[derive(Clone, Debug)]
pub struct CurveRun {
    pub name: String,
    pub steps: Vec<usize>,
    pub loss: Vec<f64>,
    pub lrs: Vec<f64>,
}

/// One row of a scaling table (one training run or checkpoint).
#[derive(Clone, Debug, Default)]
pub struct TableRow {
    /// Rows of one run share a name and are resampled together.
    pub run: String,
    pub n: Option<f64>,
    pub d: Option<f64>,
    /// The `x` of the generic power law, or S_min for `kaplan-ns`.
    pub x: Option<f64>,
    pub loss: f64,
}

/// Which points to leave out, applied to each curve.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Exclusion {
    /// Points at steps below this (e.g. the warmup).
    pub before_step: Option<usize>,
    /// Points in the first fraction (0..1) of each run's logged steps.
    pub first_fraction: Option<f64>,
    /// The k highest-loss points of all the data (outliers, e.g. diverged runs).
    pub highest_loss: usize,
    /// Inclusive step ranges.
    pub ranges: Vec<[usize; 2]>,
}

/// Law settings beyond the data.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct LawSettings {
    pub convention: Convention,
    /// Momentum decay of S2 (momentum law).
    pub lambda: f64,
    /// Runs with more points than this are averaged into bins (see [`aggregate`]).
    pub max_points: usize,
}

impl Default for LawSettings {
    fn default() -> Self {
        Self {
            convention: Convention::Code,
            lambda: 0.999,
            max_points: super::aggregate::MAX_POINTS,
        }
    }
}

/// Prepares a schedule law on curves; `holdout` names the runs kept out of the fit.
pub fn prepare_curves(
    law: LawName,
    runs: &[CurveRun],
    holdout: &[String],
    exclusion: &Exclusion,
    settings: &LawSettings,
) -> Result<Prepared, FitError> {
    if !law.is_schedule_law() {
        return Err(FitError::Input(format!(
            "{} is fitted to a table of (N, D, loss), not to loss curves",
            law.as_str()
        )));
    }
    check_holdout(holdout, runs.iter().map(|r| r.name.as_str()))?;
    let mut excluded = Vec::new();
    let kept = exclude_curve_points(runs, exclusion, &mut excluded);
    let mut train = Vec::new();
    let mut held = Vec::new();
    let mut aggregation = Vec::new();
    let mut min_loss = f64::INFINITY;
    for run in &kept {
        if run.steps.is_empty() {
            return Err(FitError::Input(format!(
                "run '{}' has no points left after the exclusions",
                run.name
            )));
        }
        if run.lrs.iter().all(|&v| v == 0.0) {
            return Err(FitError::Input(format!(
                "run '{}': the learning rate is zero at every step",
                run.name
            )));
        }
        if let Some(&last) = run.steps.iter().max() {
            if last >= run.lrs.len() {
                return Err(FitError::Input(format!(
                    "run '{}': the loss is logged at step {last} but the learning rates stop at step {}",
                    run.name,
                    run.lrs.len().saturating_sub(1)
                )));
            }
        }
        let fitted = aggregate(&run.steps, &run.loss, settings.max_points);
        if let Some(width) = fitted.bin_width {
            aggregation.push(format!(
                "run '{}': {} points averaged into {} bins of {width} steps",
                run.name,
                run.steps.len(),
                fitted.steps.len()
            ));
        }
        let boxed = super::predict::schedule_law(law, settings, &run.lrs, &fitted.steps)?;
        let split = if holdout.contains(&run.name) {
            &mut held
        } else {
            min_loss = fitted.loss.iter().copied().fold(min_loss, f64::min);
            &mut train
        };
        split.push((run.name.clone(), boxed, fitted.loss, fitted.weights));
    }
    let specs = specs_of(&train)?;
    let (train, held) = (curve_problem(specs, train), curve_problem(specs, held));
    let scales = Scales::of(kept.iter().filter(|r| !holdout.contains(&r.name)));
    let (mut bounds, mut fixed) = (BTreeMap::new(), BTreeMap::new());
    let (starts, start_grid) = match (law, scales) {
        (LawName::Multipower, _) if min_loss.is_finite() => (
            MultiPowerLaw::start_grid(min_loss),
            "multi-power-law authors' grid: alpha in {0.3, 0.5, 0.7}; L0, A, B solved by least squares for each (their grid over L0 (min loss +- 0.2), A {0.3, 0.6, 1}, B {100, 550, 1000} is kept only as the starts' source); C = 1, beta = gamma = 0.5".to_string(),
        ),
        (LawName::Fsl, Some(sc)) => curve_starts::fsl_grid(&sc),
        (LawName::Convex, Some(sc)) => {
            bounds = curve_starts::convex_bounds(&sc);
            fixed = curve_starts::convex_gauge();
            curve_starts::convex_grid(&sc)
        }
        _ => grid(specs),
    };
    // Parameters that enter every prediction affinely.
    let linear = match law {
        LawName::Multipower | LawName::Momentum => vec![0, 1, 3],
        LawName::Fsl => vec![0, 1, 2],
        LawName::Convex => vec![6, 7],
        LawName::PowerS1 => vec![0, 1],
        _ => Vec::new(),
    };
    let staged = (law == LawName::Multipower).then(multipower_plan);
    // The newer laws' grids leave the linear parameters to least squares; the momentum law
    // and its S1 baseline keep the authors' recipe (L-BFGS from the raw grid).
    let solve_linear_starts = matches!(law, LawName::Fsl | LawName::Convex);
    let mut warnings = Vec::new();
    warn_peak_changes(&kept, holdout, &mut warnings);
    // What the fitted runs cover, after the exclusions: forecasts outside it are flagged.
    let coverage = Coverage::new(
        kept.iter()
            .filter(|r| !holdout.contains(&r.name))
            .map(|r| run_coverage(&r.name, &r.lrs, r.steps.iter().copied().max().unwrap_or(0)))
            .collect(),
    );
    Ok(Prepared {
        law: law.as_str().into(),
        form: law.form().into(),
        settings: serde_json::to_value(settings).unwrap_or_default(),
        specs,
        train,
        holdout: held,
        starts,
        start_grid,
        excluded,
        aggregation,
        warnings,
        linear,
        staged,
        bounds,
        fixed,
        solve_linear_starts,
        coverage: Some(coverage),
    })
}

/// The multi-power law's default: the simplified law `G = 1` (`C = 1e4`, `beta = 5`,
/// `gamma = 0.5` held), then the full law with a prior centred on the simplified fit's
/// `B` (sd 10% in log) and on `C = 1` (sd a factor e), `beta = gamma = 0.5` (sd 0.5),
/// the authors' initial values. Relative strength 10: every value from 2 to 40 forecast
/// the six held-out schedules of the authors' data better than their published fit.
pub fn multipower_plan() -> Staged {
    let term = |index: usize, name: &str, center: f64, log: bool, scale: f64| PriorTerm {
        index,
        name: name.into(),
        center,
        log,
        scale,
    };
    Staged {
        simplified_form: "LD(t) = B (eta_0 - eta_t): every drop fully saturated (C = 1e4, beta = 5, gamma = 0.5 held)",
        simplified: vec![(4, 1e4), (5, 5.0), (6, 0.5)],
        second_start: vec![(4, 1.0), (5, 0.5), (6, 0.5)],
        prior: vec![
            term(3, "B", 1.0, true, 0.1),
            term(4, "C", 1.0, true, 1.0),
            term(5, "beta", 0.5, false, 0.5),
            term(6, "gamma", 0.5, false, 0.5),
        ],
        centers_from_stage_one: vec![3],
        relative_strength: 10.0,
    }
}

/// Prepares a table law on scaling rows.
pub fn prepare_table(
    law: LawName,
    rows: &[TableRow],
    holdout: &[String],
    exclusion: &Exclusion,
) -> Result<Prepared, FitError> {
    if law.is_schedule_law() {
        return Err(FitError::Input(format!(
            "{} is fitted to loss curves with learning rates, not to a table",
            law.as_str()
        )));
    }
    check_holdout(holdout, rows.iter().map(|r| r.run.as_str()))?;
    let mut excluded = Vec::new();
    let mut rows: Vec<&TableRow> = rows.iter().collect();
    if exclusion.highest_loss > 0 {
        rows.sort_by(|a, b| b.loss.total_cmp(&a.loss));
        for r in rows.drain(..exclusion.highest_loss.min(rows.len())) {
            excluded.push(format!(
                "run '{}' (loss {}): among the {} highest losses",
                r.run, r.loss, exclusion.highest_loss
            ));
        }
    }
    let (train_rows, held_rows): (Vec<&TableRow>, Vec<&TableRow>) =
        rows.into_iter().partition(|r| !holdout.contains(&r.run));
    let train = table_problem(law, &train_rows)?;
    let specs = train
        .as_ref()
        .map(|p| p.specs)
        .ok_or_else(|| FitError::Input("no runs left to fit (all held out or excluded)".into()))?;
    let held = table_problem(law, &held_rows)?
        .unwrap_or_else(|| Problem::new(specs, Vec::new(), Vec::new()));
    let (train, held) = (train.expect("checked above"), held);
    let (starts, start_grid) = grid(specs);
    Ok(Prepared {
        law: law.as_str().into(),
        form: law.form().into(),
        settings: serde_json::json!({}),
        specs,
        train,
        holdout: held,
        starts,
        start_grid,
        excluded,
        aggregation: Vec::new(),
        warnings: Vec::new(),
        linear: Vec::new(),
        staged: None,
        bounds: BTreeMap::new(),
        fixed: BTreeMap::new(),
        solve_linear_starts: false,
        coverage: None,
    })
}

/// The law's parameters, from the first run to fit; an error when there is none.
fn specs_of(train: &[CurvePart]) -> Result<&'static [ParamSpec], FitError> {
    train
        .first()
        .map(|g| g.1.param_specs())
        .ok_or_else(|| FitError::Input("no runs left to fit (all held out or excluded)".into()))
}

/// A curve ready for its block: name, law instance, observed losses, point weights.
type CurvePart = (String, Box<dyn Law>, Vec<f64>, Vec<f64>);

/// One block per curve, each curve its own group.
fn curve_problem(specs: &'static [ParamSpec], runs: Vec<CurvePart>) -> Problem {
    let mut groups = Vec::new();
    let mut blocks = Vec::new();
    for (g, (name, law, observed, weights)) in runs.into_iter().enumerate() {
        groups.push(name);
        blocks.push(Block {
            law: law.into(),
            weights,
            group_of: vec![g; observed.len()],
            observed,
        });
    }
    Problem::new(specs, blocks, groups)
}

/// One block for all the rows (a single law call), grouped by run name.
fn table_problem(law: LawName, rows: &[&TableRow]) -> Result<Option<Problem>, FitError> {
    if rows.is_empty() {
        return Ok(None);
    }
    let mut groups: Vec<String> = Vec::new();
    let group_of: Vec<usize> = rows
        .iter()
        .map(|r| match groups.iter().position(|g| *g == r.run) {
            Some(g) => g,
            None => {
                groups.push(r.run.clone());
                groups.len() - 1
            }
        })
        .collect();
    let col = |f: fn(&TableRow) -> Option<f64>, what: &str| -> Result<Vec<f64>, FitError> {
        rows.iter()
            .map(|r| {
                f(r).filter(|v| v.is_finite() && *v > 0.0).ok_or_else(|| {
                    FitError::Input(format!(
                        "run '{}': {what} is missing or not a positive number",
                        r.run
                    ))
                })
            })
            .collect()
    };
    let boxed: Box<dyn Law> = match law {
        LawName::Chinchilla => Box::new(
            ChinchillaLaw::new(&col(|r| r.n, "N")?, &col(|r| r.d, "D")?).map_err(law_error)?,
        ),
        LawName::KaplanN => Box::new(KaplanPowerLaw::new(&col(|r| r.n, "N")?).map_err(law_error)?),
        LawName::KaplanD => Box::new(KaplanPowerLaw::new(&col(|r| r.d, "D")?).map_err(law_error)?),
        LawName::KaplanNd => {
            Box::new(KaplanNDLaw::new(&col(|r| r.n, "N")?, &col(|r| r.d, "D")?).map_err(law_error)?)
        }
        LawName::KaplanNs => Box::new(
            KaplanNSLaw::new(&col(|r| r.n, "N")?, &col(|r| r.x, "S_min")?).map_err(law_error)?,
        ),
        _ => Box::new(SaturatingPowerLaw::new(&col(|r| r.x, "x")?).map_err(law_error)?),
    };
    let observed: Vec<f64> = rows.iter().map(|r| r.loss).collect();
    let specs = boxed.param_specs();
    let block = Block {
        law: boxed.into(),
        weights: vec![1.0; observed.len()],
        group_of,
        observed,
    };
    Ok(Some(Problem::new(specs, vec![block], groups)))
}

/// The Cartesian product of the parameters' default starts.
fn grid(specs: &[ParamSpec]) -> (Vec<Vec<f64>>, String) {
    let mut starts: Vec<Vec<f64>> = vec![Vec::new()];
    for spec in specs {
        starts = starts
            .into_iter()
            .flat_map(|s| {
                spec.starts
                    .iter()
                    .map(move |&v| [s.clone(), vec![v]].concat())
            })
            .collect();
    }
    let text = specs
        .iter()
        .map(|s| format!("{} in {:?}", s.name, s.starts))
        .collect::<Vec<_>>()
        .join(", ");
    let n = starts.len();
    (starts, format!("full grid: {text} ({n} starts)"))
}

fn exclude_curve_points(
    runs: &[CurveRun],
    exclusion: &Exclusion,
    excluded: &mut Vec<String>,
) -> Vec<CurveRun> {
    let mut kept: Vec<CurveRun> = runs.to_vec();
    for run in &mut kept {
        let first_step = run.steps.first().copied().unwrap_or(0);
        let last_step = run.steps.last().copied().unwrap_or(0);
        let cutoff = exclusion
            .first_fraction
            .map(|f| first_step + ((last_step - first_step) as f64 * f.clamp(0.0, 1.0)) as usize)
            .max(exclusion.before_step);
        let before = run.steps.len();
        let keep: Vec<bool> = run
            .steps
            .iter()
            .map(|&s| {
                cutoff.is_none_or(|c| s >= c)
                    && !exclusion.ranges.iter().any(|[a, b]| (*a..=*b).contains(&s))
            })
            .collect();
        run.steps = run
            .steps
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(s, _)| *s)
            .collect();
        run.loss = run
            .loss
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(l, _)| *l)
            .collect();
        if run.steps.len() < before {
            excluded.push(format!(
                "run '{}': {} points before step {:?} or in {:?}",
                run.name,
                before - run.steps.len(),
                cutoff,
                exclusion.ranges
            ));
        }
    }
    if exclusion.highest_loss > 0 {
        let mut all: Vec<(f64, usize, usize)> = kept
            .iter()
            .enumerate()
            .flat_map(|(r, run)| run.loss.iter().enumerate().map(move |(i, &l)| (l, r, i)))
            .collect();
        all.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut drop: Vec<(usize, usize)> = all
            .iter()
            .take(exclusion.highest_loss)
            .map(|&(_, r, i)| (r, i))
            .collect();
        drop.sort_by(|a, b| b.cmp(a));
        for (r, i) in drop {
            excluded.push(format!(
                "run '{}', step {}: loss {} among the highest",
                kept[r].name, kept[r].steps[i], kept[r].loss[i]
            ));
            kept[r].steps.remove(i);
            kept[r].loss.remove(i);
        }
    }
    kept
}

/// The schedule laws assume the peak LR of the fitted runs: say so when it changes.
fn warn_peak_changes(runs: &[CurveRun], holdout: &[String], warnings: &mut Vec<String>) {
    let peak = |r: &CurveRun| r.lrs.iter().copied().fold(0.0, f64::max);
    let fitted: Vec<f64> = runs
        .iter()
        .filter(|r| !holdout.contains(&r.name))
        .map(peak)
        .collect();
    for run in runs.iter().filter(|r| holdout.contains(&r.name)) {
        let p = peak(run);
        if !fitted.iter().any(|f| (f - p).abs() <= 1e-6 * f.abs()) {
            warnings.push(format!(
                "held-out run '{}' has peak LR {p:e}, unlike every fitted run ({fitted:?}): the law assumes a fixed peak LR and may extrapolate badly",
                run.name
            ));
        }
    }
}

fn check_holdout<'a>(
    holdout: &[String],
    names: impl Iterator<Item = &'a str> + Clone,
) -> Result<(), FitError> {
    for h in holdout {
        if !names.clone().any(|n| n == h) {
            return Err(FitError::Input(format!(
                "held-out run '{h}' is not among the runs"
            )));
        }
    }
    Ok(())
}

fn law_error(e: shared::laws::LawError) -> FitError {
    FitError::Input(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names a fit request is checked against are those of the instances a fit builds.
    #[test]
    fn param_specs_match_the_law_instances() {
        let names = |s: &[ParamSpec]| s.iter().map(|p| p.name).collect::<Vec<_>>();
        for law in LawName::ALL {
            let built = if law.is_schedule_law() {
                super::super::predict::schedule_law(
                    law,
                    &LawSettings::default(),
                    &[1e-3; 10],
                    &[1, 5],
                )
                .unwrap()
                .param_specs()
            } else {
                let row = |n: f64, d: f64| TableRow {
                    run: format!("{n}"),
                    n: Some(n),
                    d: Some(d),
                    x: Some(d),
                    loss: 3.0,
                };
                let rows = [row(1e8, 1e9), row(2e8, 3e9)];
                table_problem(law, &rows.iter().collect::<Vec<_>>())
                    .unwrap()
                    .unwrap()
                    .specs
            };
            assert_eq!(names(law.param_specs()), names(built), "{law:?}");
        }
    }
}
