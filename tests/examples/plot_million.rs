//! Measures the Curves page with 1,000,000 points (10 runs x 100,000 steps) in a real
//! headless Chromium: time to first draw after opening the page, and time for the chart
//! to follow a smoothing change (the full-resolution EMA plus LTTB to 2,000 points per
//! line). Run: `cargo xtask dist && cargo build --all-targets &&
//! $CARGO_TARGET_DIR/debug/examples/plot_million`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let server = common::start_server().await;
    let browser = common::start_browser().await;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("million.csv");
    let mut text = String::from("run,step,lr,loss\n");
    for run in 0..10 {
        for step in 1..=100_000u32 {
            let noise = ((step as f64 * 12.9898 + run as f64).sin() * 43758.5453).fract() * 0.05;
            let loss = 2.0 + run as f64 * 0.05 + 8.0 / (step as f64).sqrt() + noise;
            text.push_str(&format!("r{run},{step},0.0003,{loss}\n"));
        }
    }
    std::fs::write(&csv, text).unwrap();
    let t = Instant::now();
    browser.upload(&server.url, &[csv]).await;
    println!(
        "upload + import of 1,000,000 rows: {:.2} s",
        t.elapsed().as_secs_f64()
    );

    // In-app navigation keeps the ten freshly imported runs ticked.
    let t = Instant::now();
    browser.click(thirtyfour::By::LinkText("Curves")).await;
    browser
        .wait_for(
            "ten drawn lines",
            "const c = document.getElementById('loss-chart');
             return c && c.data && c.data.filter(t => t.name.startsWith('r') && !t.name.endsWith('(raw)') && t.yaxis !== 'y2').length === 10;",
        )
        .await;
    println!(
        "Curves page, 10 x 100,000 points fetched and drawn: {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let drawn = browser
        .driver
        .execute("return document.getElementById('loss-chart').data.reduce((n, t) => n + t.x.length, 0);", vec![])
        .await
        .unwrap()
        .json()
        .clone();
    println!("points handed to plotly (all traces): {drawn}");
    for w in ["0.9", "0.3", "0.95"] {
        let t = Instant::now();
        browser.set_value("smoothing", w).await;
        browser
            .wait_for(
                "the redraw",
                &format!(
                    "return document.querySelector('.slider output').innerText === '{:.2}';",
                    w.parse::<f64>().unwrap()
                ),
            )
            .await;
        println!(
            "smoothing -> {w}: chart updated in {:.0} ms",
            t.elapsed().as_secs_f64() * 1000.0
        );
    }
    browser.screenshot("million-points").await;
}
