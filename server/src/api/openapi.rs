//! `GET /api/openapi.json`: the OpenAPI 3.1 document of the JSON API, generated from the
//! code: each handler's `#[utoipa::path]` and the `shared::api` types' `ToSchema` (the
//! `shared` crate's `openapi` feature). The router is built from the same annotated
//! handlers (`utoipa_axum::routes!`), so a served route cannot be missing from it.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// The document's fixed parts; paths and schemas are added by the routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "curvecast",
        description = "Fit scaling laws and loss-curve laws to training logs, and forecast from them. \
            Every error is `{\"error\": {\"code\", \"message\", \"details\"}}`. When the server has a \
            token, every `/api/*` request needs `Authorization: Bearer <token>`."
    ),
    components(schemas(shared::api::ErrorResponse)),
    modifiers(&BearerToken),
    tags(
        (name = "runs", description = "Upload, preview, list, change and delete training runs"),
        (name = "fits", description = "Fit laws as jobs and forecast, plan or rank schedules from them"),
        (name = "batch", description = "Critical batch size, Su et al.'s law, optimal LR and batch"),
        (name = "meta", description = "Health and this document"),
    )
)]
pub struct ApiDoc;

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
}

/// The multipart form of `POST /api/runs` and `POST /api/runs/preview` (documentation only).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// One or more files (any field name; `file` by convention).
    #[schema(value_type = Vec<String>, format = Binary)]
    file: Vec<Vec<u8>>,
    /// A JSON `Mapping` overriding the detected column roles of every file.
    #[schema(value_type = Option<String>)]
    mapping: Option<String>,
}

/// Serves the document (built once).
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "meta",
    responses((status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json"))
)]
pub async fn document() -> impl IntoResponse {
    static JSON: OnceLock<String> = OnceLock::new();
    let json = JSON.get_or_init(|| {
        super::openapi()
            .to_pretty_json()
            .expect("an OpenAPI document serialises")
    });
    ([(header::CONTENT_TYPE, "application/json")], json.as_str())
}
