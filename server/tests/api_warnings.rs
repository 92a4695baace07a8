//! Honest warnings through the API (in process and over TCP): a momentum fit of the
//! published cosine and constant runs (peak LR 3e-4, 24000 steps) records what it covers,
//! and forecasts that leave it (a new peak LR, far beyond the horizon, a new schedule
//! family) carry warnings, in `/predict`'s `X-Curvecast-Warnings` header (every format)
//! and in `/best-schedule`'s answer; an in-range forecast carries none.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use shared::api::{FitDetail, FitStatus, FitSummary, ForecastWarning, RankedSchedule};

mod common;
use common::TestApp;

async fn post_json(app: &TestApp, uri: &str, body: String) -> (StatusCode, HeaderMap, Vec<u8>) {
    let request = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap();
    common::send(&app.router, request).await
}

fn mpl(file: &str) -> (&str, Vec<u8>) {
    let path = format!(
        "{}/../../shared/data/multipowerlaw/csv_25/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    (file, std::fs::read(path).unwrap())
}

/// A done momentum fit of cosine_24000 and constant_24000, wsdcon_3 held out.
async fn fitted(app: &TestApp) -> FitDetail {
    let files = [
        mpl("cosine_24000.csv"),
        mpl("constant_24000.csv"),
        mpl("wsdcon_3.csv"),
    ];
    let ids = common::upload(app, &files).await;
    let request = serde_json::json!({
        "law": "momentum", "runs": [ids[0], ids[1]], "holdout": [ids[2]],
        "options": {"bootstrap": 4}
    });
    let (status, _, body) = post_json(app, "/api/fits", request.to_string()).await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let id = serde_json::from_slice::<FitSummary>(&body).unwrap().id;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let request = Request::get(format!("/api/fits/{id}"))
            .body(Body::empty())
            .unwrap();
        let (_, _, body) = common::send(&app.router, request).await;
        let fit: FitDetail = serde_json::from_slice(&body).unwrap();
        if !matches!(fit.summary.status, FitStatus::Queued | FitStatus::Running) {
            assert_eq!(
                fit.summary.status,
                FitStatus::Done,
                "{:?}",
                fit.summary.error
            );
            return fit;
        }
        assert!(
            Instant::now() < deadline,
            "fit {id} did not finish in 120 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The warning codes `/predict` sends for `schedule` in `format`.
async fn predict_codes(
    app: &TestApp,
    id: i64,
    body: serde_json::Value,
    format: &str,
) -> Vec<String> {
    let uri = format!("/api/fits/{id}/predict?format={format}");
    let (status, headers, answer) = post_json(app, &uri, body.to_string()).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let header = headers
        .get("x-curvecast-warnings")
        .unwrap_or_else(|| panic!("no warnings header for {body} as {format}"))
        .to_str()
        .unwrap();
    let warnings: Vec<ForecastWarning> = serde_json::from_str(header).unwrap();
    warnings.into_iter().map(|w| w.code).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn forecasts_outside_the_fit_say_so() {
    common::both_transports(forecasts_outside_the_fit_say_so_case).await;
}

async fn forecasts_outside_the_fit_say_so_case() {
    let app = TestApp::new(server::api::Config::default());
    let fit = fitted(&app).await;
    let id = fit.summary.id;

    // The report says what the fit covers: the fitted runs only, not the held-out one.
    let coverage = fit.report.as_ref().unwrap().coverage.clone().unwrap();
    assert_eq!(coverage.peak_lr, [3e-4, 3e-4]);
    assert_eq!(coverage.families, ["constant", "cosine"]);
    assert_eq!(coverage.last_step, 23_936);
    assert_eq!(coverage.runs.len(), 2);
    let text = fit.report_text.unwrap();
    for line in [
        "[[Coverage]]",
        "peak LR            = 3e-4 (+/- 1%)",
        "longest run        = last step 23936 (forecasts up to 71808 steps)",
        "schedule families  = constant, cosine",
        "- cosine_24000: peak LR 3e-4, last step 23920, cosine",
    ] {
        assert!(text.contains(line), "no '{line}' in\n{text}");
    }

    let schedule = |s: &str| serde_json::json!({"schedule": s, "every": 1000});
    let in_range = "cosine:peak=3e-4,final=3e-5,warmup=2160,total=24000";
    let cases: [(serde_json::Value, &[&str]); 5] = [
        (schedule(in_range), &[]),
        (
            schedule("cosine:peak=1e-3,final=3e-5,warmup=2160,total=24000"),
            &["peak_lr_outside_fit"],
        ),
        (
            schedule("constant:peak=3e-4,warmup=2160,total=100000"),
            &["horizon_beyond_fit"],
        ),
        (
            schedule("wsd:peak=3e-4,warmup=2160,total=24000,decay=0.2,shape=sqrt"),
            &["family_not_fitted"],
        ),
        // Explicit learning rates: a cycling schedule is no family at all.
        (
            serde_json::json!({
                "lrs": (0..20_000).map(|t| 3e-4 * (0.6 + 0.4 * (t as f64 / 700.0).cos())).collect::<Vec<f64>>(),
                "every": 1000
            }),
            &["family_not_fitted"],
        ),
    ];
    for (body, want) in &cases {
        for format in ["json", "csv", "parquet"] {
            assert_eq!(
                predict_codes(&app, id, body.clone(), format).await,
                *want,
                "{body} as {format}"
            );
        }
    }

    // best-schedule: each candidate carries its own warnings.
    let request = serde_json::json!({"candidates": [
        in_range,
        "cosine:peak=1e-3,final=3e-5,warmup=2160,total=24000",
        "wsd:peak=3e-4,warmup=2160,total=24000,decay=0.2,shape=sqrt",
    ]});
    let uri = format!("/api/fits/{id}/best-schedule");
    let (status, _, body) = post_json(&app, &uri, request.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let ranked: Vec<RankedSchedule> = serde_json::from_slice(&body).unwrap();
    let codes = |spec: &str| -> Vec<String> {
        let r = ranked.iter().find(|r| r.schedule == spec).unwrap();
        r.warnings.iter().map(|w| w.code.clone()).collect()
    };
    assert_eq!(codes(in_range), Vec::<String>::new());
    assert_eq!(
        codes("cosine:peak=1e-3,final=3e-5,warmup=2160,total=24000"),
        ["peak_lr_outside_fit"]
    );
    assert_eq!(
        codes("wsd:peak=3e-4,warmup=2160,total=24000,decay=0.2,shape=sqrt"),
        ["family_not_fitted"]
    );
    let message = &ranked
        .iter()
        .find(|r| r.schedule.starts_with("wsd"))
        .unwrap()
        .warnings[0]
        .message;
    assert_eq!(
        message,
        "schedule family wsd-sqrt was never fitted (fitted: constant, cosine)"
    );
    // A horizon past 3 x 23936 steps flags every candidate; the held end value is no new family.
    let request = serde_json::json!({"candidates": [in_range], "horizon": 80_000});
    let (_, _, body) = post_json(&app, &uri, request.to_string()).await;
    let ranked: Vec<RankedSchedule> = serde_json::from_slice(&body).unwrap();
    let codes: Vec<&str> = ranked[0].warnings.iter().map(|w| w.code.as_str()).collect();
    assert_eq!(codes, ["horizon_beyond_fit"]);
}
