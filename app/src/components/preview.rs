//! The import preview: what the server would read from the picked files (format,
//! columns and their roles, runs with point counts and LR source, warnings, errors),
//! with editable roles and run-level numbers, re-read on every edit; then import.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{FileReport, IngestReport, Mapping, UploadResponse};
use web_sys::File;

use crate::api;

const ROLES: [&str; 11] = [
    "step",
    "loss",
    "eval_loss",
    "lr",
    "run",
    "tokens",
    "samples",
    "batch_size",
    "n_params",
    "flops",
    "-",
];

/// `mapping` with `column` given `role` (`-`: no longer named by the user).
fn assign(mapping: &mut Mapping, column: &str, role: &str) {
    let col = Some(column.to_string());
    let clear = |slot: &mut Option<String>| {
        if slot.as_deref() == Some(column) {
            *slot = None;
        }
    };
    for slot in [
        &mut mapping.step_col,
        &mut mapping.eval_loss_col,
        &mut mapping.lr_col,
        &mut mapping.run_col,
        &mut mapping.tokens_col,
        &mut mapping.samples_col,
        &mut mapping.batch_size_col,
        &mut mapping.n_params_col,
        &mut mapping.flops_col,
    ] {
        clear(slot);
    }
    mapping.loss_col.retain(|c| c != column);
    match role {
        "step" => mapping.step_col = col,
        "loss" => mapping.loss_col = vec![column.to_string()],
        "eval_loss" => mapping.eval_loss_col = col,
        "lr" => mapping.lr_col = col,
        "run" => mapping.run_col = col,
        "tokens" => mapping.tokens_col = col,
        "samples" => mapping.samples_col = col,
        "batch_size" => mapping.batch_size_col = col,
        "n_params" => mapping.n_params_col = col,
        "flops" => mapping.flops_col = col,
        _ => {}
    }
}

#[component]
pub fn Preview(
    /// The picked files; empty hides the preview.
    files: RwSignal<Vec<File>, LocalStorage>,
    /// Called after a successful import.
    on_imported: Callback<UploadResponse>,
) -> impl IntoView {
    let mapping = RwSignal::new(Mapping::default());
    let report = RwSignal::new(None::<IngestReport>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    Effect::new(move |_| {
        let picked = files.get();
        let m = mapping.get();
        if picked.is_empty() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            match api::preview(&picked, &m).await {
                Ok(r) => {
                    report.set(Some(r));
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    });

    let import = move |_| {
        let picked = files.get_untracked();
        let m = mapping.get_untracked();
        busy.set(true);
        spawn_local(async move {
            match api::upload(&picked, &m).await {
                Ok(response) => {
                    files.set(Vec::new());
                    report.set(None);
                    mapping.set(Mapping::default());
                    on_imported.run(response);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let number_field =
        move |label: &'static str, id: &'static str, set: fn(&mut Mapping, Option<f64>)| {
            view! {
                <label>{label}" "
                    <input id=id type="number" size="10" placeholder="from the file"
                        on:change=move |ev| {
                            let v = event_target_value(&ev).trim().parse::<f64>().ok();
                            mapping.update(|m| set(m, v));
                        }/>
                </label>
            }
        };
    let file_view = move |f: FileReport| {
        let points: usize = f
            .runs
            .iter()
            .map(|r| {
                r.series
                    .iter()
                    .find(|s| s.name == "loss")
                    .map_or(0, |s| s.points)
            })
            .sum();
        let lr = f
            .runs
            .iter()
            .filter(|r| r.lr_source == shared::api::LrSource::Logged)
            .count();
        let columns: Vec<(String, String)> = f
            .columns
            .iter()
            .map(|c| (c.column.clone(), c.role.clone()))
            .chain(
                f.ignored_columns
                    .iter()
                    .map(|c| (c.clone(), "-".to_string())),
            )
            .collect();
        view! {
            <div class="preview-file">
                <h3>{f.file.clone()}" "<span class="meta">{f.format.clone().unwrap_or_default()}" "{f.layout.clone().unwrap_or_default()}</span></h3>
                {f.error.clone().map(|e| view! { <p class="error" role="alert">{e.message}</p> })}
                <p class="meta">{format!("{} run(s), {points} loss points; learning rate logged in {lr} of them", f.runs.len())}</p>
                <div class="roles">
                    {columns.into_iter().map(|(column, role)| {
                        let col = column.clone();
                        view! {
                            <label class="role">
                                <span>{column.clone()}</span>
                                <select aria-label=format!("role of column {column}") data-column=column.clone()
                                    on:change=move |ev| { let r = event_target_value(&ev); mapping.update(|m| assign(m, &col, &r)); }>
                                    {ROLES.iter().map(|r| view! { <option value=*r selected=*r == role>{if *r == "-" { "ignored" } else { *r }}</option> }).collect_view()}
                                </select>
                            </label>
                        }
                    }).collect_view()}
                </div>
                <ul class="notes">{f.warnings.into_iter().chain(f.notes).map(|w| view! { <li>{w}</li> }).collect_view()}</ul>
            </div>
        }
    };

    view! {
        <Show when=move || !files.with(Vec::is_empty)>
            <div class="preview" id="preview">
                <div class="toolbar">
                    <h2>"Preview"</h2>
                    <span class="meta">{move || format!("{} file(s); role changes apply to every file of this import", files.with(Vec::len))}</span>
                    <Show when=move || busy.get()><span class="progress"><span class="spinner"></span>"reading..."</span></Show>
                </div>
                {move || report.get().map(|r| r.files.into_iter().map(file_view).collect_view())}
                <div class="toolbar">
                    {number_field("parameters N", "map-n-params", |m, v| m.n_params = v)}
                    {number_field("tokens per step", "map-tokens-per-step", |m, v| m.tokens_per_step = v)}
                </div>
                <Show when=move || error.get().is_some()>
                    <p class="error" role="alert" id="upload-error">{move || error.get().unwrap_or_default()}</p>
                </Show>
                <div class="toolbar">
                    <button class="primary" id="import" on:click=import disabled=move || busy.get()>"Import"</button>
                    <button on:click=move |_| { files.set(Vec::new()); report.set(None); error.set(None); mapping.set(Mapping::default()); }>"Cancel"</button>
                </div>
            </div>
        </Show>
    }
}
