//! A fit's own page (`/fits/{id}`, shareable): progress while it runs, then the
//! parameter table, per-run metrics (fitted and held out), the data with the fitted
//! curve and its bootstrap band, the residuals in a linked panel, and the text report.
//! Curves are computed in the browser by the `shared` law code the server fitted with.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use shared::api::{FitDetail, FitStatus, Progress, RunDetail, RunMetrics};
use shared::display::{Table, interpolate};
use shared::forecast::{CurveSettings, SCHEDULE_LAWS, predict, schedule_law};
use shared::schedule::{BeforeFirst, Schedule, reconstruct};

use crate::api;
use crate::components::chart::{Chart, Figure, Style, Trace, colour};
use crate::pages::comparison::ComparisonView;

/// Resolves after `ms` milliseconds (polling interval).
pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

fn fmt(v: f64) -> String {
    if v == 0.0 || (1e-3..1e5).contains(&v.abs()) {
        format!("{v:.5}")
    } else {
        format!("{v:.4e}")
    }
}

/// Per-step learning rates of a run, as the server builds them for the fit.
fn lrs_of(fit: &FitDetail, run: &RunDetail) -> Result<Vec<f64>, String> {
    let loss = run.points.get("loss").ok_or("no loss series")?;
    let len = loss.steps.last().map_or(0, |s| s.max(0.0) as usize + 1);
    if let Some(text) = fit
        .request
        .options
        .schedules
        .get(&run.summary.id.to_string())
    {
        let schedule: Schedule = text.parse().map_err(|e| format!("{e}"))?;
        return Ok(schedule.to_array_len(len.max(schedule.total() as usize)));
    }
    let lr = run.points.get("lr").ok_or("no learning rate")?;
    let points: Vec<(u64, f64)> = lr
        .steps
        .iter()
        .zip(&lr.values)
        .map(|(&s, &v)| (s.max(0.0) as u64, v))
        .collect();
    reconstruct(&points, len, BeforeFirst::RampFromZero).map_err(|e| e.to_string())
}

