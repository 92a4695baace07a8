//! In a real browser: fit the momentum law to two published multi-power-law runs
//! (csv_100) with a third held out, from the Fit page; the fit gets its own URL, which
//! a fresh browser session opens to the same parameters, metrics and chart.

mod common;

use std::collections::HashMap;

use common::{Browser, csv_100, start_browser, start_server};

/// Uploads three published runs (csv_100) and opens the Fit page once it lists them;
/// their ids by name.
async fn new_fit_page(browser: &Browser, url: &str) -> HashMap<String, i64> {
    let files = csv_100(&["cosine_24000", "constant_24000", "wsdcon_3"]);
    browser.upload(url, &files).await;
    let ids = browser.run_ids().await;
    browser
        .driver
        .goto(format!("{url}/fits/new"))
        .await
        .unwrap();
    browser
        .wait_for(
            "the run roles",
            &format!(
                "return document.getElementById('role-{}') !== null",
                ids["wsdcon_3"]
            ),
        )
        .await;
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn fit_with_a_held_out_run_and_reopen_its_url() {
    let server = start_server().await;
    let browser = start_browser().await;
    let ids = new_fit_page(&browser, &server.url).await;
    let role = |name: &str| format!("role-{}", ids[name]);
    // Nothing chosen: a readable error next to the button, no request.
    browser.click(thirtyfour::By::Id("start-fit")).await;
    let message = browser
        .wait_for(
            "the empty-fit error",
            "const e = document.getElementById('fit-error'); return e && e.innerText;",
        )
        .await;
    assert!(
        message.as_str().unwrap().contains("at least one run"),
        "{message}"
    );

    browser.set_value(&role("cosine_24000"), "fit").await;
    browser.set_value(&role("constant_24000"), "fit").await;
    browser.set_value(&role("wsdcon_3"), "holdout").await;
    browser.set_value("bootstrap", "8").await;
    browser.click(thirtyfour::By::Id("start-fit")).await;
    let url = browser
        .wait_for(
            "the fit's page",
            "return /\\/fits\\/\\d+$/.test(location.pathname) && location.href;",
        )
        .await
        .as_str()
        .unwrap()
        .to_string();
    let id: i64 = url.rsplit('/').next().unwrap().parse().unwrap();
    let done = "const s = document.getElementById('fit-status');
                const c = document.getElementById('fit-chart');
                return s && s.innerText === 'done' && c && c.data && c.data.length > 0 &&
                    document.getElementById('param-table') !== null;";
    browser.wait_for("the finished fit", done).await;
    browser.screenshot("fit-done").await;

    // The page shows the API's parameters and both fitted and held-out metrics.
    let api = browser.api("GET", &format!("/api/fits/{id}"), None).await;
    assert_eq!(api["request"]["holdout"][0], ids["wsdcon_3"]);
    let read_page = "return Array.from(document.querySelectorAll('#param-table td[data-param]'))
                        .map(td => [td.dataset.param, td.innerText]);";
    let shown = browser
        .driver
        .execute(read_page, vec![])
        .await
        .unwrap()
        .json()
        .clone();
    let params = api["report"]["params"].as_array().unwrap();
    assert_eq!(shown.as_array().unwrap().len(), params.len());
    for (row, p) in shown.as_array().unwrap().iter().zip(params) {
        assert_eq!(row[0], p["name"]);
        let v: f64 = row[1].as_str().unwrap().parse().unwrap();
        let want = p["value"].as_f64().unwrap();
        assert!(
            (v - want).abs() <= 1e-4 * want.abs().max(1e-3),
            "{}: {v} vs {want}",
            p["name"]
        );
    }
    let metrics = browser
        .driver
        .execute(
            "return document.getElementById('metrics-table').innerText;",
            vec![],
        )
        .await
        .unwrap()
        .json()
        .clone();
    let metrics = metrics.as_str().unwrap();
    assert!(
        metrics.contains("wsdcon_3") && metrics.contains("held out"),
        "{metrics}"
    );
    // The chart: data, fitted curves, a band (bootstrap) and residuals in the lower panel;
    // the residuals are data minus the fit at the data's steps, so they are small.
    let chart = browser
        .driver
        .execute(
            "const c = document.getElementById('fit-chart');
             const res = c.data.filter(t => t.yaxis === 'y2');
             return { names: c.data.map(t => t.name), fills: c.data.filter(t => t.fill === 'tonexty').length,
                      worst: Math.max(...res.flatMap(t => t.y.map(Math.abs))) };",
            vec![],
        )
        .await
        .unwrap()
        .json()
        .clone();
    let names = chart["names"].to_string();
    assert!(
        names.contains("wsdcon_3 (held out) fit") && names.contains("cosine_24000 data"),
        "{names}"
    );
    assert_eq!(chart["fills"], 3, "one band per run");
    let worst = chart["worst"].as_f64().unwrap();
    assert!(worst > 0.0 && worst < 0.2, "residuals up to {worst}");
    let report = browser
        .driver
        .execute(
            "return document.getElementById('report-text').innerText;",
            vec![],
        )
        .await
        .unwrap()
        .json()
        .clone();
    assert!(report.as_str().unwrap().contains("L0"), "{report}");

    // A fresh session (new profile, nothing cached) opens the shared URL.
    drop(browser);
    let fresh = start_browser().await;
    fresh.driver.goto(&url).await.unwrap();
    fresh.wait_for("the reopened fit", done).await;
    let shown_again = fresh
        .driver
        .execute(read_page, vec![])
        .await
        .unwrap()
        .json()
        .clone();
    assert_eq!(shown_again, shown);
    fresh.screenshot("fit-reopened").await;
}

/// A long bootstrap fit runs while a second waits in the queue: the second's page offers
/// Cancel, which turns it `cancelled` (then the running one too).
#[tokio::test(flavor = "multi_thread")]
async fn cancel_a_queued_and_a_running_fit() {
    let server = start_server().await;
    let browser = start_browser().await;
    browser
        .upload(&server.url, &csv_100(&["cosine_24000", "constant_24000"]))
        .await;
    let ids: Vec<i64> = browser.run_ids().await.into_values().collect();
    let request =
        serde_json::json!({ "law": "multipower", "runs": ids, "options": { "bootstrap": 1000 } });
    let running = browser
        .api("POST", "/api/fits", Some(request.clone()))
        .await["id"]
        .as_i64()
        .unwrap();
    let queued = browser.api("POST", "/api/fits", Some(request)).await["id"]
        .as_i64()
        .unwrap();
    for id in [queued, running] {
        browser
            .driver
            .goto(format!("{}/fits/{id}", server.url))
            .await
            .unwrap();
        browser
            .wait_for(
                "the cancel button",
                "return document.getElementById('cancel-fit') !== null;",
            )
            .await;
        // The running fit shows the server's progress through its bootstrap.
        let progress = if id == running {
            "const p = document.getElementById('fit-progress');
             const bar = p && p.querySelector('progress');
             const m = p && p.innerText.match(/bootstrap: (\\d+) of 1000 resamples, about \\d+ (s|min) left/);
             return m && Number(m[1]) > 0 && bar && bar.max === 1000 && bar.value === Number(m[1]);"
        } else {
            "const p = document.getElementById('fit-progress');
             return p && p.innerText.includes('waiting for the fits before it');"
        };
        browser.wait_for("the fit's progress", progress).await;
        browser.screenshot(&format!("fit-progress-{id}")).await;
        browser.click(thirtyfour::By::Id("cancel-fit")).await;
        browser
            .wait_for(
                "the cancelled status",
                "const s = document.getElementById('fit-status');
                 return s && s.innerText === 'cancelled' && !document.getElementById('cancel-fit');",
            )
            .await;
        let fit = browser.api("GET", &format!("/api/fits/{id}"), None).await;
        assert_eq!(fit["status"], "cancelled", "{fit}");
        browser.screenshot(&format!("fit-cancelled-{id}")).await;
    }
}

/// The law comparison from the Fit page: choosing "compare" starts a comparison job on
/// the chosen runs (cancelled here: five laws take minutes); a finished comparison's page
/// shows the laws ranked as the API has them, and each law's error per fold in a chart.
#[tokio::test(flavor = "multi_thread")]
async fn compare_laws_from_the_fit_page() {
    let server = start_server().await;
    let browser = start_browser().await;
    let ids = new_fit_page(&browser, &server.url).await;
    let role = |name: &str| format!("role-{}", ids[name]);
    for name in ["cosine_24000", "constant_24000", "wsdcon_3"] {
        browser.set_value(&role(name), "fit").await;
    }
    browser.set_value("law", "compare").await;
    browser.click(thirtyfour::By::Id("start-fit")).await;
    let url = browser
        .wait_for(
            "the comparison's page",
            "return /\\/fits\\/\\d+$/.test(location.pathname) && location.href;",
        )
        .await;
    let id: i64 = url
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let started = browser.api("GET", &format!("/api/fits/{id}"), None).await;
    assert_eq!(started["request"]["law"], "compare");
    assert_eq!(started["request"]["runs"].as_array().unwrap().len(), 3);
    browser
        .api("POST", &format!("/api/fits/{id}/cancel"), None)
        .await;

    // Three fast laws, through the API; then its page.
    let runs: Vec<i64> = ["cosine_24000", "constant_24000", "wsdcon_3"]
        .iter()
        .map(|n| ids[*n])
        .collect();
    let done = browser
        .fit_done(serde_json::json!({
            "law": "compare", "runs": runs,
            "options": {"laws": ["power-s1", "momentum", "multipower"]}
        }))
        .await;
    let id = done["id"].as_i64().unwrap();
    browser
        .driver
        .goto(format!("{}/fits/{id}", server.url))
        .await
        .unwrap();
    let shown = browser
        .wait_for(
            "the comparison table and chart",
            "const rows = document.querySelectorAll('#comparison-table tbody tr');
             const c = document.getElementById('comparison-chart');
             return rows.length === 3 && c && c.data && c.data.length === 3 &&
                 { laws: Array.from(rows).map(r => r.dataset.law),
                   points: c.data.map(t => t.y.length),
                   folds: document.querySelectorAll('#comparison-folds li').length };",
        )
        .await;
    let api_laws: Vec<&str> = done["report"]["comparison"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["law"].as_str().unwrap())
        .collect();
    assert_eq!(
        shown["laws"],
        serde_json::json!(api_laws),
        "ranked as the API"
    );
    assert_eq!(
        shown["points"],
        serde_json::json!([6, 6, 6]),
        "one point per fold"
    );
    assert_eq!(shown["folds"], 6);
    assert_eq!(
        browser
            .driver
            .execute(
                "return document.getElementById('param-table') === null",
                vec![]
            )
            .await
            .unwrap()
            .json(),
        &serde_json::json!(true),
        "a comparison has no parameters of its own"
    );
    browser.screenshot("fit-comparison").await;
}
