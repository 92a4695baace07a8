//! The Forecast page: design learning-rate schedules and see a fitted schedule law's
//! predicted loss curve update as fields change, computed in the browser by the
//! `shared` law code (no server round trip); several candidates overlaid with the
//! observed runs, their final losses and the best one. A candidate that leaves what the
//! fit saw (peak LR, length, schedule family: `shared::extrapolation`, the server's rules)
//! shows its warnings in a row beneath it. The fit and the candidates are kept in the
//! address (`?fit=ID&c=CANDIDATE;CANDIDATE`), so a forecast is shareable.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;
use shared::api::{Coverage, FitDetail, ForecastWarning, RunDetail};
use shared::display::Table;
use shared::extrapolation::{check, short};
use shared::forecast::{CurveSettings, SCHEDULE_LAWS, predict, schedule_law};
use shared::schedule::Schedule;

use crate::api;
use crate::components::chart::{Chart, Figure, Style, Trace, colour};

/// One candidate schedule, as the user types it.
#[derive(Clone, Debug, PartialEq)]
struct Candidate {
    family: String,
    peak: String,
    final_lr: String,
    warmup: String,
    total: String,
    decay: String,
    shape: String,
}

impl Candidate {
    /// The schedule's text form (parsed by `shared`, which names a bad field).
    fn spec(&self) -> String {
        let mut s = format!(
            "{}:peak={},warmup={},total={}",
            self.family, self.peak, self.warmup, self.total
        );
        if self.family != "constant" {
            s.push_str(&format!(",final={}", self.final_lr));
        }
        if self.family == "wsd" {
            s.push_str(&format!(",decay={},shape={}", self.decay, self.shape));
        }
        s
    }
}

impl Candidate {
    /// Every field as typed, for the address: `family:peak=..,final=..,warmup=..,...`.
    fn url_text(&self) -> String {
        format!(
            "{}:peak={},final={},warmup={},total={},decay={},shape={}",
            self.family, self.peak, self.final_lr, self.warmup, self.total, self.decay, self.shape
        )
    }

    /// The inverse of [`Candidate::url_text`]; missing fields keep the defaults.
    fn from_url_text(text: &str) -> Option<Self> {
        let (family, rest) = text.split_once(':')?;
        let mut c = default_candidates().remove(0);
        c.family = family.to_string();
        for pair in rest.split(',') {
            let (key, value) = pair.split_once('=')?;
            let value = value.to_string();
            match key {
                "peak" => c.peak = value,
                "final" => c.final_lr = value,
                "warmup" => c.warmup = value,
                "total" => c.total = value,
                "decay" => c.decay = value,
                "shape" => c.shape = value,
                _ => return None,
            }
        }
        Some(c)
    }
}