/// The chart of a finished schedule-law fit: data, fitted curves, bands, residuals.
fn curves_figure(fit: &FitDetail, runs: &[RunDetail]) -> Result<Figure, String> {
    let (Some(report), Some(params)) = (&fit.report, &fit.params) else {
        return Err("the fit has no parameters".into());
    };
    let settings = CurveSettings::from_json(&report.settings);
    let samples = report
        .bootstrap
        .as_ref()
        .map(|b| b.samples.clone())
        .unwrap_or_default();
    let mut traces = Vec::new();
    let mut residuals = Vec::new();
    let mut rows = Vec::new();
    for run in runs {
        let id = run.summary.id;
        let held = fit.request.holdout.contains(&id);
        let name = format!(
            "{}{}",
            run.summary.name,
            if held { " (held out)" } else { "" }
        );
        let lrs = lrs_of(fit, run).map_err(|e| format!("run {}: {e}", run.summary.name))?;
        let loss = &run.points["loss"];
        let steps: Vec<usize> = loss.steps.iter().map(|&s| s.max(0.0) as usize).collect();
        let every = (lrs.len() / 800).max(1);
        // From the first logged step: the law's early values (steps into warmup) dwarf the data.
        let first = steps.first().copied().unwrap_or(0).max(every);
        let grid: Vec<usize> = (first..lrs.len()).step_by(every).collect();
        let law =
            schedule_law(&fit.request.law, settings, &lrs, &grid).map_err(|e| e.to_string())?;
        let curve =
            predict(law.as_ref(), params, &samples, report.ci_level).map_err(|e| e.to_string())?;
        let at_data = schedule_law(&fit.request.law, settings, &lrs, &steps)
            .and_then(|l| l.predict(params))
            .map_err(|e| e.to_string())?;
        let grid_x: Vec<f64> = grid.iter().map(|&s| s as f64).collect();
        let c = colour(id);
        if let (Some(lo), Some(hi)) = (&curve.lower, &curve.upper) {
            traces.push(
                Trace::line(
                    format!("{name} band"),
                    grid_x.clone(),
                    hi.clone(),
                    c.clone(),
                )
                .with_style(Style::Band { lower: lo.clone() })
                .hidden_in_legend(),
            );
        }
        traces.push(
            Trace::line(
                format!("{name} data"),
                loss.steps.clone(),
                loss.values.clone(),
                c.clone(),
            )
            .with_style(Style::Markers { size: 4.0 }),
        );
        traces.push(
            Trace::line(
                format!("{name} fit"),
                grid_x.clone(),
                curve.loss.clone(),
                c.clone(),
            )
            .with_style(Style::Line {
                width: 2.0,
                faint: false,
                dash: held,
            }),
        );
        let res: Vec<f64> = loss
            .values
            .iter()
            .zip(&at_data)
            .map(|(y, p)| y - p)
            .collect();
        residuals.push(
            Trace::line(
                format!("{name} residual"),
                loss.steps.clone(),
                res.clone(),
                c,
            )
            .with_style(Style::Markers { size: 3.0 })
            .in_lower()
            .hidden_in_legend(),
        );
        for i in 0..steps.len() {
            let band = |b: &Option<Vec<f64>>| {
                b.as_ref()
                    .and_then(|b| interpolate(&grid_x, b, loss.steps[i]))
                    .unwrap_or(f64::NAN)
            };
            rows.push((
                run.summary.name.clone(),
                vec![
                    loss.steps[i],
                    loss.values[i],
                    at_data[i],
                    res[i],
                    band(&curve.lower),
                    band(&curve.upper),
                ],
            ));
        }
    }
    traces.extend(residuals);
    Ok(Figure {
        traces,
        x_title: "step".into(),
        y_title: "loss".into(),
        lower_title: Some("residual".into()),
        revision: format!("fit-{}", fit.summary.id),
        table: Table {
            columns: [
                "run", "step", "loss", "fitted", "residual", "lower", "upper",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        }
        .into(),
        ..Default::default()
    })
}

/// Where the page first saw the current stage: (stage, units done, ms timestamp).
type StageSeen = Option<(String, u64, f64)>;

/// What a queued or running fit is doing, from the server's `progress`; with the time
/// left, extrapolated from the pace this page has seen (`first`, and `now` in ms).
fn progress_text(
    status: Option<FitStatus>,
    progress: Option<&Progress>,
    first: &StageSeen,
    now: f64,
) -> String {
    let Some(p) = progress.filter(|p| p.total > 0) else {
        return if status == Some(FitStatus::Queued) {
            "waiting for the fits before it".into()
        } else {
            "fitting...".into()
        };
    };
    let what = match p.stage.as_str() {
        "bootstrap" => format!("bootstrap: {} of {} resamples", p.done, p.total),
        "starts" => format!("fitting: {} of {} starts", p.done, p.total),
        stage => format!("{stage}: {} of {}", p.done, p.total),
    };
    match first {
        Some((stage, done, at)) if *stage == p.stage && p.done > *done && now > *at => {
            let per_unit = (now - at) / 1e3 / (p.done - done) as f64;
            let left = per_unit * p.total.saturating_sub(p.done) as f64;
            format!("{what}, about {} left", seconds(left))
        }
        _ => what,
    }
}

/// A duration for people: "12 s", "3 min".
fn seconds(s: f64) -> String {
    if s < 90.0 {
        format!("{:.0} s", s.max(1.0))
    } else {
        format!("{:.0} min", s / 60.0)
    }
}

#[component]
pub fn FitPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|s| s.parse::<i64>().ok());
    let fit = RwSignal::new(None::<FitDetail>);
    let runs = RwSignal::new(Vec::<RunDetail>::new());
    let error = RwSignal::new(None::<String>);
    // The first sight of the running stage, and the time of the latest poll (for the
    // time left).
    let stage_seen = RwSignal::new(StageSeen::None);
    let polled_at = RwSignal::new(0.0f64);
    let cancel_error = RwSignal::new(None::<String>);
    let alive = Arc::new(AtomicBool::new(true));
    let alive2 = alive.clone();
    on_cleanup(move || alive2.store(false, Ordering::Relaxed));

    Effect::new(move |_| {
        let Some(id) = id() else {
            error.set(Some("this address names no fit: /fits/NUMBER".into()));
            return;
        };
        let alive = alive.clone();
        spawn_local(async move {
            loop {
                match api::get_fit(id).await {
                    Ok(detail) => {
                        let status = detail.summary.status;
                        let done = status == FitStatus::Done;
                        let ids = detail.request.all_runs();
                        let schedule_law = SCHEDULE_LAWS.contains(&detail.request.law.as_str());
                        if let Some(p) = &detail.progress
                            && stage_seen
                                .with_untracked(|s| s.as_ref().is_none_or(|s| s.0 != p.stage))
                        {
                            stage_seen.set(Some((p.stage.clone(), p.done, js_sys::Date::now())));
                        }
                        fit.set(Some(detail));
                        if !matches!(status, FitStatus::Queued | FitStatus::Running) {
                            if done && schedule_law {
                                let (loaded, errors) = api::get_runs(ids).await;
                                if let Some(e) = errors.into_iter().next() {
                                    error.set(Some(e));
                                }
                                runs.set(loaded);
                            }
                            break;
                        }
                    }
                    Err(e) => {
                        error.set(Some(e));
                        break;
                    }
                }
                if !alive.load(Ordering::Relaxed) {
                    break;
                }
                polled_at.set(js_sys::Date::now());
                sleep(400).await;
            }
        });
    });

    let figure_result = Memo::new(move |_| {
        let f = fit.get()?;
        let r = runs.get();
        if r.is_empty() {
            return None;
        }
        Some(curves_figure(&f, &r))
    });
    let figure = Signal::derive(move || match figure_result.get() {
        Some(Ok(f)) => f,
        _ => Figure::default(),
    });
    let status = move || fit.with(|f| f.as_ref().map(|f| f.summary.status));
    let progress = move || fit.with(|f| f.as_ref().and_then(|f| f.progress.clone()));
    let report = move || fit.with(|f| f.as_ref().and_then(|f| f.report.clone()));

    let metrics_rows = move |rows: Vec<RunMetrics>, role: &'static str| {
        rows.into_iter()
            .map(|m| {
                view! {
                    <tr>
                        <td>{m.run}</td><td>{role}</td><td class="num">{m.n_points}</td>
                        <td class="num">{m.r2.map(fmt).unwrap_or_else(|| "-".into())}</td>
                        <td class="num">{fmt(m.rmse)}</td>
                        <td class="num">{format!("{:.3}%", 100.0 * m.mean_rel_error)}</td>
                        <td class="num">{format!("{:.3}%", 100.0 * m.worst_rel_error)}</td>
                    </tr>
                }
            })
            .collect_view()
    };

    view! {
        <div class="page fit-page">
            <section class="panel">
                <div class="toolbar">
                    <h2>{move || format!("Fit {}", id().map(|i| i.to_string()).unwrap_or_default())}</h2>
                    <span class="meta">{move || fit.with(|f| f.as_ref().map(|f| f.request.law.clone()).unwrap_or_default())}</span>
                    <span id="fit-status" class=move || format!("status {}", status().map(|s| format!("{s:?}").to_lowercase()).unwrap_or_default())>
                        {move || status().map(|s| format!("{s:?}").to_lowercase()).unwrap_or_else(|| "loading".into())}
                    </span>
                    <Show when=move || matches!(status(), Some(FitStatus::Queued | FitStatus::Running))>
                        <span class="progress" role="status" id="fit-progress">
                            <span class="spinner"></span>
                            {move || stage_seen.with(|first| progress_text(status(), progress().as_ref(), first, polled_at.get()))}
                            <Show when=move || progress().is_some_and(|p| p.total > 0)>
                                <progress max=move || progress().map(|p| p.total).unwrap_or(1)
                                    value=move || progress().map(|p| p.done).unwrap_or(0)></progress>
                            </Show>
                        </span>
                        <button id="cancel-fit" on:click=move |_| {
                            let Some(id) = id() else { return };
                            cancel_error.set(None);
                            spawn_local(async move {
                                match api::cancel_fit(id).await {
                                    // The polling loop stops on the new status.
                                    Ok(summary) => fit.update(|f| if let Some(f) = f { f.summary.status = summary.status }),
                                    Err(e) => cancel_error.set(Some(format!("cannot cancel: {e}"))),
                                }
                            });
                        }>"Cancel"</button>
                    </Show>
                    <Show when=move || cancel_error.get().is_some()>
                        <span class="error" role="alert" id="cancel-error">{move || cancel_error.get().unwrap_or_default()}</span>
                    </Show>
                    <span class="meta">"This page's address is the fit's link: share it to show this fit."</span>
                </div>
                <Show when=move || error.get().is_some()>
                    <p class="error" role="alert">{move || error.get().unwrap_or_default()}</p>
                </Show>
                <Show when=move || fit.with(|f| f.as_ref().and_then(|f| f.summary.error.clone()).is_some())>
                    <p class="error" role="alert" id="fit-failure">{move || fit.with(|f| f.as_ref().and_then(|f| f.summary.error.clone()).unwrap_or_default())}</p>
                </Show>
                {move || report().and_then(|r| r.comparison).map(|c| view! { <ComparisonView comparison=c/> })}
                <Show when=move || report().is_some_and(|r| r.comparison.is_none())>
                    <h3>"Parameters"</h3>
                    <table class="data-table" id="param-table">
                        <thead><tr><th>"name"</th><th>"value"</th><th>"stderr"</th><th>{move || report().map(|r| format!("{:.0}% CI", 100.0 * r.ci_level)).unwrap_or_default()}</th><th>"meaning"</th></tr></thead>
                        <tbody>
                            {move || report().map(|r| r.params.into_iter().map(|p| view! {
                                <tr>
                                    <td>{p.name.clone()}{if p.fixed { " (fixed)" } else { "" }}</td>
                                    <td class="num" data-param=p.name.clone()>{fmt(p.value)}</td>
                                    <td class="num">{p.stderr.map(fmt).unwrap_or_else(|| p.stderr_missing.clone().unwrap_or_else(|| "-".into()))}</td>
                                    <td class="num">{p.ci.map(|[a, b]| format!("[{}, {}]", fmt(a), fmt(b))).unwrap_or_else(|| "-".into())}</td>
                                    <td class="meta">{p.meaning.clone()}</td>
                                </tr>
                            }).collect_view())}
                        </tbody>
                    </table>
                    <h3>"Per-run errors"</h3>
                    <table class="data-table" id="metrics-table">
                        <thead><tr><th>"run"</th><th>"role"</th><th>"points"</th><th>"R²"</th><th>"RMSE"</th><th>"mean rel. error"</th><th>"worst rel. error"</th></tr></thead>
                        <tbody>
                            {move || report().map(|r| view! { {metrics_rows(r.train, "fitted")} {metrics_rows(r.holdout, "held out")} })}
                        </tbody>
                    </table>
                    <ul class="notes">
                        {move || report().map(|r| r.warnings.into_iter().map(|w| view! { <li>{w}</li> }).collect_view())}
                    </ul>
                </Show>
            </section>
            <Show when=move || figure_result.with(|f| f.is_some())>
                <section class="panel">
                    <h3>"Data, fitted curves (dashed: held out) and residuals"</h3>
                    <Show when=move || figure_result.with(|f| matches!(f, Some(Err(_))))>
                        <p class="error" role="alert">{move || figure_result.with(|f| match f { Some(Err(e)) => e.clone(), _ => String::new() })}</p>
                    </Show>
                    <Chart figure=figure id="fit-chart"/>
                </section>
            </Show>
            <Show when=move || fit.with(|f| f.as_ref().is_some_and(|f| f.request.law == "chinchilla" && f.summary.status == FitStatus::Done))>
                <p class="panel"><A href=move || format!("/scaling?fit={}", id().unwrap_or_default())>"Compute-optimal plan from this fit"</A></p>
            </Show>
            <Show when=move || fit.with(|f| f.as_ref().is_some_and(|f| SCHEDULE_LAWS.contains(&f.request.law.as_str()) && f.summary.status == FitStatus::Done))>
                <p class="panel"><A href=move || format!("/forecast?fit={}", id().unwrap_or_default())>"Forecast other schedules with this fit"</A></p>
            </Show>
            <Show when=move || fit.with(|f| f.as_ref().and_then(|f| f.report_text.clone()).is_some())>
                <section class="panel">
                    <h3>"Report"</h3>
                    <pre id="report-text" class="report">{move || fit.with(|f| f.as_ref().and_then(|f| f.report_text.clone()).unwrap_or_default())}</pre>
                </section>
            </Show>
        </div>
    }
}
