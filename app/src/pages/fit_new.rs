//! The new-fit page: pick a law, the runs to fit and to hold out, and the options;
//! starting the fit opens its own page (`/fits/{id}`).

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;
use shared::api::{FitRequest, FitRequestOptions, RunSummary};

use crate::api;
use crate::components::chart::colour;

/// What a run does in the fit.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Skip,
    Fit,
    Holdout,
}

const LAWS: [(&str, &str); 10] = [
    (
        "momentum",
        "momentum law (Tissue et al.): loss curve from the LR schedule",
    ),
    (
        "multipower",
        "multi-power law (Luo et al.): loss curve from the LR schedule",
    ),
    (
        "fsl",
        "functional scaling law (Li et al.): loss curve from the LR schedule",
    ),
    (
        "convex",
        "convex last-iterate bound (Schaipp et al.): loss curve from the LR schedule",
    ),
    (
        "power-s1",
        "power law in the LR area (baseline: no annealing term)",
    ),
    (
        "compare",
        "compare the schedule laws: which forecasts these runs best (held-out error)",
    ),
    ("chinchilla", "Chinchilla L(N, D) on a table of runs"),
    ("kaplan-nd", "Kaplan L(N, D) on a table of runs"),
    ("kaplan-n", "Kaplan L(N)"),
    ("power", "saturating power law E + A x^-alpha"),
];

