//! Fit jobs: a create call queues the fit and returns at once; a bounded pool runs
//! queued fits one at a time per permit (fits use both cores themselves).
//!
//! Other requests stay fast meanwhile because a fit runs on its own thread at a lower
//! CPU priority (nice 10, inherited by the threads it starts): it takes both cores when
//! the server is idle, and yields them to request handling when it is not.
//!
//! Cancelling marks the fit in the store (a queued fit never starts) and sets its
//! [`Control`] flag, which stops a running fit's optimisers at their next step.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use shared::api::{FitRequest, Progress, RunDetail};
use shared::schedule::Schedule;
use tokio::sync::Semaphore;

use crate::fit::compare;
use crate::fit::control::Control;
use crate::fit::laws::{self, Convention, Exclusion, LawName, LawSettings};
use crate::fit::objective::{Objective, Penalty, Scale};
use crate::fit::{FitError, FitOptions, fit, report};
use crate::fit_input;
use crate::store::Store;

#[derive(Clone)]
pub struct Jobs {
    permits: Arc<Semaphore>,
    /// The controls of queued and running fits, by fit id.
    active: Arc<Mutex<HashMap<i64, Arc<Control>>>>,
}

impl Jobs {
    pub fn new(concurrent_fits: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrent_fits.max(1))),
            active: Arc::default(),
        }
    }

    /// Queues fit `id` (already stored as queued) and runs it when a permit is free.
    pub fn spawn(&self, store: Store, id: i64, request: FitRequest) {
        let permits = self.permits.clone();
        let control = Arc::new(Control::default());
        self.lock().insert(id, control.clone());
        let jobs = self.clone();
        tokio::spawn(async move {
            if let Ok(_permit) = permits.acquire_owned().await
                && !control.is_cancelled()
                && store.start_fit(id).await.unwrap_or(false)
            {
                let outcome = match load_runs(&store, &request).await {
                    Ok((train, holdout)) => {
                        let control = control.clone();
                        in_background(move || run(&request, &train, &holdout, control)).await
                    }
                    Err(e) => Err(e),
                };
                let outcome = outcome.map_err(|e| e.to_string());
                // A cancelled fit is already marked so; this stores nothing for it.
                if let Err(e) = store.finish_fit(id, outcome).await {
                    tracing::error!("fit {id}: cannot store the result: {e}");
                }
            }
            jobs.lock().remove(&id);
        });
    }

    /// Stops fit `id`'s work if it is queued or running here (the store records why).
    pub fn cancel(&self, id: i64) {
        if let Some(control) = self.lock().get(&id) {
            control.cancel();
        }
    }

    /// Fits queued or running (until their work has stopped).
    pub fn active(&self) -> usize {
        self.lock().len()
    }

    /// How far fit `id` is, while it is queued or running.
    pub fn progress(&self, id: i64) -> Option<Progress> {
        self.lock().get(&id).map(|c| c.progress())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<Control>>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Runs `work` on a new thread at a lower CPU priority and awaits its result.
async fn in_background<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, FitError> + Send + 'static,
) -> Result<T, FitError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("fit".into())
        .spawn(move || {
            lower_priority();
            let _ = tx.send(work());
        });
    if let Err(e) = spawned {
        return Err(FitError::Failed(format!("cannot start a fit thread: {e}")));
    }
    rx.await
        .unwrap_or_else(|_| Err(FitError::Failed("the fit crashed".into())))
}

/// On Linux the nice value belongs to the calling thread and is inherited by the
/// threads it starts; elsewhere fits keep the normal priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority has no memory effects; `who` 0 is the calling thread.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

async fn load_runs(
    store: &Store,
    request: &FitRequest,
) -> Result<(Vec<RunDetail>, Vec<RunDetail>), FitError> {
    let mut load = Vec::new();
    for ids in [&request.runs, &request.holdout] {
        let mut runs = Vec::new();
        for &id in ids {
            let run = store
                .get_run(id)
                .await
                .map_err(|e| FitError::Failed(e.to_string()))?;
            runs.push(run.ok_or_else(|| FitError::Input(format!("no run with id {id}")))?);
        }
        load.push(runs);
    }
    let holdout = load.pop().unwrap_or_default();
    Ok((load.pop().unwrap_or_default(), holdout))
}

