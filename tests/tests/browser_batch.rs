//! In a real browser: the Batch size page on Zhang et al.'s published sweep (steps to a
//! goal loss for 5 model sizes x 9 batch sizes) and on the Step Law learning-rate x
//! batch table. The numbers shown equal the API's answer for the same rows (1e-9
//! relative), the chosen-batch box follows `S = S_min + E_min / B`, the charts and their
//! export hold what is shown, and bad input is answered next to the input.

mod common;

use common::{start_browser, start_server};
use serde_json::{Value, json};
use thirtyfour::By;

const ZHANG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/zhang_cbs/steps_to_goal_loss_vs_batch.csv"
);
const STEPLAW: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/steplaw/dense_lr_bs_loss.csv"
);

fn close(shown: f64, want: f64, tol: f64, what: &str) {
    assert!(
        (shown - want).abs() <= tol * want.abs(),
        "{what}: shown {shown}, API {want}"
    );
}

/// The API's answer for a file: read by `read` (`/api/batch/table` or `/api/hyper/table`),
/// then posted to `fit` with `options`.
async fn api_answer(
    browser: &common::Browser,
    file: &str,
    read: &str,
    fit: &str,
    options: Value,
) -> Value {
    let text = std::fs::read_to_string(file).unwrap();
    let key = if fit.contains("hyper") {
        "rows"
    } else {
        "table"
    };
    browser
        .driver
        .execute(
            "const [text, read, fit, key, options] = arguments;
             return fetch(read + '?name=sweep.csv', { method: 'POST', body: text })
               .then(r => r.json())
               .then(rows => fetch(fit, { method: 'POST', headers: { 'content-type': 'application/json' },
                                          body: JSON.stringify({ [key]: rows, options }) }))
               .then(r => r.json());",
            vec![json!(text), json!(read), json!(fit), json!(key), options],
        )
        .await
        .unwrap()
        .json()
        .clone()
}

async fn pick(browser: &common::Browser, input: &str, file: &str) {
    let path = std::fs::canonicalize(file).unwrap();
    browser
        .driver
        .find(By::Id(input))
        .await
        .unwrap()
        .send_keys(path.display().to_string())
        .await
        .unwrap();
}

async fn value_of(browser: &common::Browser, id: &str) -> f64 {
    let v = browser
        .wait_for(
            id,
            &format!("const e = document.getElementById('{id}'); return e && e.dataset.value;"),
        )
        .await;
    v.as_str().unwrap().parse().unwrap()
}

/// The targets of an analysis answer, in the page's row order.
fn targets_of(api: &Value) -> Vec<&Value> {
    api["models"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["targets"].as_array().unwrap())
        .collect()
}

/// The per-target table shows the API's numbers (each target from `points` runs).
async fn check_targets_shown(browser: &common::Browser, targets: &[&Value], points: usize) {
    for (i, t) in targets.iter().enumerate() {
        assert_eq!(t["points"].as_array().unwrap().len(), points, "target {i}");
        for (id, want) in [
            ("s-min", &t["s_min"]["value"]),
            ("e-min", &t["e_min"]["value"]),
            ("b-crit", &t["b_crit"]["value"]),
            ("cbs", &t["zhang_cbs"]["cbs"]["value"]),
            ("rms", &t["rms_log_error"]),
        ] {
            let shown = value_of(browser, &format!("{id}-{i}")).await;
            close(shown, want.as_f64().unwrap(), 1e-9, &format!("{id}-{i}"));
        }
    }
}

