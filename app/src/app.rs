//! The root component: the nav bar and the router over the pages.

use leptos::prelude::*;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::path;

use crate::pages::{batch, curves, fit_new, fit_view, forecast, runs, scaling};

/// Runs ticked on the Runs page and shown on the Curves page (shared by both).
#[derive(Clone, Copy)]
pub struct Selection(pub RwSignal<Vec<i64>>);

#[component]
pub fn App() -> impl IntoView {
    provide_context(Selection(RwSignal::new(Vec::new())));
    view! {
        <Router>
            <header class="topbar">
                <span class="brand">"curvecast"</span>
                <nav aria-label="pages">
                    <A href="/runs">"Runs"</A>
                    <A href="/curves">"Curves"</A>
                    <A href="/fits/new">"Fit"</A>
                    <A href="/forecast">"Forecast"</A>
                    <A href="/scaling">"Scaling"</A>
                    <A href="/batch">"Batch size"</A>
                </nav>
            </header>
            <main>
                <Routes fallback=|| view! { <p class="empty">"No such page."</p> }>
                    <Route path=path!("/") view=runs::RunsPage/>
                    <Route path=path!("/runs") view=runs::RunsPage/>
                    <Route path=path!("/curves") view=curves::CurvesPage/>
                    <Route path=path!("/fits/new") view=fit_new::NewFitPage/>
                    <Route path=path!("/fits/:id") view=fit_view::FitPage/>
                    <Route path=path!("/forecast") view=forecast::ForecastPage/>
                    <Route path=path!("/scaling") view=scaling::ScalingPage/>
                    <Route path=path!("/batch") view=batch::BatchPage/>
                </Routes>
            </main>
        </Router>
    }
}