/// Checks a request before it is queued, so that a bad one gets a 4xx at once: the law,
/// the options (bootstrap count, penalties, exclusions), run ids given once each,
/// parameter names and values of `fixed` and `bounds`, and the schedules (parsed, so a
/// `total` over `MAX_STEPS` is refused here, for runs of the request). Whether the runs
/// exist is the handler's check (it needs the store).
pub fn validate(request: &FitRequest) -> Result<(), FitError> {
    let law = if request.law == compare::COMPARE {
        check_comparison(request)?;
        None
    } else if !request.options.laws.is_empty() {
        return Err(FitError::Input(
            "`laws` lists the laws of a comparison: give it with \"law\": \"compare\"".into(),
        ));
    } else {
        Some(LawName::parse(&request.law)?)
    };
    options(request)?;
    if request.runs.is_empty() {
        return Err(FitError::Input("no runs to fit: give `runs`".into()));
    }
    if let Some(id) = request.holdout.iter().find(|id| request.runs.contains(id)) {
        return Err(FitError::Input(format!(
            "run {id} is both fitted and held out"
        )));
    }
    // A set, so that a request of a million ids costs no more than reading it.
    let mut ids = std::collections::HashSet::new();
    if let Some(id) = request.all_runs().into_iter().find(|id| !ids.insert(*id)) {
        return Err(FitError::Input(format!("run {id} is given twice")));
    }
    if let Some(law) = law {
        check_params(law, request)?;
    }
    for (id, spec) in &request.options.schedules {
        // The job looks schedules up by `id.to_string()`: `01` would never be found.
        if !id
            .parse()
            .is_ok_and(|n: i64| ids.contains(&n) && n.to_string() == *id)
        {
            return Err(FitError::Input(format!(
                "a schedule is given for run {id}, which is not in the fit"
            )));
        }
        spec.parse::<Schedule>()
            .map_err(|e| FitError::Input(format!("schedule of run {id}: {e}")))?;
    }
    for (id, w) in &request.options.run_weights {
        if !request.runs.iter().any(|r| r.to_string() == *id) {
            return Err(FitError::Input(format!(
                "a weight is given for run {id}, which is not fitted"
            )));
        }
        if !(w.is_finite() && *w >= 0.0) {
            return Err(FitError::Input(format!(
                "the weight of run {id} must be finite and >= 0, not {w}"
            )));
        }
    }
    Ok(())
}

/// A comparison names schedule laws, holds nothing out (it hides parts of the runs
/// itself) and fixes no parameter (each law has its own).
fn check_comparison(request: &FitRequest) -> Result<(), FitError> {
    compare::parse_laws(&request.options.laws)?;
    if !request.holdout.is_empty() {
        return Err(FitError::Input(
            "a comparison holds no run out: it hides each run's last third (and, with 3 runs or more, each run) in turn; give every run in `runs`".into(),
        ));
    }
    if !request.options.fixed.is_empty() || !request.options.bounds.is_empty() {
        return Err(FitError::Input(
            "`fixed` and `bounds` name one law's parameters; a comparison fits several laws".into(),
        ));
    }
    Ok(())
}

/// `fixed` and `bounds` name parameters of the law, with finite values and non-empty
/// bounds (a fixed value outside the law's default bounds is the user's choice).
fn check_params(law: LawName, request: &FitRequest) -> Result<(), FitError> {
    let names: Vec<&str> = law.param_specs().iter().map(|s| s.name).collect();
    let o = &request.options;
    for (what, name) in o
        .fixed
        .keys()
        .map(|n| ("fixed", n))
        .chain(o.bounds.keys().map(|n| ("bounds", n)))
    {
        if !names.contains(&name.as_str()) {
            return Err(FitError::Input(format!(
                "{what}: {} has no parameter '{name}'; its parameters are {}",
                law.as_str(),
                names.join(", ")
            )));
        }
    }
    if let Some((name, v)) = o.fixed.iter().find(|(_, v)| !v.is_finite()) {
        return Err(FitError::Input(format!(
            "fixed: '{name}' = {v} is not a finite number"
        )));
    }
    if let Some((name, [lo, hi])) = o
        .bounds
        .iter()
        .find(|(_, [lo, hi])| lo.is_nan() || hi.is_nan() || lo >= hi)
    {
        return Err(FitError::Input(format!(
            "bounds: '{name}' = [{lo}, {hi}] is not an interval with lower < upper"
        )));
    }
    Ok(())
}

