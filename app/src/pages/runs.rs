//! The Runs page: upload logs (drop or pick), search the runs, tick the ones to plot.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use shared::api::RunSummary;
use web_sys::File;

use crate::api;
use crate::app::Selection;
use crate::components::chart::colour;
use crate::components::upload::UploadZone;

#[component]
pub fn RunsPage() -> impl IntoView {
    let Selection(selected) = expect_context::<Selection>();
    let runs = RwSignal::new(Vec::<RunSummary>::new());
    let error = RwSignal::new(None::<String>);
    let notes = RwSignal::new(Vec::<String>::new());
    let busy = RwSignal::new(false);
    let search = RwSignal::new(String::new());

    let refresh = move || {
        spawn_local(async move {
            match api::list_runs().await {
                Ok(list) => runs.set(list),
                Err(e) => error.set(Some(e)),
            }
        })
    };
    refresh();

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
                    let n = response.runs.len();
                    let mut lines = vec![format!(
                        "Imported {n} run{}.",
                        if n == 1 { "" } else { "s" }
                    )];
                    lines.extend(response.warnings);
                    notes.set(lines);
                    // New uploads are ticked, so Curves shows them at once.
                    selected.update(|s| s.extend(response.runs.iter().map(|r| r.id).take(50)));
                    refresh();
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    });

    let visible = move || {
        let q = search.get().to_lowercase();
        runs.get()
            .into_iter()
            .filter(|r| {
                q.is_empty()
                    || r.name.to_lowercase().contains(&q)
                    || r.file_name.to_lowercase().contains(&q)
            })
            .collect::<Vec<_>>()
    };
    let toggle = move |id: i64| {
        selected.update(|s| match s.iter().position(|&x| x == id) {
            Some(pos) => {
                s.remove(pos);
            }
            None => s.push(id),
        })
    };
    let select_visible = move |_| {
        let ids: Vec<i64> = visible().iter().map(|r| r.id).collect();
        selected.update(|s| {
            for id in ids {
                if !s.contains(&id) {
                    s.push(id);
                }
            }
        })
    };

    view! {
        <div class="page runs-page">
            <section class="panel">
                <UploadZone on_files=on_files busy=busy.into()/>
                <Show when=move || error.get().is_some()>
                    <p class="error" role="alert" id="upload-error">{move || error.get().unwrap_or_default()}</p>
                </Show>
                <ul class="notes" id="upload-notes">
                    <For each=move || notes.get() key=|n| n.clone() let:note>
                        <li>{note}</li>
                    </For>
                </ul>
            </section>
            <section class="panel">
                <div class="toolbar">
                    <h2>"Runs"</h2>
                    <input type="search" id="run-search" placeholder="search runs" aria-label="search runs"
                        prop:value=search on:input=move |ev| search.set(event_target_value(&ev))/>
                    <button class="small" on:click=select_visible>"tick all shown"</button>
                    <button class="small" on:click=move |_| selected.set(Vec::new())>"untick all"</button>
                    <span class="meta">{move || format!("{} ticked", selected.get().len())}</span>
                    <A href="/curves" attr:class="button">"Plot ticked runs"</A>
                </div>
                <Show when=move || runs.with(Vec::is_empty)>
                    <p class="empty">"No runs yet: drop a training log above."</p>
                </Show>
                <table class="run-table" id="run-list">
                    <thead><tr><th></th><th>"run"</th><th>"file"</th><th>"format"</th><th>"points"</th><th>"series"</th><th>"LR"</th></tr></thead>
                    <tbody>
                        <For each=visible key=|r| r.id let:run>
                            <tr>
                                <td><input type="checkbox" aria-label=format!("tick {}", run.name)
                                    prop:checked=move || selected.get().contains(&run.id)
                                    on:change=move |_| toggle(run.id)/></td>
                                <td><span class="swatch" style=format!("background:{}", colour(run.id))></span>{run.name.clone()}</td>
                                <td class="meta">{run.file_name.clone()}</td>
                                <td class="meta">{run.format.clone()}</td>
                                <td class="num">{run.n_points}</td>
                                <td class="meta">{run.series.join(", ")}</td>
                                <td class="meta">{format!("{:?}", run.lr_source).to_lowercase()}</td>
                            </tr>
                        </For>
                    </tbody>
                </table>
            </section>
        </div>
    }
}
