//! Pages of the app, one per route.

pub mod batch;
pub mod comparison;
pub mod curves;
pub mod fit_new;
pub mod fit_view;
pub mod forecast;
pub mod runs;
pub mod scaling;

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;
use shared::api::{FitStatus, FitSummary};

/// The done fits of `laws` (listed in the background) and the chosen one: the address's
/// `?fit=ID`, else the newest. Errors go to `error`.
pub fn choose_fit(
    laws: &'static [&'static str],
    error: RwSignal<Option<String>>,
) -> (RwSignal<Vec<FitSummary>>, RwSignal<Option<i64>>) {
    let fits = RwSignal::new(Vec::<FitSummary>::new());
    let fit_id = RwSignal::new(
        use_query_map()
            .read_untracked()
            .get("fit")
            .and_then(|s| s.parse::<i64>().ok()),
    );
    spawn_local(async move {
        match crate::api::list_fits().await {
            Ok(list) => {
                let usable: Vec<FitSummary> = list
                    .into_iter()
                    .filter(|f| f.status == FitStatus::Done && laws.contains(&f.law.as_str()))
                    .collect();
                if fit_id.get_untracked().is_none() {
                    fit_id.set(usable.last().map(|f| f.id));
                }
                fits.set(usable);
            }
            Err(e) => error.set(Some(e)),
        }
    });
    (fits, fit_id)
}
