//! The HTTP API and the static web app.
//!
//! Architecture invariant: this is the only module that knows HTTP (axum). Handlers
//! convert between [`shared::api`] wire types and the store / ingestion types, and all
//! errors leave through [`ApiError`] as `{"error": {"code", "message", "details"}}`.

mod admission;
mod batch;
mod error;
mod fits;
mod guard;
mod openapi;
mod runs;
mod uniform;
mod webapp;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Json;
pub use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use tower_http::services::{ServeDir, ServeFile};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::ApiError;
pub use webapp::EmbeddedApp;

use crate::ingest::Limits;
use crate::store::Store;

/// Settings of a running server.
#[derive(Clone, Debug)]
pub struct Config {
    /// Largest request body accepted by the upload route, in bytes.
    pub max_upload_bytes: usize,
    pub limits: Limits,
    /// The built web app (`index.html`, wasm, JS, CSS) on disk; when `None`, the app
    /// embedded in the binary ([`Config::embedded`]) if any, else the API only.
    pub dist: Option<PathBuf>,
    /// The web app carried by the `curvecast` binary (empty in tests and plain builds).
    pub embedded: EmbeddedApp,
    /// When set, every `/api/*` request needs `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// Longest time an API request may take (uploads get [`Config::upload_timeout`]);
    /// fits are jobs, so their work is not bound by it.
    pub timeout: std::time::Duration,
    pub upload_timeout: std::time::Duration,
    /// How long an upload may wait for its share of the upload memory budget
    /// (see [`admission`]) before it is answered 503 `busy`.
    pub upload_wait: std::time::Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_upload_bytes: 128 * 1024 * 1024,
            limits: Limits::default(),
            dist: None,
            embedded: &[],
            token: None,
            timeout: std::time::Duration::from_secs(30),
            upload_timeout: std::time::Duration::from_secs(300),
            upload_wait: std::time::Duration::from_secs(30),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub jobs: crate::jobs::Jobs,
    pub config: Arc<Config>,
    /// Done fits, parsed once: a done fit never changes, and predictions read it often.
    pub done_fits: fits::DoneFits,
    /// The memory that uploads being read and parsed share.
    pub upload_budget: admission::UploadBudget,
}

/// The whole application: API routes plus, when configured, the web app's files.
pub fn app(store: Store, config: Config) -> Router {
    let dist = config.dist.clone();
    // One fit at a time: each fit already uses both cores.
    let state = AppState {
        store,
        jobs: crate::jobs::Jobs::new(1),
        config: Arc::new(config.clone()),
        done_fits: fits::DoneFits::default(),
        upload_budget: admission::UploadBudget::new(config.max_upload_bytes, config.upload_wait),
    };
    let (api, _) = routes(&config).split_for_parts();
    let api = api
        .fallback(|| async { ApiError::not_found("no such API route") })
        // Outermost last: every error leaves as JSON; the token is checked before
        // anything else runs; then a request's size is admitted before its body is read.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            admission::admit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::require_token,
        ))
        .layer(axum::middleware::from_fn(uniform::json_errors));
    let router = Router::new().nest("/api", api).with_state(state);
    let embedded = config.embedded;
    match dist {
        Some(dist) => router.fallback_service(
            ServeDir::new(&dist).fallback(ServeFile::new(dist.join("index.html"))),
        ),
        None if !embedded.is_empty() => router
            .fallback(move |uri: axum::http::Uri| async move { webapp::serve(embedded, &uri) }),
        None => router,
    }
}

/// Every `/api` route with its OpenAPI operation: the one route table behind both the
/// router and [`openapi`].
fn routes(config: &Config) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(openapi::document))
        .merge(runs::router().layer(DefaultBodyLimit::max(config.max_upload_bytes)))
        .merge(fits::router().layer(DefaultBodyLimit::max(admission::JSON_BODY_LIMIT)))
        .merge(batch::router().layer(DefaultBodyLimit::max(admission::JSON_BODY_LIMIT)))
}

/// The OpenAPI document of the API (paths under `/api`), as served at `/api/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    OpenApiRouter::<AppState>::with_openapi(openapi::ApiDoc::openapi())
        .nest("/api", routes(&Config::default()))
        .into_openapi()
}

#[utoipa::path(
    get,
    path = "/health",
    operation_id = "health",
    tag = "meta",
    responses(
        (status = 200, description = "The server is up", body = shared::api::Health),
        (status = 500, description = "The store failed", body = shared::api::ErrorResponse),
    )
)]
async fn health(State(state): State<AppState>) -> Result<Json<shared::api::Health>, ApiError> {
    Ok(Json(shared::api::Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        runs: state.store.count_runs().await?,
        active_fits: state.jobs.active(),
    }))
}

/// Serves the application on a bound listener until the future is dropped.
pub async fn serve(listener: tokio::net::TcpListener, app: Router) -> std::io::Result<()> {
    axum::serve(listener, app).await
}
