//! In a real browser: Chinchilla fitted to the Epoch table (Besiroglu et al.'s
//! digitised Chinchilla runs); the Scaling page's budget box gives the compute-optimal
//! N, D and loss of the fitted law, and rejects a budget that is not a number.

mod common;

use common::{start_browser, start_server};
use shared::laws::chinchilla::Chinchilla;

const EPOCH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/epoch_chinchilla/svg_extracted_data.csv"
);

#[tokio::test(flavor = "multi_thread")]
async fn budget_box_reads_a_compute_optimal_plan() {
    let server = start_server().await;
    let browser = start_browser().await;
    browser.upload(&server.url, &[EPOCH.into()]).await;
    let ids: Vec<i64> = browser.run_ids().await.into_values().collect();
    assert_eq!(ids.len(), 245);
    let fit = browser
        .fit_done(
            serde_json::json!({ "law": "chinchilla", "runs": ids, "options": { "bootstrap": 20 } }),
        )
        .await;
    let id = fit["id"].as_i64().unwrap();
    let p: Vec<f64> = serde_json::from_value(fit["params"].clone()).unwrap();
    let names: Vec<&str> = fit["report"]["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b", "e", "alpha", "beta"]);
    let law = Chinchilla::from_log_params([p[0], p[1], p[2], p[3], p[4]]);

    browser
        .driver
        .goto(format!("{}/scaling?fit={id}", server.url))
        .await
        .unwrap();
    browser
        .wait_for(
            "the budget box",
            "return document.getElementById('budget') !== null;",
        )
        .await;
    browser.set_value("budget", "1e22").await;
    let plan = browser
        .wait_for(
            "the plan",
            "const n = document.getElementById('plan-n'); const c = document.getElementById('scaling-frontier');
             return n && c && c.data && c.data.length >= 2 ? {
                n: n.innerText, d: document.getElementById('plan-d').innerText,
                ratio: document.getElementById('plan-ratio').innerText,
                loss: document.getElementById('plan-loss').innerText } : null;",
        )
        .await;
    let num = |k: &str| plan[k].as_str().unwrap().parse::<f64>().unwrap();
    let (n, d) = (law.n_opt(1e22), law.d_opt(1e22));
    assert!((num("n") / n - 1.0).abs() < 1e-3, "N {} vs {n}", num("n"));
    assert!((num("d") / d - 1.0).abs() < 1e-3, "D {} vs {d}", num("d"));
    assert!((num("ratio") - d / n).abs() < 0.051);
    assert!((num("loss") - law.loss_opt(1e22)).abs() < 5e-5);
    // 6 N D is the budget.
    assert!((6.0 * num("n") * num("d") / 1e22 - 1.0).abs() < 3e-3);
    // The plane shows the 245 runs over iso-loss contours, with the frontier.
    let plane = browser
        .wait_for(
            "the (N, D) plane",
            "const c = document.getElementById('scaling-plane');
             return c && c.data && c.data.length === 3 ? { types: c.data.map(t => t.type), runs: c.data[1].x.length } : null;",
        )
        .await;
    assert_eq!(plane["types"][0], "contour");
    assert_eq!(plane["runs"], 245);
    let bands = browser
        .driver
        .execute("return document.getElementById('scaling-frontier').data.filter(t => t.fill === 'tonexty').length;", vec![])
        .await
        .unwrap()
        .json()
        .clone();
    assert_eq!(bands, 2, "N_opt and D_opt bootstrap bands");
    // Loss vs N and vs D: the 245 runs in bins of the other variable, each bin with the
    // law's line at its fixed D (N); the lines are the fitted law's values.
    for (id, by_n) in [("scaling-loss-n", true), ("scaling-loss-d", false)] {
        let chart = browser
            .wait_for(
                id,
                &format!(
                    "const c = document.getElementById('{id}');
                     return c && c.data && c.data.length >= 2 ? c.data.map(t => ({{ name: t.name, mode: t.mode, x: t.x, y: t.y }})) : null;"
                ),
            )
            .await;
        let traces = chart.as_array().unwrap();
        let runs: usize = traces
            .iter()
            .filter(|t| t["mode"] == "markers")
            .map(|t| t["x"].as_array().unwrap().len())
            .sum();
        assert_eq!(runs, 245, "{id}");
        let mut lines = 0;
        for t in traces.iter().filter(|t| t["mode"] == "lines") {
            lines += 1;
            let name = t["name"].as_str().unwrap();
            let fixed: f64 = name.rsplit("= ").next().unwrap().parse().unwrap();
            for (x, y) in t["x"]
                .as_array()
                .unwrap()
                .iter()
                .zip(t["y"].as_array().unwrap())
            {
                let v = x.as_f64().unwrap();
                let want = if by_n {
                    law.loss(v, fixed)
                } else {
                    law.loss(fixed, v)
                };
                // `fixed` is read from the 4-digit label: the loss moves far less than 1e-3.
                assert!(
                    (y.as_f64().unwrap() / want - 1.0).abs() < 1e-3,
                    "{name} at {v}"
                );
            }
        }
        assert!(lines >= 2, "{id}: {lines} law lines");
    }
    browser.screenshot("scaling-plan").await;

    browser.set_value("budget", "lots").await;
    let message = browser
        .wait_for(
            "the budget error",
            "const e = document.getElementById('plan-error'); return e && e.innerText;",
        )
        .await;
    assert!(
        message.as_str().unwrap().contains("'lots' is not a number"),
        "{message}"
    );
}
