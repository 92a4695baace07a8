//! The README's two screenshots, made in a real headless Chromium over a real server with
//! the demo runs of `fixtures/demo` (uploaded through the Runs page): a fit's page with its
//! report (`fit-report.png`) and the Forecast page of that fit with three candidate
//! schedules (`forecast.png`); the fit is the README tour's (momentum law on
//! `demo_constant` and `demo_cosine`, `demo_wsd_sqrt` held out, 100 bootstrap resamples).
//!
//! Run: `cargo xtask screenshots` (builds the web app and this example, then writes
//! `docs/img/`), or `cargo xtask dist && cargo build --all-targets &&
//! $CARGO_TARGET_DIR/debug/examples/screenshots [--out DIR]`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;

/// The window's width: the pages' tables on one line each, PNGs well under 300 KB. Each
/// picture's height is fitted to the page's chart (see [`fit_height`]).
const WIDTH: u32 = 1200;

/// The Forecast page's candidates, as its address keeps them: the tour's schedules.
const CANDIDATES: &str = "cosine:peak=3e-4,final=3e-5,warmup=500,total=24000,decay=0.2,shape=sqrt;\
wsd:peak=3e-4,final=0,warmup=500,total=24000,decay=0.1,shape=linear;\
wsd:peak=3e-4,final=0,warmup=500,total=24000,decay=0.2,shape=sqrt";

fn out_dir() -> PathBuf {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match &args[..] {
        [] => common::workspace_root().join("docs/img"),
        [flag, dir] if flag == "--out" => PathBuf::from(dir),
        _ => {
            eprintln!("usage: screenshots [--out DIR] (default: docs/img of the workspace)");
            std::process::exit(2)
        }
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let out = out_dir();
    std::fs::create_dir_all(&out).unwrap();
    let server = common::start_server().await;
    let browser = common::start_browser_with(&[&format!("--window-size={WIDTH},900")]).await;
    let demo = common::workspace_root().join("fixtures/demo");
    let files: Vec<PathBuf> = ["demo_constant", "demo_cosine", "demo_wsd_sqrt"]
        .iter()
        .map(|name| demo.join(format!("{name}.csv")))
        .collect();
    browser.upload(&server.url, &files).await;
    let ids = browser.run_ids().await;
    let fit = browser
        .fit_done(serde_json::json!({
            "law": "momentum",
            "runs": [ids["demo_constant"], ids["demo_cosine"]],
            "holdout": [ids["demo_wsd_sqrt"]],
            "options": { "bootstrap": 100 }
        }))
        .await;
    let id = fit["id"].as_i64().unwrap();

    // The fit's page: status, parameters with intervals, per-run errors, the chart.
    browser
        .driver
        .goto(format!("{}/fits/{id}", server.url))
        .await
        .unwrap();
    browser
        .wait_for(
            "the finished fit",
            "const s = document.getElementById('fit-status');
             const c = document.getElementById('fit-chart');
             return s && s.innerText === 'done' && c && c.data && c.data.length > 0 &&
                 document.getElementById('param-table') !== null;",
        )
        .await;
    fit_height(&browser, "fit-chart").await;
    save(&browser, "fit-report", &out).await;

    // The Forecast page of that fit with the tour's three schedules.
    browser
        .driver
        .goto(format!("{}/forecast?fit={id}&c={CANDIDATES}", server.url))
        .await
        .unwrap();
    browser
        .wait_for(
            "three forecasts",
            "const c = document.getElementById('forecast-chart');
             const t = c && c.data && c.data.filter(t => /^candidate \\d+$/.test(t.name));
             const r = [0, 1, 2].map(i => document.getElementById(`cand-${i}-result`));
             return t && t.length === 3 && r.every(f => f && parseFloat(f.innerText) > 0);",
        )
        .await;
    fit_height(&browser, "forecast-chart").await;
    save(&browser, "forecast", &out).await;
}

/// Makes the window just tall enough to show the page down to the panel of the chart
/// `chart` (the picture is what the window shows), then lets plotly finish drawing.
async fn fit_height(browser: &common::Browser, chart: &str) {
    let sizes = browser
        .driver
        .execute(
            "const panel = document.getElementById(arguments[0]).closest('section');
             return [Math.ceil(panel.getBoundingClientRect().bottom + window.scrollY) + 16,
                     window.outerHeight - window.innerHeight];",
            vec![serde_json::json!(chart)],
        )
        .await
        .unwrap()
        .json()
        .clone();
    let (page, chrome) = (sizes[0].as_u64().unwrap(), sizes[1].as_u64().unwrap());
    browser
        .driver
        .set_window_rect(0, 0, WIDTH, (page + chrome) as u32)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
}

async fn save(browser: &common::Browser, name: &str, out: &std::path::Path) {
    let shot = browser.screenshot(&format!("docs-{name}")).await;
    let target = out.join(format!("{name}.png"));
    std::fs::copy(&shot, &target).unwrap();
    let bytes = std::fs::metadata(&target).unwrap().len();
    println!("{}: {} KB", target.display(), bytes / 1024);
}
