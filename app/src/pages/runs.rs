//! The runs page: upload logs, pick runs, see their loss curves.

use std::collections::HashMap;

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{RunDetail, RunSummary};
use web_sys::File;

use crate::api;
use crate::components::chart::{Chart, Figure, Line};
use crate::components::upload::UploadZone;

#[component]
pub fn RunsPage() -> impl IntoView {
    let runs = RwSignal::new(Vec::<RunSummary>::new());
    let selected = RwSignal::new(Vec::<i64>::new());
    let details = RwSignal::new(HashMap::<i64, RunDetail>::new());
    let error = RwSignal::new(None::<String>);
    let notes = RwSignal::new(Vec::<String>::new());
    let busy = RwSignal::new(false);
    let log_x = RwSignal::new(false);
    let log_y = RwSignal::new(false);

    let refresh = move |select: Vec<i64>| {
        spawn_local(async move {
            match api::list_runs().await {
                Ok(list) => {
                    let select = if select.is_empty() { list.iter().map(|r| r.id).take(3).collect() } else { select };
                    runs.set(list);
                    if selected.get_untracked().is_empty() || !select.is_empty() {
                        selected.set(select);
                    }
                }
                Err(e) => error.set(Some(e)),
            }
        })
    };
    refresh(Vec::new());

    // Fetch the points of newly selected runs.
    Effect::new(move |_| {
        for id in selected.get() {
            if details.with_untracked(|d| d.contains_key(&id)) {
                continue;
            }
            spawn_local(async move {
                match api::get_run(id).await {
                    Ok(run) => details.update(|d| {
                        d.insert(id, run);
                    }),
                    Err(e) => error.set(Some(e)),
                }
            });
        }
    });

    let on_files = Callback::new(move |files: Vec<File>| {
        if files.is_empty() {
            return;
        }
        busy.set(true);
        error.set(None);
        notes.set(Vec::new());
        spawn_local(async move {
            match api::upload(files).await {
                Ok(response) => {
                    notes.set(response.warnings);
                    refresh(response.runs.iter().map(|r| r.id).collect());
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    });

    let figure = Signal::derive(move || {
        let lines = details.with(|d| {
            selected
                .get()
                .iter()
                .filter_map(|id| d.get(id))
                .filter_map(|run| {
                    let loss = run.points.get("loss")?;
                    Some(Line { name: run.summary.name.clone(), x: loss.steps.clone(), y: loss.values.clone() })
                })
                .collect()
        });
        Figure { lines, x_title: "step".into(), y_title: "loss".into(), log_x: log_x.get(), log_y: log_y.get() }
    });

    let toggle = move |id: i64| {
        selected.update(|s| {
            if let Some(pos) = s.iter().position(|&x| x == id) {
                s.remove(pos);
            } else {
                s.push(id);
            }
        })
    };

    view! {
        <div class="runs-page">
            <aside class="sidebar">
                <UploadZone on_files=on_files busy=busy.into()/>
                <Show when=move || error.get().is_some()>
                    <p class="error" role="alert">{move || error.get().unwrap_or_default()}</p>
                </Show>
                <ul class="notes">
                    <For each=move || notes.get() key=|n| n.clone() let:note>
                        <li>{note}</li>
                    </For>
                </ul>
                <h2>"Runs"</h2>
                <ul class="run-list" id="run-list">
                    <For each=move || runs.get() key=|r| r.id let:run>
                        <li>
                            <label>
                                <input
                                    type="checkbox"
                                    prop:checked=move || selected.get().contains(&run.id)
                                    on:change=move |_| toggle(run.id)
                                />
                                <span class="run-name">{run.name.clone()}</span>
                                <span class="run-meta">{format!("{} points", run.n_points)}</span>
                            </label>
                        </li>
                    </For>
                </ul>
            </aside>
            <section class="plot-area">
                <div class="toolbar">
                    <label><input type="checkbox" id="log-x" prop:checked=log_x on:change=move |_| log_x.update(|v| *v = !*v)/>" log x"</label>
                    <label><input type="checkbox" id="log-y" prop:checked=log_y on:change=move |_| log_y.update(|v| *v = !*v)/>" log y"</label>
                </div>
                <Chart figure=figure id="loss-chart"/>
            </section>
        </div>
    }
}
