//! The Runs page: pick or drop logs, check the preview (roles editable), import; search,
//! tick (multi-select), rename and delete runs.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use shared::api::{RunSummary, UploadResponse};
use web_sys::File;

use crate::api;
use crate::app::Selection;
use crate::components::chart::colour;
use crate::components::preview::Preview;
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

    let pending = RwSignal::new_local(Vec::<File>::new());
    let on_files = Callback::new(move |picked: Vec<File>| {
        error.set(None);
        notes.set(Vec::new());
        pending.set(picked);
    });
    let on_imported = Callback::new(move |response: UploadResponse| {
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
    });
    let row_error = RwSignal::new(None::<(i64, String)>);
    let editing = RwSignal::new(None::<i64>);
    let rename = move |id: i64, name: String| {
        spawn_local(async move {
            match api::rename_run(id, &name).await {
                Ok(_) => {
                    editing.set(None);
                    row_error.set(None);
                    refresh();
                }
                Err(e) => row_error.set(Some((id, e))),
            }
        })
    };
    let delete = move |id: i64| {
        spawn_local(async move {
            match api::delete_run(id).await {
                Ok(()) => {
                    selected.update(|s| s.retain(|&x| x != id));
                    row_error.set(None);
                    refresh();
                }
                Err(e) => row_error.set(Some((id, e))),
            }
        })
    };

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
                <Preview files=pending on_imported=on_imported/>
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
                    <thead><tr><th></th><th>"run"</th><th>"file"</th><th>"format"</th><th>"points"</th><th>"series"</th><th>"LR"</th><th></th></tr></thead>
                    <tbody>
                        <For each=visible key=|r| (r.id, r.name.clone()) let:run>
                            <tr>
                                <td><input type="checkbox" aria-label=format!("tick {}", run.name)
                                    prop:checked=move || selected.get().contains(&run.id)
                                    on:change=move |_| toggle(run.id)/></td>
                                <td>
                                    <span class="swatch" style=format!("background:{}", colour(run.id))></span>
                                    {
                                        let name = run.name.clone();
                                        move || if editing.get() == Some(run.id) {
                                            view! {
                                                <input id=format!("rename-{}", run.id) aria-label="new name" prop:value=name.clone()
                                                    on:keydown=move |ev| {
                                                        if ev.key() == "Enter" { rename(run.id, event_target_value(&ev)) }
                                                        if ev.key() == "Escape" { editing.set(None) }
                                                    }/>
                                            }.into_any()
                                        } else {
                                            view! { <span class="run-name">{name.clone()}</span> }.into_any()
                                        }
                                    }
                                    {move || row_error.get().filter(|(id, _)| *id == run.id).map(|(_, e)| view! { <p class="error" role="alert">{e}</p> })}
                                </td>
                                <td class="meta">{run.file_name.clone()}</td>
                                <td class="meta">{run.format.clone()}</td>
                                <td class="num">{run.n_points}</td>
                                <td class="meta">{run.series.join(", ")}</td>
                                <td class="meta">{format!("{:?}", run.lr_source).to_lowercase()}</td>
                                <td class="actions">
                                    <button class="small" aria-label=format!("rename {}", run.name) on:click=move |_| editing.set(Some(run.id))>"rename"</button>
                                    <button class="small" id=format!("delete-{}", run.id) aria-label=format!("delete {}", run.name) on:click=move |_| delete(run.id)>"delete"</button>
                                </td>
                            </tr>
                        </For>
                    </tbody>
                </table>
            </section>
        </div>
    }
}
