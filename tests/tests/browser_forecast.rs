//! In a real browser: with a momentum fit of published runs (csv_100), the Forecast
//! page recomputes a candidate's curve in the browser as a schedule field changes (no
//! request), and its values equal the server's `/predict` for the same schedule; a
//! candidate outside what the fit saw (a WSD, a new peak LR) shows its warnings beneath it
//! and one like the fitted runs none; the candidates live in the address, which a fresh
//! session reopens to the same curves.

mod common;

use common::{csv_100, start_browser, start_server};

/// Script prefix: `w(i)` is candidate `i`'s warnings list (codes, text, whether its row is
/// visible, whether the candidate's row carries the mark), or null before it exists.
const WARNINGS: &str = "const w = i => { const u = document.getElementById(`cand-${i}-warnings`);
    if (!u) return null; const row = u.closest('tr'); const own = row.previousElementSibling;
    return { codes: [...u.querySelectorAll('li')].map(l => l.dataset.code), text: u.innerText.trim(),
             visible: !row.hidden && row.getBoundingClientRect().height > 0,
             marked: !!own.querySelector('.warn-mark') }; };";

#[tokio::test(flavor = "multi_thread")]
async fn moving_a_schedule_field_changes_the_forecast_in_the_browser() {
    let server = start_server().await;
    let browser = start_browser().await;
    let files = csv_100(&["cosine_24000", "constant_24000"]);
    browser.upload(&server.url, &files).await;
    let ids = browser.run_ids().await;
    let fit = browser
        .fit_done(serde_json::json!({
            "law": "momentum", "runs": [ids["cosine_24000"], ids["constant_24000"]],
            "options": { "bootstrap": 8 }
        }))
        .await;
    let id = fit["id"].as_i64().unwrap();

    browser
        .driver
        .goto(format!("{}/forecast?fit={id}", server.url))
        .await
        .unwrap();
    let final_of = "const f = document.getElementById('cand-0-result'); const c = document.getElementById('forecast-chart');
                    const t = c && c.data && c.data.find(t => t.name === 'candidate 1');
                    return f && t && parseFloat(f.innerText) > 0 ? { text: f.innerText, y: t.y, x: t.x } : null;";
    let before = browser.wait_for("the first forecast", final_of).await;
    browser.screenshot("forecast-before").await;

    // Candidate 1 (cosine, peak 3e-4, 24000 steps) is like the fitted runs: no warning.
    // Candidate 2 (WSD with a 1-sqrt decay) is a family the fit never saw: said beneath it.
    let shown = browser
        .wait_for(
            "the WSD candidate's warning",
            &format!("{WARNINGS} const a = w(0), b = w(1); return a && b && b.codes.length ? [a, b] : null;"),
        )
        .await;
    assert_eq!(shown[0]["codes"], serde_json::json!([]), "{shown}");
    assert_eq!(shown[0]["visible"], false, "{shown}");
    assert_eq!(
        shown[1]["codes"],
        serde_json::json!(["family_not_fitted"]),
        "{shown}"
    );
    assert_eq!(shown[1]["visible"], true, "{shown}");
    assert_eq!(
        shown[1]["text"], "schedule family wsd-sqrt was never fitted (fitted: constant, cosine)",
        "{shown}"
    );
    assert_eq!(shown[1]["marked"], true, "{shown}");
    let coverage = browser
        .wait_for(
            "the fit's coverage",
            "const c = document.getElementById('forecast-coverage'); return c && c.innerText;",
        )
        .await;
    assert!(
        coverage.as_str().unwrap().starts_with(
            "Fitted on: peak LR 3e-4, runs up to step 23936, schedules constant, cosine."
        ),
        "{coverage}"
    );
    browser.screenshot("forecast-warnings").await;
    // API requests only (Chrome asks for the favicon again when the address is updated).
    let requests = "return performance.getEntriesByType('resource').filter(e => e.name.includes('/api/')).length;";
    let n_requests = browser
        .driver
        .execute(requests, vec![])
        .await
        .unwrap()
        .json()
        .clone();

    // Candidate 1 is a cosine to 3e-5; decaying only to 1e-4 ends at a higher loss.
    browser.set_value("cand-0-final", "1e-4").await;
    let script = format!(
        "const f = document.getElementById('cand-0-result');
         return f && f.innerText !== {:?} ? true : null;",
        before["text"].as_str().unwrap()
    );
    browser.wait_for("the updated forecast", &script).await;
    let after = browser.wait_for("the updated curve", final_of).await;
    let (b, a) = (
        before["text"].as_str().unwrap().parse::<f64>().unwrap(),
        after["text"].as_str().unwrap().parse::<f64>().unwrap(),
    );
    assert!(
        a > b,
        "final loss {b} -> {a}: a higher final LR should end higher"
    );
    let n_after = browser
        .driver
        .execute(requests, vec![])
        .await
        .unwrap()
        .json()
        .clone();
    assert_eq!(n_requests, n_after, "the forecast asked the server");
    browser.screenshot("forecast-after").await;

    // Same numbers as the server's forecast for that schedule (same shared law code).
    let server_points = browser
        .api(
            "POST",
            &format!("/api/fits/{id}/predict"),
            Some(serde_json::json!({
                "schedule": "cosine:peak=3e-4,final=1e-4,warmup=2160,total=24000", "every": 60
            })),
        )
        .await;
    // The page draws from the end of warmup (step 2160) on.
    let server_points: Vec<&serde_json::Value> = server_points
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["step"].as_f64().unwrap() >= 2160.0)
        .collect();
    let (xs, ys) = (
        after["x"].as_array().unwrap(),
        after["y"].as_array().unwrap(),
    );
    assert_eq!(server_points.len(), xs.len());
    assert_eq!(xs[0], 2160.0);
    for (p, (x, y)) in server_points.iter().zip(xs.iter().zip(ys)) {
        assert_eq!(p["step"].as_f64(), x.as_f64());
        let (s, b) = (p["loss"].as_f64().unwrap(), y.as_f64().unwrap());
        assert!(
            (s - b).abs() < 1e-12 * s.abs(),
            "step {x}: server {s}, browser {b}"
        );
    }

    // A bad field is named next to the candidate; the other candidate still forecasts.
    browser.set_value("cand-0-warmup", "-5").await;
    let message = browser
        .wait_for(
            "the field error",
            "const f = document.getElementById('cand-0-result'); return f && isNaN(parseFloat(f.innerText)) && f.innerText;",
        )
        .await;
    assert!(message.as_str().unwrap().contains("warmup"), "{message}");
    let best = browser
        .driver
        .execute(
            "return document.getElementById('best-candidate').innerText;",
            vec![],
        )
        .await
        .unwrap()
        .json()
        .clone();
    // The best is a WSD, which the fit never saw: the line says so.
    assert_eq!(
        best,
        "Best: candidate 2 (lowest final loss; outside what the fit saw: see its warnings)"
    );
    browser.screenshot("forecast-bad-field").await;

    // A peak LR above the fitted runs' is flagged as the field changes, and cleared again.
    browser.set_value("cand-0-warmup", "2160").await;
    browser.set_value("cand-0-peak", "1e-3").await;
    let flagged = browser
        .wait_for(
            "the peak-LR warning",
            &format!("{WARNINGS} const a = w(0); return a && a.codes.length ? a : null;"),
        )
        .await;
    assert_eq!(
        flagged["codes"],
        serde_json::json!(["peak_lr_outside_fit"]),
        "{flagged}"
    );
    assert_eq!(flagged["visible"], true, "{flagged}");
    assert!(
        flagged["text"]
            .as_str()
            .unwrap()
            .starts_with("peak LR 1e-3 is above the fitted runs' peak LR (3e-4)"),
        "{flagged}"
    );
    browser.screenshot("forecast-warning-peak").await;
    browser.set_value("cand-0-peak", "3e-4").await;
    browser
        .wait_for(
            "the cleared warning",
            &format!(
                "{WARNINGS} const a = w(0); return a && !a.codes.length && !a.visible && !a.marked;"
            ),
        )
        .await;

    // The address holds the candidates: a fresh session (no state) opens the same forecast.
    browser.click(thirtyfour::By::Id("add-candidate")).await;
    browser.set_value("cand-2-family", "linear").await;
    browser.set_value("cand-2-total", "30000").await;
    let curves = "const c = document.getElementById('forecast-chart');
                  const t = c && c.data && c.data.filter(t => /^candidate \\d+$/.test(t.name));
                  const v = [0, 1, 2].map(i => ['family', 'peak', 'final', 'warmup', 'total', 'decay', 'shape']
                      .map(k => document.getElementById(`cand-${i}-${k}`)?.value).join(' '));
                  return t && t.length === 3 && t[2].x[t[2].x.length - 1] > 29000 ? { fields: v, y: t.map(t => t.y) } : null;";
    let shown = browser.wait_for("three candidates", curves).await;
    let url = browser
        .driver
        .execute("return location.href;", vec![])
        .await
        .unwrap()
        .json()
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        url.contains(&format!("fit={id}")) && url.contains("c="),
        "{url}"
    );
    drop(browser);
    let fresh = start_browser().await;
    fresh.driver.goto(&url).await.unwrap();
    let reopened = fresh.wait_for("the shared forecast", curves).await;
    assert_eq!(reopened["fields"], shown["fields"]);
    assert_eq!(
        reopened["fields"][2], "linear 3e-4 3e-5 2160 30000 0.2 sqrt",
        "{reopened}"
    );
    assert_eq!(reopened["y"], shown["y"], "the same curves");
    fresh.screenshot("forecast-from-url").await;
}