#[component]
pub fn NewFitPage() -> impl IntoView {
    let runs = RwSignal::new(Vec::<RunSummary>::new());
    let roles = RwSignal::new(BTreeMap::<i64, Role>::new());
    let law = RwSignal::new("momentum".to_string());
    let penalty = RwSignal::new("huber".to_string());
    let warmup = RwSignal::new(String::new());
    let bootstrap = RwSignal::new("0".to_string());
    let search = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let navigate = use_navigate();

    spawn_local(async move {
        match api::list_runs().await {
            Ok(list) => runs.set(list),
            Err(e) => error.set(Some(e)),
        }
    });

    let role_of = move |id: i64| roles.with(|r| r.get(&id).copied().unwrap_or(Role::Skip));
    let visible = move || {
        let q = search.get().to_lowercase();
        runs.get()
            .into_iter()
            .filter(|r| q.is_empty() || r.name.to_lowercase().contains(&q))
            .collect::<Vec<_>>()
    };
    let set_visible = move |role: Role| {
        let ids: Vec<i64> = visible().iter().map(|r| r.id).collect();
        roles.update(|r| {
            for id in ids {
                r.insert(id, role);
            }
        })
    };

    let start = move |_| {
        let pick = |want: Role| -> Vec<i64> {
            roles.with(|r| {
                r.iter()
                    .filter(|(_, role)| **role == want)
                    .map(|(id, _)| *id)
                    .collect()
            })
        };
        let (fit, holdout) = (pick(Role::Fit), pick(Role::Holdout));
        if fit.is_empty() {
            error.set(Some(
                "Choose at least one run to fit (set its role to \"fit\").".into(),
            ));
            return;
        }
        let number = |text: String, what: &str| -> Result<Option<usize>, String> {
            let text = text.trim().to_string();
            if text.is_empty() {
                return Ok(None);
            }
            text.parse::<usize>()
                .map(Some)
                .map_err(|_| format!("{what} must be a whole number >= 0, not '{text}'"))
        };
        let options = match (
            number(warmup.get_untracked(), "Excluded warmup"),
            number(bootstrap.get_untracked(), "Bootstrap resamples"),
        ) {
            (Ok(exclude_before_step), Ok(resamples)) => FitRequestOptions {
                penalty: Some(penalty.get_untracked()),
                exclude_before_step,
                bootstrap: resamples.unwrap_or(0),
                ..Default::default()
            },
            (Err(e), _) | (_, Err(e)) => {
                error.set(Some(e));
                return;
            }
        };
        let request = FitRequest {
            law: law.get_untracked(),
            runs: fit,
            holdout,
            options,
        };
        busy.set(true);
        error.set(None);
        let navigate = navigate.clone();
        spawn_local(async move {
            match api::create_fit(&request).await {
                Ok(fit) => navigate(&format!("/fits/{}", fit.id), Default::default()),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };

    view! {
        <div class="page fit-new-page">
            <section class="panel">
                <h2>"New fit"</h2>
                <div class="form-grid">
                    <label for="law">"Law"</label>
                    <select id="law" on:change=move |ev| law.set(event_target_value(&ev))>
                        {LAWS.iter().map(|(value, label)| view! { <option value=*value>{*label}</option> }).collect_view()}
                    </select>
                    <label for="penalty">"Objective"</label>
                    <select id="penalty" on:change=move |ev| penalty.set(event_target_value(&ev))>
                        <option value="huber">"Huber on log loss (robust, default)"</option>
                        <option value="least_squares">"least squares on log loss"</option>
                    </select>
                    <label for="warmup">"Leave out steps before"</label>
                    <input id="warmup" type="number" min="0" placeholder="none" prop:value=warmup on:input=move |ev| warmup.set(event_target_value(&ev))/>
                    <label for="bootstrap">"Bootstrap resamples"</label>
                    <input id="bootstrap" type="number" min="0" prop:value=bootstrap on:input=move |ev| bootstrap.set(event_target_value(&ev))/>
                </div>
                <div class="toolbar">
                    <button id="start-fit" class="primary" on:click=start disabled=move || busy.get()>"Run the fit"</button>
                    <Show when=move || busy.get()><span class="progress">"starting..."</span></Show>
                    <Show when=move || error.get().is_some()>
                        <span class="error" role="alert" id="fit-error">{move || error.get().unwrap_or_default()}</span>
                    </Show>
                </div>
            </section>
            <section class="panel">
                <div class="toolbar">
                    <h2>"Runs"</h2>
                    <input type="search" placeholder="search runs" aria-label="search runs" prop:value=search
                        on:input=move |ev| search.set(event_target_value(&ev))/>
                    <button class="small" id="all-fit" on:click=move |_| set_visible(Role::Fit)>"all shown: fit"</button>
                    <button class="small" on:click=move |_| set_visible(Role::Skip)>"all shown: skip"</button>
                    <span class="meta">{move || {
                        let (f, h) = roles.with(|r| (r.values().filter(|x| **x == Role::Fit).count(), r.values().filter(|x| **x == Role::Holdout).count()));
                        format!("{f} to fit, {h} held out")
                    }}</span>
                </div>
                <Show when=move || runs.with(Vec::is_empty)>
                    <p class="empty">"No runs yet: upload logs on the Runs page."</p>
                </Show>
                <table class="run-table">
                    <thead><tr><th>"role"</th><th>"run"</th><th>"points"</th><th>"LR"</th></tr></thead>
                    <tbody>
                        <For each=visible key=|r| r.id let:run>
                            <tr>
                                <td>
                                    <select id=format!("role-{}", run.id) aria-label=format!("role of {}", run.name)
                                        prop:value=move || match role_of(run.id) { Role::Skip => "skip", Role::Fit => "fit", Role::Holdout => "holdout" }
                                        on:change=move |ev| {
                                            let role = match event_target_value(&ev).as_str() { "fit" => Role::Fit, "holdout" => Role::Holdout, _ => Role::Skip };
                                            roles.update(|r| { r.insert(run.id, role); });
                                        }>
                                        <option value="skip">"-"</option>
                                        <option value="fit">"fit"</option>
                                        <option value="holdout">"hold out"</option>
                                    </select>
                                </td>
                                <td><span class="swatch" style=format!("background:{}", colour(run.id))></span>{run.name.clone()}</td>
                                <td class="num">{run.n_points}</td>
                                <td class="meta">{format!("{:?}", run.lr_source).to_lowercase()}</td>
                            </tr>
                        </For>
                    </tbody>
                </table>
            </section>
        </div>
    }
}
