//! The root component: header and the page.

use leptos::prelude::*;

use crate::pages::runs::RunsPage;

#[component]
pub fn App() -> impl IntoView {
    view! {
        <header class="topbar">
            <span class="brand">"curvecast"</span>
            <span class="tagline">"what loss will this run reach, and what should I change?"</span>
        </header>
        <main>
            <RunsPage/>
        </main>
    }
}
