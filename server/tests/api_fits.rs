//! Fits through the API over the real router (in process and over TCP): a fit as a job, its report, forecasts
//! exported as CSV, JSON and Parquet (read back with polars), and the error cases.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use polars::prelude::*;
use server::api::Config;
use shared::api::{FitDetail, FitStatus, FitSummary};

mod common;
use common::TestApp;

fn test_app() -> TestApp {
    TestApp::new(Config::default())
}

/// The status, body and `Location` header of the answer.
async fn call(app: &TestApp, request: Request<Body>) -> (StatusCode, Vec<u8>, Option<String>) {
    let (status, headers, body) = common::send(&app.router, request).await;
    let location = headers
        .get(header::LOCATION)
        .map(|l| l.to_str().unwrap().to_string());
    (status, body, location)
}

async fn post_json(app: &TestApp, uri: &str, body: &str) -> (StatusCode, Vec<u8>, Option<String>) {
    call(
        app,
        Request::post(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
    )
    .await
}

async fn get(app: &TestApp, uri: &str) -> (StatusCode, Vec<u8>) {
    let (s, b, _) = call(app, Request::get(uri).body(Body::empty()).unwrap()).await;
    (s, b)
}

fn mpl(file: &str) -> (&str, Vec<u8>) {
    let path = format!(
        "{}/../../shared/data/multipowerlaw/csv_25/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    (file, std::fs::read(path).unwrap())
}

async fn wait_done(app: &TestApp, id: i64) -> FitDetail {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (status, body) = get(app, &format!("/api/fits/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        let fit: FitDetail = serde_json::from_slice(&body).unwrap();
        if !matches!(fit.summary.status, FitStatus::Queued | FitStatus::Running) {
            return fit;
        }
        assert!(
            Instant::now() < deadline,
            "fit {id} did not finish in 120 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn error_code(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(body)));
    v["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error: {v}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn fit_job_report_and_exports() {
    common::both_transports(fit_job_report_and_exports_case).await;
}

async fn fit_job_report_and_exports_case() {
    let app = test_app();
    let ids = common::upload(
        &app,
        &[
            mpl("cosine_24000.csv"),
            mpl("constant_24000.csv"),
            mpl("wsdcon_3.csv"),
        ],
    )
    .await;
    let request = format!(
        r#"{{"law": "momentum", "runs": [{}, {}], "holdout": [{}], "options": {{"bootstrap": 20}}}}"#,
        ids[0], ids[1], ids[2]
    );
    let (status, body, location) = post_json(&app, "/api/fits", &request).await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let summary: FitSummary = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        location.as_deref(),
        Some(format!("/api/fits/{}", summary.id).as_str())
    );

    let fit = wait_done(&app, summary.id).await;
    assert_eq!(
        fit.summary.status,
        FitStatus::Done,
        "{:?}",
        fit.summary.error
    );
    let report = fit.report.unwrap();
    assert_eq!(report.params.len(), 4);
    assert!(
        report.params.iter().all(|p| p.ci.is_some()),
        "bootstrap intervals"
    );
    let held = report.holdout.iter().find(|m| m.run == "wsdcon_3").unwrap();
    assert!(
        held.mean_rel_error < 0.01,
        "held-out error {}",
        held.mean_rel_error
    );
    assert!(fit.report_text.unwrap().contains("[[Variables]]"));
    let (_, listed) = get(&app, "/api/fits").await;
    assert_eq!(
        serde_json::from_slice::<Vec<FitSummary>>(&listed)
            .unwrap()
            .len(),
        1
    );

    // The same forecast in three formats, read back, is the same numbers.
    let predict = r#"{"schedule": "wsd:peak=3e-4,warmup=2160,total=24000,decay=0.2,shape=sqrt", "every": 500}"#;
    let uri = format!("/api/fits/{}/predict", summary.id);
    let (status, json, _) = post_json(&app, &format!("{uri}?format=json"), predict).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&json));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&json).unwrap();
    assert_eq!(rows.len(), 47);
    let from_json: Vec<(u64, f64, f64, f64)> = rows
        .iter()
        .map(|r| {
            (
                r["step"].as_u64().unwrap(),
                r["loss"].as_f64().unwrap(),
                r["lower"].as_f64().unwrap(),
                r["upper"].as_f64().unwrap(),
            )
        })
        .collect();
    let (_, csv, _) = post_json(&app, &format!("{uri}?format=csv"), predict).await;
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.starts_with("run,step,loss,lower,upper\n"));
    let from_csv: Vec<(u64, f64, f64, f64)> = csv
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.rsplitn(5, ',').collect();
            (
                c[3].parse().unwrap(),
                c[2].parse().unwrap(),
                c[1].parse().unwrap(),
                c[0].parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(from_csv, from_json);
    let (_, parquet, _) = post_json(&app, &format!("{uri}?format=parquet"), predict).await;
    let frame = ParquetReader::new(std::io::Cursor::new(parquet))
        .finish()
        .unwrap();
    let col = |name: &str| {
        frame
            .column(name)
            .unwrap()
            .f64()
            .unwrap()
            .into_no_null_iter()
            .collect::<Vec<f64>>()
    };
    let steps: Vec<u64> = frame
        .column("step")
        .unwrap()
        .u64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    let (loss, lower, upper) = (col("loss"), col("lower"), col("upper"));
    let from_parquet: Vec<(u64, f64, f64, f64)> = (0..steps.len())
        .map(|i| (steps[i], loss[i], lower[i], upper[i]))
        .collect();
    assert_eq!(from_parquet, from_json);

    // Deleting the fit: later predictions are 404.
    let (status, _, _) = call(
        &app,
        Request::delete(format!("/api/fits/{}", summary.id))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body, _) = post_json(&app, &uri, predict).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
}

/// The FSL, the convex bound and the S1 power law as jobs: fitted on the paper protocol's
/// three real runs (LRs from their logged `lr` column), `wsdcon_3` held out, then a
/// forecast of a new schedule through `predict` (the same law instances the browser's
/// Forecast page builds). (Without `wsdcon_9` the FSL forecasts `wsdcon_3` 1.0% off: a
/// cosine and a constant run leave its realisation speed `c4, gamma` loose.)
#[tokio::test(flavor = "multi_thread")]
async fn newer_schedule_laws_fit_and_forecast() {
    let app = test_app();
    let ids = common::upload(
        &app,
        &[
            mpl("cosine_24000.csv"),
            mpl("constant_24000.csv"),
            mpl("wsdcon_9.csv"),
            mpl("wsdcon_3.csv"),
        ],
    )
    .await;
    let mut errors = Vec::new();
    for (law, names) in [
        ("fsl", &["L0", "c1", "c2", "c3", "c4", "s", "gamma"][..]),
        ("convex", &["D", "G1", "G2", "A1", "A2", "B", "C", "M"][..]),
        ("power-s1", &["L0", "A", "alpha"][..]),
    ] {
        let request = format!(
            r#"{{"law": "{law}", "runs": [{}, {}, {}], "holdout": [{}]}}"#,
            ids[0], ids[1], ids[2], ids[3]
        );
        let (status, body, _) = post_json(&app, "/api/fits", &request).await;
        assert_eq!(
            status,
            StatusCode::ACCEPTED,
            "{law}: {}",
            String::from_utf8_lossy(&body)
        );
        let id = serde_json::from_slice::<FitSummary>(&body).unwrap().id;
        let fit = wait_done(&app, id).await;
        assert_eq!(
            fit.summary.status,
            FitStatus::Done,
            "{law}: {:?}",
            fit.summary.error
        );
        let report = fit.report.unwrap();
        let got: Vec<&str> = report.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(got, names);
        let held = report.holdout.iter().find(|m| m.run == "wsdcon_3").unwrap();
        println!(
            "{law}: wsdcon_3 held out, mean rel error {:.5}",
            held.mean_rel_error
        );
        errors.push(held.mean_rel_error);
        assert!(fit.report_text.unwrap().contains("[[Variables]]"));
        let predict = r#"{"schedule": "wsd:peak=3e-4,warmup=2160,total=24000,decay=0.2,shape=sqrt", "every": 500}"#;
        let (status, json, _) = post_json(
            &app,
            &format!("/api/fits/{id}/predict?format=json"),
            predict,
        )
        .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{law}: {}",
            String::from_utf8_lossy(&json)
        );
        let loss: Vec<f64> = serde_json::from_slice::<Vec<serde_json::Value>>(&json)
            .unwrap()
            .iter()
            .map(|r| r["loss"].as_f64().unwrap())
            .collect();
        assert_eq!(loss.len(), 47);
        // The loss falls through training and on through the cooldown (steps 19,500 on).
        assert!(loss[5] > loss[38] && loss[38] > loss[46], "{law}: {loss:?}");
    }
    // The laws with an annealing term forecast the step decay within 1%; the S1 power law,
    // blind to it, does worse than both (1.2%).
    let [fsl, convex, power] = errors[..] else {
        unreachable!()
    };
    assert!(fsl < 0.01 && convex < 0.01, "{errors:?}");
    assert!(power > fsl.max(convex), "{errors:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_fit_requests_say_why() {
    common::both_transports(bad_fit_requests_say_why_case).await;
}

async fn bad_fit_requests_say_why_case() {
    let app = test_app();
    let ids = common::upload(
        &app,
        &[
            mpl("cosine_24000.csv"),
            ("no_lr.csv", b"step,loss\n1,4.0\n2,3.9\n3,3.7\n".to_vec()),
        ],
    )
    .await;
    for (body, status, code) in [
        ("{not json", StatusCode::BAD_REQUEST, "invalid_json"),
        (
            r#"{"law": "nonsense", "runs": [1]}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_fit_request",
        ),
        (
            r#"{"law": "momentum", "runs": [999]}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_fit_request",
        ),
        (
            r#"{"law": "momentum", "runs": []}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_fit_request",
        ),
        (
            r#"{"law": "momentum", "runs": [1], "options": {"penalty": "l7"}}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_fit_request",
        ),
        (
            r#"{"law": "momentum", "runs": [1], "typo": 3}"#,
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            r#"{"law": "momentum", "runs": [1], "options": {"run_weights": {"2": 1.0}}}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_fit_request",
        ),
        (
            r#"{"law": "momentum", "runs": [1], "options": {"run_weights": {"1": -1.0}}}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_fit_request",
        ),
    ] {
        let (got, response, _) = post_json(&app, "/api/fits", body).await;
        assert_eq!(
            (got, error_code(&response)),
            (status, code.to_string()),
            "{body}"
        );
    }
    // A schedule law on a run without learning rates is refused at once, naming the run.
    let (status, body, _) = post_json(
        &app,
        "/api/fits",
        &format!(r#"{{"law": "multipower", "runs": [{}]}}"#, ids[1]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        String::from_utf8_lossy(&body).contains("no_lr"),
        "{}",
        String::from_utf8_lossy(&body)
    );

    // Too few points for the law: the job fails with the reason.
    let schedule = r#"constant:peak=1e-3,total=10"#;
    let (status, body, _) =
        post_json(&app, "/api/fits", &format!(r#"{{"law": "momentum", "runs": [{}], "options": {{"schedules": {{"{}": "{schedule}"}}}}}}"#, ids[1], ids[1])).await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let id = serde_json::from_slice::<FitSummary>(&body).unwrap().id;
    let fit = wait_done(&app, id).await;
    assert_eq!(fit.summary.status, FitStatus::Failed);
    assert!(fit.summary.error.unwrap().contains("cannot determine"));
    // Forecasting from a failed fit is a conflict.
    let (status, body, _) = post_json(
        &app,
        &format!("/api/fits/{id}/predict"),
        r#"{"schedule": "constant:peak=1e-3,total=100"}"#,
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::CONFLICT, "fit_not_done")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_queued_fit_can_be_cancelled() {
    common::both_transports(a_queued_fit_can_be_cancelled_case).await;
}

async fn a_queued_fit_can_be_cancelled_case() {
    let app = test_app();
    let ids = common::upload(&app, &[mpl("cosine_24000.csv"), mpl("constant_24000.csv")]).await;
    let slow = format!(
        r#"{{"law": "momentum", "runs": [{}, {}], "options": {{"bootstrap": 400}}}}"#,
        ids[0], ids[1]
    );
    let (_, first, _) = post_json(&app, "/api/fits", &slow).await;
    let (_, second, _) = post_json(&app, "/api/fits", &slow).await;
    let (first, second) = (
        serde_json::from_slice::<FitSummary>(&first).unwrap().id,
        serde_json::from_slice::<FitSummary>(&second).unwrap().id,
    );
    let (status, body, _) = post_json(&app, &format!("/api/fits/{second}/cancel"), "").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        serde_json::from_slice::<FitSummary>(&body).unwrap().status,
        FitStatus::Cancelled
    );
    assert_eq!(wait_done(&app, first).await.summary.status, FitStatus::Done);
    // The cancelled fit never ran and stays cancelled.
    let fit = wait_done(&app, second).await;
    assert_eq!(
        (fit.summary.status, fit.report),
        (FitStatus::Cancelled, None)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_fit_reports_progress_and_stops_when_cancelled() {
    let app = test_app();
    let ids = common::upload(&app, &[mpl("cosine_24000.csv"), mpl("constant_24000.csv")]).await;
    // The largest bootstrap allowed: tens of seconds of work, so that stopping early shows.
    let slow = format!(
        r#"{{"law": "momentum", "runs": [{}, {}], "options": {{"bootstrap": 10000}}}}"#,
        ids[0], ids[1]
    );
    let (_, body, _) = post_json(&app, "/api/fits", &slow).await;
    let id = serde_json::from_slice::<FitSummary>(&body).unwrap().id;

    // Progress: the bootstrap stage, counting up to its 10,000 resamples, watched for
    // half a second to measure its pace.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen: Vec<(Instant, u64)> = Vec::new();
    while seen.len() < 2 || seen[0].0.elapsed() < Duration::from_millis(500) {
        assert!(Instant::now() < deadline, "no bootstrap progress: {seen:?}");
        let (_, body) = get(&app, &format!("/api/fits/{id}")).await;
        let fit: FitDetail = serde_json::from_slice(&body).unwrap();
        if let Some(p) = fit
            .progress
            .filter(|p| p.stage == "bootstrap" && p.done > 0)
        {
            assert_eq!(p.total, 10_000);
            assert!(p.done < p.total, "{p:?}");
            seen.push((Instant::now(), p.done));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ((t0, d0), (t1, d1)) = (seen[0], *seen.last().unwrap());
    assert!(d1 > d0, "the bootstrap does not advance: {seen:?}");
    let rate = (d1 - d0) as f64 / (t1 - t0).as_secs_f64();
    let remaining = (10_000 - d1) as f64 / rate;

    let (status, body, _) = post_json(&app, &format!("/api/fits/{id}/cancel"), "").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    // The work itself stops: the job leaves the server long before its remaining
    // resamples could have run.
    let cancelled_at = Instant::now();
    loop {
        let (_, body) = get(&app, "/api/health").await;
        let health: shared::api::Health = serde_json::from_slice(&body).unwrap();
        if health.active_fits == 0 {
            break;
        }
        assert!(
            cancelled_at.elapsed().as_secs_f64() < remaining / 4.0,
            "the cancelled fit is still working after {:?} (about {remaining:.0} s of work were left)",
            cancelled_at.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let fit = wait_done(&app, id).await;
    assert_eq!(
        (fit.summary.status, fit.report, fit.progress),
        (FitStatus::Cancelled, None, None)
    );
}