/// Waits until the Batch size page has rendered.
async fn batch_page_shown(browser: &common::Browser) {
    browser
        .wait_for(
            "the batch page",
            "return document.getElementById('batch-file') !== null && document.getElementById('batch-ticked') !== null;",
        )
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_page_on_zhang_and_step_law() {
    let server = start_server().await;
    let browser = start_browser().await;
    browser
        .driver
        .goto(format!("{}/batch", server.url))
        .await
        .unwrap();
    batch_page_shown(&browser).await;

    // A table without a steps-to-target column: a readable error next to the input.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("no_steps.csv");
    std::fs::write(&bad, "model,batch,loss\na,64,3.1\n").unwrap();
    pick(&browser, "batch-file", bad.to_str().unwrap()).await;
    let message = browser
        .wait_for(
            "the table error",
            "const e = document.getElementById('batch-error'); return e && e.innerText;",
        )
        .await;
    assert!(
        message.as_str().unwrap().contains("no_steps.csv")
            && message
                .as_str()
                .unwrap()
                .contains("no steps-to-target column"),
        "{message}"
    );

    // Zhang's sweep with their reference batch B0 = 256.
    browser.set_value("batch-reference", "256").await;
    pick(&browser, "batch-file", ZHANG).await;
    browser
        .wait_for(
            "the analysis",
            "const t = document.getElementById('batch-targets');
             return t && t.querySelectorAll('tbody tr').length === 5 && !document.getElementById('batch-error');",
        )
        .await;
    let api = api_answer(
        &browser,
        ZHANG,
        "/api/batch/table",
        "/api/batch/analyze",
        json!({ "reference_batch": 256.0 }),
    )
    .await;
    let targets = targets_of(&api);
    assert_eq!(targets.len(), 5, "{api}");
    check_targets_shown(&browser, &targets, 9).await;
    // The readable text is the value to 4 significant digits.
    let text = browser
        .driver
        .find(By::Id("b-crit-0"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    close(
        text.parse().unwrap(),
        targets[0]["b_crit"]["value"].as_f64().unwrap(),
        1e-3,
        "B_crit text",
    );
    let laws = browser
        .driver
        .find(By::Id("batch-laws"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(laws.contains("B_crit(L) = B* / L^(1/alpha_B)"), "{laws}");
    assert!(laws.contains("Zhang CBS ="), "{laws}");
    // The B_crit(L) line is drawn with its 95% band, both as the API's law gives them.
    let law: shared::api::batch::BcritLaw =
        serde_json::from_value(api["b_crit_law"].clone()).unwrap();
    let drawn = browser
        .wait_for(
            "the B_crit(L) band",
            "const c = document.getElementById('batch-bcrit');
             const d = c && c.data;
             const line = d && d.find(t => t.name.startsWith('B_crit(L) ='));
             const upper = d && d.find(t => t.name === 'B_crit(L) 95% band');
             const lower = d && d.find(t => t.name === 'B_crit(L) 95% band lower');
             return line && upper && lower && upper.fill === 'tonexty'
                 ? { x: line.x, y: line.y, lo: lower.y, hi: upper.y } : null;",
        )
        .await;
    let column = |k: &str| -> Vec<f64> { serde_json::from_value(drawn[k].clone()).unwrap() };
    let (x, y, lo, hi) = (column("x"), column("y"), column("lo"), column("hi"));
    assert_eq!(x.len(), 40);
    for i in 0..x.len() {
        let (b, band) = law.at(x[i]);
        let [want_lo, want_hi] = band.expect("the API's law has standard errors");
        close(y[i], b, 1e-9, "B_crit(L) line");
        close(lo[i], want_lo, 1e-9, "band lower edge");
        close(hi[i], want_hi, 1e-9, "band upper edge");
        assert!(lo[i] < y[i] && y[i] < hi[i]);
    }

    // Chosen batch: 1024 sequences of 512 tokens.
    browser.set_value("chosen-batch", "1024").await;
    browser.set_value("chosen-unit", "512").await;
    for (i, t) in targets.iter().enumerate() {
        let (s_min, e_min) = (
            t["s_min"]["value"].as_f64().unwrap(),
            t["e_min"]["value"].as_f64().unwrap(),
        );
        let steps = s_min + e_min / 1024.0;
        close(
            value_of(&browser, &format!("chosen-steps-{i}")).await,
            steps,
            1e-9,
            "steps",
        );
        close(
            value_of(&browser, &format!("chosen-tokens-{i}")).await,
            steps * 1024.0 * 512.0,
            1e-9,
            "tokens",
        );
    }
    browser.set_value("chosen-batch", "many").await;
    let message = browser
        .wait_for(
            "the batch error",
            "const e = document.getElementById('chosen-error'); return e && e.innerText;",
        )
        .await;
    assert!(
        message
            .as_str()
            .unwrap()
            .contains("'many' is not a positive number"),
        "{message}"
    );
    browser.set_value("chosen-batch", "1024").await;

    // Charts: per target observed points and the fitted hyperbola, plus the B_crit knees;
    // B_crit and CBS vs loss with intervals and the B_crit(L) line; both vs model size.
    let charts = browser
        .wait_for(
            "the charts",
            "const h = document.getElementById('batch-hyperbolas'), b = document.getElementById('batch-bcrit'),
                   n = document.getElementById('batch-by-size');
             return h && b && n && h.data && b.data && n.data ? {
                h: h.data.length, h0: h.data[0].x.length, b: b.data.length,
                errors: b.data[0].error_y.array.length, n: n.data.length } : null;",
        )
        .await;
    assert_eq!(charts["h"], 11, "5 x (points + hyperbola) + knees");
    assert_eq!(charts["h0"], 9);
    assert_eq!(
        charts["b"], 5,
        "B_crit, CBS, the B_crit(L) band (two edges) and line"
    );
    assert_eq!(charts["errors"], 5);
    assert_eq!(charts["n"], 4, "CBS, B_crit and both fits");
    browser.click(By::Id("batch-bcrit-csv")).await;
    let csv = browser.downloaded("batch-bcrit.csv").await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "model,loss,b_crit,b_crit_lower,b_crit_upper,zhang_cbs,cbs_lower,cbs_upper"
    );
    assert_eq!(
        lines.len(),
        1 + 5 + 40,
        "5 targets and the 40-point law line"
    );
    browser.screenshot("batch-zhang").await;

    // A bad reference batch is answered next to it.
    browser.set_value("batch-reference", "-3").await;
    let message = browser
        .wait_for(
            "the reference error",
            "const e = document.getElementById('batch-error'); return e && e.innerText;",
        )
        .await;
    assert!(message.as_str().unwrap().contains("reference batch B0"));

    // Step Law: optimal LR and batch per cell, and the laws, as the API gives them.
    browser.set_value("hyper-unit", "2048").await;
    pick(&browser, "hyper-file", STEPLAW).await;
    let shown = browser
        .wait_for(
            "the hyper-parameter fit",
            "const l = document.getElementById('hyper-lr'), b = document.getElementById('hyper-batch');
             return l && b && l.data && b.data && l.data.length === 2 ? {
                lr: l.data[0].y, batch: b.data[0].y, laws: document.getElementById('hyper-laws').innerText } : null;",
        )
        .await;
    let api = api_answer(
        &browser,
        STEPLAW,
        "/api/hyper/table",
        "/api/hyper/fit",
        json!({ "tokens_per_batch_unit": 2048.0 }),
    )
    .await;
    let cells = api["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 17);
    for (i, c) in cells.iter().enumerate() {
        close(
            shown["lr"][i].as_f64().unwrap(),
            c["lr_opt"].as_f64().unwrap(),
            1e-9,
            "lr_opt",
        );
        close(
            shown["batch"][i].as_f64().unwrap(),
            c["batch_opt_tokens"].as_f64().unwrap(),
            1e-9,
            "batch_opt",
        );
    }
    let laws = shown["laws"].as_str().unwrap();
    let b = api["batch_vs_d"]["exponent"]["value"].as_f64().unwrap();
    assert!(
        laws.contains(&format!("exponent = {b:.4}")),
        "{laws} vs B_opt exponent {b}"
    );
    browser
        .driver
        .execute(
            "document.getElementById('hyper-section').scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
    browser.screenshot("batch-hyper").await;
}

/// The other way in: a batch sweep uploaded as training logs (one run per model and
/// batch, each with its `batch_size`), ticked on the Runs page and analysed by the
/// Batch size page. The numbers must be the API's for the same runs.
#[tokio::test(flavor = "multi_thread")]
async fn batch_page_on_the_ticked_runs() {
    let server = start_server().await;
    let browser = start_browser().await;

    // With nothing ticked, the button says what to do.
    browser
        .driver
        .goto(format!("{}/batch", server.url))
        .await
        .unwrap();
    batch_page_shown(&browser).await;
    browser.click(By::Id("batch-ticked")).await;
    let message = browser
        .wait_for(
            "the no-runs error",
            "const e = document.getElementById('batch-error'); return e && e.innerText;",
        )
        .await;
    assert!(
        message.as_str().unwrap().contains("no runs ticked"),
        "{message}"
    );

    // Two model sizes x four batch sizes of Su et al.'s law, logged every 100 steps.
    let spec = server::batch::synthetic::SweepSpec {
        n_params: vec![2e7, 2e8],
        batches: (16..=22).step_by(2).map(|k| 2f64.powi(k)).collect(),
        every: 100,
        ..Default::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("batch_sweep.csv");
    let csv = server::batch::synthetic::to_csv(&server::batch::synthetic::sweep(&spec));
    std::fs::write(&file, csv).unwrap();
    browser.upload(&server.url, &[file]).await;
    // In import order, as the page sends them: the runs' order changes the fits' sums in
    // the last digits (E_min by 2e-9 relative when shuffled).
    let mut ids: Vec<i64> = browser.run_ids().await.into_values().collect();
    ids.sort();
    assert_eq!(ids.len(), 8);

    // In-app navigation keeps the freshly imported runs ticked.
    browser.click(By::LinkText("Batch size")).await;
    batch_page_shown(&browser).await;
    browser.click(By::Id("batch-ticked")).await;
    let rows = browser
        .wait_for(
            "the analysis of the ticked runs",
            "const t = document.getElementById('batch-targets');
             const n = t ? t.querySelectorAll('tbody tr').length : 0;
             return n > 0 && !document.getElementById('batch-error') ? n : null;",
        )
        .await;
    let api = browser
        .api(
            "POST",
            "/api/batch/analyze",
            Some(json!({ "run_ids": ids, "options": {} })),
        )
        .await;
    let targets = targets_of(&api);
    assert_eq!(rows, targets.len(), "{api}");
    assert!(targets.len() >= 4, "{api}");
    // One point per batch size.
    check_targets_shown(&browser, &targets, 4).await;
    let summary = browser
        .driver
        .find(By::Css(".batch-page"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(summary.contains("8 ticked runs"), "{summary}");
    browser.screenshot("batch-ticked-runs").await;
}
