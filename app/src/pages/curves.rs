//! The Curves page: loss of the ticked runs against step, tokens or FLOPs, with
//! TensorBoard-style smoothing (raw faint, smoothed bold), log toggles, per-run
//! show/hide and the learning rate in a linked lower panel.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use shared::api::{RunDetail, RunSummary};
use shared::display::{Table, debiased_ema, interpolate};

use crate::api;
use crate::app::Selection;
use crate::components::chart::{Chart, Figure, Style, TableSource, Trace, colour};

/// The quantity on the x axis.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum XAxis {
    Step,
    Tokens,
    Flops,
}

impl XAxis {
    fn name(self) -> &'static str {
        match self {
            XAxis::Step => "step",
            XAxis::Tokens => "tokens",
            XAxis::Flops => "flops",
        }
    }
}

/// `steps` of `run` as the chosen x quantity; `None` when the run cannot say.
fn x_of(run: &RunDetail, steps: &[f64], axis: XAxis) -> Option<Vec<f64>> {
    let attrs = &run.summary.attrs;
    let tokens = || -> Option<Vec<f64>> {
        if let Some(t) = run.points.get("tokens") {
            return steps
                .iter()
                .map(|&s| interpolate(&t.steps, &t.values, s))
                .collect();
        }
        let per_step = attrs.get("tokens_per_step")?;
        Some(steps.iter().map(|s| s * per_step).collect())
    };
    match axis {
        XAxis::Step => Some(steps.to_vec()),
        XAxis::Tokens => tokens(),
        XAxis::Flops => {
            if let Some(f) = run.points.get("flops") {
                return steps
                    .iter()
                    .map(|&s| interpolate(&f.steps, &f.values, s))
                    .collect();
            }
            let n = attrs.get("n_params")?;
            Some(tokens()?.iter().map(|t| 6.0 * n * t).collect())
        }
    }
}

/// A shown run's lines at full resolution (shared with the chart's traces).
struct RunLine {
    id: i64,
    name: String,
    x: Arc<[f64]>,
    loss: Arc<[f64]>,
    lr: Option<(Arc<[f64]>, Arc<[f64]>)>,
}

/// The lines of the shown runs, and why any ticked run is not among them.
#[derive(Default)]
struct ShownLines {
    runs: Vec<RunLine>,
    skipped: Vec<String>,
}

/// The long-format table of the shown runs: x, raw and smoothed loss at full resolution.
fn export_table(
    details: RwSignal<HashMap<i64, RunDetail>>,
    selected: Vec<i64>,
    hidden: Vec<i64>,
    weight: f64,
    axis: XAxis,
) -> Table {
    let mut rows = Vec::new();
    details.with_untracked(|d| {
        for id in selected.iter().filter(|id| !hidden.contains(id)) {
            let Some(run) = d.get(id) else { continue };
            let Some(loss) = run.points.get("loss") else {
                continue;
            };
            let Some(x) = x_of(run, &loss.steps, axis) else {
                continue;
            };
            let smooth = debiased_ema(&loss.values, weight);
            for i in 0..x.len() {
                rows.push((
                    run.summary.name.clone(),
                    vec![x[i], loss.values[i], smooth[i]],
                ));
            }
        }
    });
    Table {
        columns: vec![
            "run".into(),
            axis.name().into(),
            "loss".into(),
            "smoothed".into(),
        ],
        rows,
    }
}