/// Replaces the address (no navigation, no history entry) with the fit and candidates.
fn keep_in_address(fit: Option<i64>, candidates: &[Candidate]) {
    let list: Vec<String> = candidates.iter().map(Candidate::url_text).collect();
    let mut url = String::from("/forecast?");
    if let Some(id) = fit {
        url.push_str(&format!("fit={id}&"));
    }
    url.push_str("c=");
    url.push_str(&String::from(js_sys::encode_uri_component(&list.join(";"))));
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

/// A candidate's forecast: curve (steps, loss, band) or why there is none.
#[derive(Clone, Debug, PartialEq)]
struct Forecast {
    steps: Vec<f64>,
    loss: Vec<f64>,
    lower: Option<Vec<f64>>,
    upper: Option<Vec<f64>>,
    /// Where the candidate leaves what the fit saw.
    warnings: Vec<ForecastWarning>,
}

fn forecast(fit: &FitDetail, c: &Candidate) -> Result<Forecast, String> {
    let (Some(report), Some(params)) = (&fit.report, &fit.params) else {
        return Err("the fit has no parameters".into());
    };
    let schedule: Schedule = c.spec().parse().map_err(|e| format!("{e}"))?;
    if schedule.total() > 2_000_000 {
        return Err("total: at most 2,000,000 steps in the browser".into());
    }
    let lrs = schedule.to_array();
    let warnings = check(report.coverage.as_ref(), &lrs, lrs.len());
    let every = (lrs.len() / 400).max(1);
    // From the end of warmup: the law's values during warmup dwarf the rest of the curve.
    let first = (schedule.warmup() as usize).div_ceil(every).max(1) * every;
    let steps: Vec<usize> = (first..lrs.len()).step_by(every).collect();
    let law = schedule_law(
        &fit.request.law,
        CurveSettings::from_json(&report.settings),
        &lrs,
        &steps,
    )
    .map_err(|e| e.to_string())?;
    let samples = report
        .bootstrap
        .as_ref()
        .map(|b| b.samples.clone())
        .unwrap_or_default();
    let curve =
        predict(law.as_ref(), params, &samples, report.ci_level).map_err(|e| e.to_string())?;
    Ok(Forecast {
        steps: steps.iter().map(|&s| s as f64).collect(),
        loss: curve.loss,
        lower: curve.lower,
        upper: curve.upper,
        warnings,
    })
}

/// What the fit covers, in one line above the candidates.
fn coverage_line(c: &Coverage) -> String {
    let [lo, hi] = c.peak_lr;
    let peak = if lo == hi {
        short(lo)
    } else {
        format!("{} to {}", short(lo), short(hi))
    };
    format!(
        "Fitted on: peak LR {peak}, runs up to step {}, schedules {}. Candidates beyond that (1% on the peak LR, {} steps) are flagged.",
        c.last_step,
        c.families.join(", "),
        c.horizon_limit()
    )
}

fn default_candidates() -> Vec<Candidate> {
    let base = Candidate {
        family: "cosine".into(),
        peak: "3e-4".into(),
        final_lr: "3e-5".into(),
        warmup: "2160".into(),
        total: "24000".into(),
        decay: "0.2".into(),
        shape: "sqrt".into(),
    };
    let wsd = Candidate {
        family: "wsd".into(),
        ..base.clone()
    };
    vec![base, wsd]
}

#[component]
pub fn ForecastPage() -> impl IntoView {
    let query = use_query_map();
    let error = RwSignal::new(None::<String>);
    let (fits, fit_id) = super::choose_fit(&SCHEDULE_LAWS, error);
    let fit = RwSignal::new(None::<FitDetail>);
    let observed = RwSignal::new(Vec::<RunDetail>::new());
    let from_address: Vec<Candidate> = query
        .read_untracked()
        .get("c")
        .map(|c| c.split(';').filter_map(Candidate::from_url_text).collect())
        .unwrap_or_default();
    let candidates = RwSignal::new(if from_address.is_empty() {
        default_candidates()
    } else {
        from_address
    });
    Effect::new(move |_| candidates.with(|c| keep_in_address(fit_id.get(), c)));

    Effect::new(move |_| {
        let Some(id) = fit_id.get() else { return };
        spawn_local(async move {
            match api::get_fit(id).await {
                Ok(detail) => {
                    let ids = detail.request.all_runs();
                    fit.set(Some(detail));
                    let (runs, errors) = api::get_runs(ids).await;
                    if let Some(e) = errors.into_iter().next() {
                        error.set(Some(e));
                    }
                    observed.set(runs);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    });

    let results = Memo::new(move |_| {
        let f = fit.get()?;
        Some(candidates.with(|cs| cs.iter().map(|c| forecast(&f, c)).collect::<Vec<_>>()))
    });
    let best = Memo::new(move |_| {
        results.with(|r| {
            r.as_ref()?
                .iter()
                .enumerate()
                .filter_map(|(i, f)| Some((i, *f.as_ref().ok()?.loss.last()?)))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(i, _)| i)
        })
    });
    let figure = Signal::derive(move || {
        let mut traces = Vec::new();
        let mut rows = Vec::new();
        for run in observed.get() {
            if let Some(loss) = run.points.get("loss") {
                traces.push(
                    Trace::line(
                        format!("{} (observed)", run.summary.name),
                        loss.steps.clone(),
                        loss.values.clone(),
                        "#888888".into(),
                    )
                    .with_style(Style::Line {
                        width: 1.0,
                        faint: true,
                        dash: false,
                    }),
                );
            }
        }
        results.with(|r| {
            for (i, f) in r.iter().flatten().enumerate() {
                let Ok(f) = f else { continue };
                let name = format!("candidate {}", i + 1);
                let c = colour(i as i64);
                if let (Some(lo), Some(hi)) = (&f.lower, &f.upper) {
                    traces.push(
                        Trace::line(
                            format!("{name} band"),
                            f.steps.clone(),
                            hi.clone(),
                            c.clone(),
                        )
                        .with_style(Style::Band { lower: lo.clone() })
                        .hidden_in_legend(),
                    );
                }
                traces.push(Trace::line(
                    name.clone(),
                    f.steps.clone(),
                    f.loss.clone(),
                    c,
                ));
                for k in 0..f.steps.len() {
                    let b = |v: &Option<Vec<f64>>| v.as_ref().map_or(f64::NAN, |v| v[k]);
                    rows.push((
                        name.clone(),
                        vec![f.steps[k], f.loss[k], b(&f.lower), b(&f.upper)],
                    ));
                }
            }
        });
        Figure {
            traces,
            x_title: "step".into(),
            y_title: "predicted loss".into(),
            revision: format!("forecast-{:?}", fit_id.get()),
            table: Table {
                columns: ["candidate", "step", "loss", "lower", "upper"]
                    .map(String::from)
                    .to_vec(),
                rows,
            }
            .into(),
            ..Default::default()
        }
    });

    let warnings_of = move |i: usize| {
        results.with(|r| {
            r.as_ref()
                .and_then(|r| r.get(i))
                .and_then(|f| f.as_ref().ok())
                .map(|f| f.warnings.clone())
                .unwrap_or_default()
        })
    };
    let coverage = move || {
        fit.with(|f| {
            f.as_ref()
                .and_then(|f| f.report.as_ref())
                .and_then(|r| r.coverage.as_ref())
                .map(coverage_line)
        })
    };

    // Rows are rebuilt only when the number of candidates changes, so typing keeps focus.
    let count = Memo::new(move |_| candidates.with(Vec::len));
    let field = move |i: usize,
                      name: &'static str,
                      get: fn(&Candidate) -> String,
                      set: fn(&mut Candidate, String)| {
        view! {
            <input id=format!("cand-{i}-{name}") aria-label=format!("candidate {} {name}", i + 1) size="8"
                prop:value=move || candidates.with(|c| c.get(i).map(get).unwrap_or_default())
                on:input=move |ev| { let v = event_target_value(&ev); candidates.update(|c| if let Some(c) = c.get_mut(i) { set(c, v) }); }/>
        }
    };

    view! {
        <div class="page forecast-page">
            <section class="panel">
                <div class="toolbar">
                    <h2>"Forecast"</h2>
                    <label>"fit "
                        <select id="forecast-fit" on:change=move |ev| fit_id.set(event_target_value(&ev).parse().ok())>
                            <For each=move || fits.get() key=|f| f.id let:f>
                                <option value=f.id.to_string() selected=move || fit_id.get() == Some(f.id)>{format!("fit {} ({})", f.id, f.law)}</option>
                            </For>
                        </select>
                    </label>
                    <span class="meta">"Curves are computed in your browser as you type."</span>
                </div>
                <Show when=move || fits.with(Vec::is_empty) && fit_id.get().is_none()>
                    <p class="empty">"No finished schedule-law fit (momentum, multi-power, FSL, convex bound, S1 power law) yet: run one on the Fit page."</p>
                </Show>
                <Show when=move || error.get().is_some()>
                    <p class="error" role="alert">{move || error.get().unwrap_or_default()}</p>
                </Show>
                <Show when=move || coverage().is_some()>
                    <p class="meta" id="forecast-coverage">{move || coverage().unwrap_or_default()}</p>
                </Show>
                <table class="data-table candidates">
                    <thead><tr><th></th><th>"family"</th><th>"peak LR"</th><th>"final LR"</th><th>"warmup"</th><th>"steps"</th><th>"WSD decay fraction"</th><th>"decay shape"</th><th>"final loss"</th><th></th></tr></thead>
                    <tbody>
                        {move || (0..count.get()).map(|i| view! {
                            <tr class:best=move || best.get() == Some(i) class:warned=move || !warnings_of(i).is_empty()>
                                <td>
                                    <span class="swatch" style=format!("background:{}", colour(i as i64))></span>{format!("{}", i + 1)}
                                    <Show when=move || !warnings_of(i).is_empty()>
                                        <span class="warn-mark" title="outside what the fit saw: see below">" ⚠"</span>
                                    </Show>
                                </td>
                                <td>
                                    <select id=format!("cand-{i}-family") aria-label="family"
                                        prop:value=move || candidates.with(|c| c.get(i).map(|c| c.family.clone()).unwrap_or_default())
                                        on:change=move |ev| { let v = event_target_value(&ev); candidates.update(|c| if let Some(c) = c.get_mut(i) { c.family = v }); }>
                                        <option value="constant">"constant"</option>
                                        <option value="cosine">"cosine"</option>
                                        <option value="linear">"linear"</option>
                                        <option value="wsd">"WSD"</option>
                                    </select>
                                </td>
                                <td>{field(i, "peak", |c| c.peak.clone(), |c, v| c.peak = v)}</td>
                                <td>{field(i, "final", |c| c.final_lr.clone(), |c, v| c.final_lr = v)}</td>
                                <td>{field(i, "warmup", |c| c.warmup.clone(), |c, v| c.warmup = v)}</td>
                                <td>{field(i, "total", |c| c.total.clone(), |c, v| c.total = v)}</td>
                                <td>{field(i, "decay", |c| c.decay.clone(), |c, v| c.decay = v)}</td>
                                <td>
                                    <select id=format!("cand-{i}-shape") aria-label="decay shape"
                                        prop:value=move || candidates.with(|c| c.get(i).map(|c| c.shape.clone()).unwrap_or_default())
                                        on:change=move |ev| { let v = event_target_value(&ev); candidates.update(|c| if let Some(c) = c.get_mut(i) { c.shape = v }); }>
                                        <option value="linear">"linear"</option>
                                        <option value="sqrt">"1 - sqrt"</option>
                                        <option value="cosine">"cosine"</option>
                                        <option value="square">"1 - square"</option>
                                        <option value="geometric">"geometric"</option>
                                    </select>
                                </td>
                                <td class="num" id=format!("cand-{i}-result")>
                                    {move || results.with(|r| match r.as_ref().and_then(|r| r.get(i)) {
                                        Some(Ok(f)) => f.loss.last().map(|v| format!("{v:.4}")).unwrap_or_default(),
                                        Some(Err(e)) => e.clone(),
                                        None => String::new(),
                                    })}
                                </td>
                                <td><button class="small" aria-label=format!("remove candidate {}", i + 1)
                                    on:click=move |_| candidates.update(|c| if c.len() > 1 { c.remove(i); })>"remove"</button></td>
                            </tr>
                            <tr class="candidate-warnings" hidden=move || warnings_of(i).is_empty()>
                                <td></td>
                                <td colspan="9">
                                    <ul class="forecast-warnings" id=format!("cand-{i}-warnings") aria-label=format!("warnings of candidate {}", i + 1)>
                                        {move || warnings_of(i).into_iter().map(|w| view! {
                                            <li data-code=w.code>{w.message}</li>
                                        }).collect_view()}
                                    </ul>
                                </td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                <div class="toolbar">
                    <button class="small" id="add-candidate" on:click=move |_| candidates.update(|c| { let last = c.last().cloned().unwrap_or_else(|| default_candidates()[0].clone()); c.push(last); })>"add a candidate"</button>
                    <span id="best-candidate">{move || best.get().map(|i| format!(
                        "Best: candidate {} (lowest final loss{})",
                        i + 1,
                        if warnings_of(i).is_empty() { "" } else { "; outside what the fit saw: see its warnings" }
                    )).unwrap_or_default()}</span>
                </div>
            </section>
            <section class="panel">
                <Chart figure=figure id="forecast-chart"/>
            </section>
        </div>
    }
}