fn options(request: &FitRequest) -> Result<(FitOptions, LawSettings, Exclusion), FitError> {
    let o = &request.options;
    let bad = |what: &str, value: &str, allowed: &str| {
        FitError::Input(format!("unknown {what} '{value}': use {allowed}"))
    };
    let penalty = match o.penalty.as_deref() {
        None | Some("huber") => Penalty::Huber {
            delta: o.delta.unwrap_or(1e-3),
        },
        Some("least_squares") => Penalty::LeastSquares,
        Some(other) => return Err(bad("penalty", other, "huber or least_squares")),
    };
    let scale = match o.scale.as_deref() {
        None | Some("log") => Scale::Log,
        Some("raw") => Scale::Raw,
        Some(other) => return Err(bad("scale", other, "log or raw")),
    };
    let convention = match o.convention.as_deref() {
        None | Some("code") => Convention::Code,
        Some("paper") => Convention::Paper,
        Some(other) => return Err(bad("convention", other, "code or paper")),
    };
    if o.bootstrap > 10_000 {
        return Err(FitError::Input(format!(
            "{} bootstrap resamples is more than the limit of 10000",
            o.bootstrap
        )));
    }
    let objective = Objective {
        penalty,
        scale,
        over_prediction_weight: o.over_prediction_weight.unwrap_or(1.0),
    };
    let fit_options = FitOptions {
        objective,
        fixed: o.fixed.clone(),
        bounds: o.bounds.clone(),
        bootstrap: o.bootstrap,
        seed: o.seed.unwrap_or(1),
        ..FitOptions::default()
    };
    if let Some(f) = o.exclude_first_fraction
        && !(0.0..1.0).contains(&f)
    {
        return Err(FitError::Input(format!(
            "exclude_first_fraction {f} is not in [0, 1)"
        )));
    }
    if let Some([a, b]) = o.exclude_ranges.iter().find(|[a, b]| a > b) {
        return Err(FitError::Input(format!(
            "the excluded range [{a}, {b}] ends before it starts"
        )));
    }
    let exclusion = Exclusion {
        before_step: o.exclude_before_step,
        first_fraction: o.exclude_first_fraction,
        highest_loss: o.exclude_highest,
        ranges: o.exclude_ranges.clone(),
    };
    Ok((
        fit_options,
        LawSettings {
            convention,
            ..LawSettings::default()
        },
        exclusion,
    ))
}

/// Runs a fit to completion (blocking: call from a blocking thread).
pub fn run(
    request: &FitRequest,
    train: &[RunDetail],
    holdout: &[RunDetail],
    control: Arc<Control>,
) -> Result<(Vec<f64>, shared::api::FitReport), FitError> {
    let (mut fit_options, settings, exclusion) = options(request)?;
    fit_options.control = control;
    let holdout_names: Vec<String> = holdout.iter().map(|r| r.summary.name.clone()).collect();
    let all: Vec<&RunDetail> = train.iter().chain(holdout).collect();
    let curves = || -> Result<Vec<laws::CurveRun>, FitError> {
        let schedules: BTreeMap<String, Schedule> = request
            .options
            .schedules
            .iter()
            .map(|(id, spec)| {
                spec.parse()
                    .map(|s| (id.clone(), s))
                    .map_err(|e| FitError::Input(format!("schedule of run {id}: {e}")))
            })
            .collect::<Result<_, _>>()?;
        all.iter()
            .map(|r| fit_input::curve_run(r, schedules.get(&r.summary.id.to_string())))
            .collect()
    };
    if request.law == compare::COMPARE {
        let laws = compare::parse_laws(&request.options.laws)?;
        let curves = curves()?;
        let n_points = curves.iter().map(|c| c.steps.len()).sum();
        let c = compare::compare(&laws, &curves, &exclusion, &settings, &fit_options)?;
        return Ok((Vec::new(), compare::as_report(c, n_points, &fit_options)));
    }
    let law = LawName::parse(&request.law)?;
    let prepared = if law.is_schedule_law() {
        laws::prepare_curves(law, &curves()?, &holdout_names, &exclusion, &settings)?
    } else {
        let mut rows = Vec::new();
        for r in &all {
            rows.extend(fit_input::table_rows(r)?);
        }
        laws::prepare_table(law, &rows, &holdout_names, &exclusion)?
    };
    // Weights are given by run id (checked by `validate`); the engine knows run names.
    for run in train {
        if let Some(&w) = request.options.run_weights.get(&run.summary.id.to_string()) {
            fit_options.run_weights.insert(run.summary.name.clone(), w);
        }
    }
    let fitted = fit(prepared, &fit_options)?;
    Ok((fitted.params, fitted.report))
}

/// The text report of a stored fit.
pub fn report_text(report: &shared::api::FitReport) -> String {
    report::text(report)
}