#[component]
pub fn CurvesPage() -> impl IntoView {
    let Selection(selected) = expect_context::<Selection>();
    let runs = RwSignal::new(Vec::<RunSummary>::new());
    let details = RwSignal::new(HashMap::<i64, RunDetail>::new());
    let hidden = RwSignal::new(Vec::<i64>::new());
    let error = RwSignal::new(None::<String>);
    let loading = RwSignal::new(0usize);
    let log_x = RwSignal::new(false);
    let log_y = RwSignal::new(false);
    let smoothing = RwSignal::new(0.6f64);
    // The slider's value shows at once; the redraw (hundreds of ms at 1,000,000 points)
    // follows after a paint, with "redrawing..." meanwhile; fast slides coalesce.
    let slider = RwSignal::new(0.6f64);
    let redrawing = RwSignal::new(false);
    let on_slide = move |v: f64| {
        slider.set(v);
        redrawing.set(true);
        // After the next paint: an animation frame, then a task.
        request_animation_frame(move || {
            set_timeout(
                move || {
                    let v = slider.get_untracked();
                    if smoothing.get_untracked() != v {
                        smoothing.set(v);
                    }
                    redrawing.set(false);
                },
                std::time::Duration::ZERO,
            )
        });
    };
    let x_axis = RwSignal::new(XAxis::Step);
    let lr_panel = RwSignal::new(true);

    spawn_local(async move {
        match api::list_runs().await {
            Ok(list) => {
                if selected.get_untracked().is_empty() {
                    selected.set(list.iter().map(|r| r.id).take(5).collect());
                }
                runs.set(list);
            }
            Err(e) => error.set(Some(e)),
        }
    });

    // Fetch the points of newly ticked runs.
    Effect::new(move |_| {
        for id in selected.get() {
            if details.with_untracked(|d| d.contains_key(&id)) {
                continue;
            }
            loading.update(|n| *n += 1);
            spawn_local(async move {
                match api::get_run(id).await {
                    Ok(run) => details.update(|d| {
                        d.insert(id, run);
                    }),
                    Err(e) => error.set(Some(format!("run {id}: {e}"))),
                }
                loading.update(|n| *n -= 1);
            });
        }
    });

    // The shown runs' lines at full resolution, rebuilt only when the runs, their data or
    // the x quantity change (and then always new): a smoothing change reuses them, and the
    // chart their downsampled copies.
    let lines = Memo::new_with_compare(
        move |_| {
            let axis = x_axis.get();
            let hide = hidden.get();
            details.with(|d| {
            let mut shown = ShownLines::default();
            for id in selected.get() {
                let Some(run) = d.get(&id) else { continue };
                if hide.contains(&id) {
                    continue;
                }
                let name = &run.summary.name;
                let Some(loss) = run.points.get("loss") else {
                    shown.skipped.push(format!("{name} has no loss series"));
                    continue;
                };
                let Some(x) = x_of(run, &loss.steps, axis) else {
                    shown.skipped.push(format!("{name} has no {} (no tokens series or tokens_per_step / n_params attribute)", axis.name()));
                    continue;
                };
                let lr = run.points.get("lr").and_then(|lr| {
                    Some((x_of(run, &lr.steps, axis)?.into(), lr.values.as_slice().into()))
                });
                shown.runs.push(RunLine {
                    id,
                    name: name.clone(),
                    x: x.into(),
                    loss: loss.values.as_slice().into(),
                    lr,
                });
            }
            shown
        })
        },
        |_, _| true,
    );
    let missing = Signal::derive(move || lines.with(|l| l.skipped.clone()));
    let figure = Signal::derive(move || {
        let axis = x_axis.get();
        let w = smoothing.get();
        let (lx, ly) = (log_x.get(), log_y.get());
        let mut traces = Vec::new();
        let mut lr_traces = Vec::new();
        lines.with(|l| {
            for run in &l.runs {
                let c = colour(run.id);
                let name = &run.name;
                if w > 0.0 {
                    traces.push(
                        Trace::line(
                            format!("{name} (raw)"),
                            run.x.clone(),
                            run.loss.clone(),
                            c.clone(),
                        )
                        .with_style(Style::Line {
                            width: 1.0,
                            faint: true,
                            dash: false,
                        })
                        .hidden_in_legend(),
                    );
                }
                let smooth: Arc<[f64]> = if w > 0.0 {
                    debiased_ema(&run.loss, w).into()
                } else {
                    run.loss.clone()
                };
                traces.push(Trace::line(name.clone(), run.x.clone(), smooth, c.clone()));
                if let Some((lr_x, lr_y)) = &run.lr {
                    lr_traces.push(
                        Trace::line(format!("{name} lr"), lr_x.clone(), lr_y.clone(), c)
                            .with_style(Style::Line {
                                width: 1.5,
                                faint: false,
                                dash: false,
                            })
                            .in_lower()
                            .hidden_in_legend(),
                    );
                }
            }
        });
        let with_lr = lr_panel.get() && !lr_traces.is_empty();
        if with_lr {
            traces.extend(lr_traces);
        }
        Figure {
            traces,
            x_title: axis.name().into(),
            y_title: "loss".into(),
            log_x: lx,
            log_y: ly,
            lower_title: with_lr.then(|| "learning rate".to_string()),
            lower_log_y: false,
            contour: None,
            // Zoom survives smoothing and show/hide; it resets when an axis changes.
            revision: format!("{}-{lx}-{ly}-{with_lr}", axis.name()),
            // Built on export only, from what is shown then.
            table: TableSource::lazy(move || {
                export_table(
                    details,
                    selected.get_untracked(),
                    hidden.get_untracked(),
                    smoothing.get_untracked(),
                    x_axis.get_untracked(),
                )
            }),
        }
    });

    let toggle_hidden = move |id: i64| {
        hidden.update(|h| match h.iter().position(|&x| x == id) {
            Some(pos) => {
                h.remove(pos);
            }
            None => h.push(id),
        })
    };
    let names = move || -> BTreeMap<i64, String> {
        runs.with(|r| r.iter().map(|r| (r.id, r.name.clone())).collect())
    };

    view! {
        <div class="page curves-page">
            <aside class="panel sidebar">
                <h2>"Shown runs"</h2>
                <Show when=move || selected.with(Vec::is_empty)>
                    <p class="empty">"No runs ticked: tick some on the "<A href="/runs">"Runs"</A>" page."</p>
                </Show>
                <ul class="run-list" id="run-list">
                    <For each=move || selected.get() key=|id| *id let:id>
                        <li>
                            <label>
                                <input type="checkbox" prop:checked=move || !hidden.get().contains(&id)
                                    on:change=move |_| toggle_hidden(id)/>
                                <span class="swatch" style=format!("background:{}", colour(id))></span>
                                <span class="run-name">{move || names().get(&id).cloned().unwrap_or_else(|| format!("run {id}"))}</span>
                            </label>
                        </li>
                    </For>
                </ul>
                <Show when=move || { loading.get() > 0 }>
                    <p class="progress">{move || format!("loading {} run(s)...", loading.get())}</p>
                </Show>
            </aside>
            <section class="panel plot-area">
                <div class="toolbar">
                    <label>"x "
                        <select id="x-axis" on:change=move |ev| x_axis.set(match event_target_value(&ev).as_str() {
                            "tokens" => XAxis::Tokens, "flops" => XAxis::Flops, _ => XAxis::Step })>
                            <option value="step">"step"</option>
                            <option value="tokens">"tokens"</option>
                            <option value="flops">"FLOPs"</option>
                        </select>
                    </label>
                    <label><input type="checkbox" id="log-x" prop:checked=log_x on:change=move |_| log_x.update(|v| *v = !*v)/>" log x"</label>
                    <label><input type="checkbox" id="log-y" prop:checked=log_y on:change=move |_| log_y.update(|v| *v = !*v)/>" log y"</label>
                    <label><input type="checkbox" id="lr-panel" prop:checked=lr_panel on:change=move |_| lr_panel.update(|v| *v = !*v)/>" LR panel"</label>
                    <label class="slider">"smoothing "
                        <input type="range" id="smoothing" min="0" max="0.99" step="0.01" prop:value=move || slider.get().to_string()
                            on:input=move |ev| on_slide(event_target_value(&ev).parse().unwrap_or(0.0))/>
                        <output>{move || format!("{:.2}", slider.get())}</output>
                    </label>
                    <Show when=move || redrawing.get()>
                        <span class="progress" role="status" id="redrawing"><span class="spinner"></span>"redrawing..."</span>
                    </Show>
                </div>
                <Show when=move || error.get().is_some()>
                    <p class="error" role="alert">{move || error.get().unwrap_or_default()}</p>
                </Show>
                <ul class="notes">
                    <For each=move || missing.get() key=|n| n.clone() let:note>
                        <li>{note}</li>
                    </For>
                </ul>
                <Chart figure=figure id="loss-chart"/>
            </section>
        </div>
    }
}
