//! The seed node: `POST /json_rpc` with `get_n_service_nodes` (docs/protocol.md §3.6).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use crate::directory::Directory;

/// The seed's router.
pub fn router(directory: Arc<Directory>) -> Router {
    router_with_cors(directory, true)
}

/// The seed's router, with or without CORS headers (Session's seeds send none).
pub fn router_with_cors(directory: Arc<Directory>, cors: bool) -> Router {
    let r = Router::new()
        .route("/json_rpc", post(json_rpc))
        .layer(DefaultBodyLimit::max(64 * 1024));
    let r = if cors {
        r.layer(crate::server::cors())
    } else {
        r
    };
    r.with_state(directory)
}

async fn json_rpc(State(dir): State<Arc<Directory>>, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "invalid json").into_response();
    };
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    match req.get("method").and_then(Value::as_str) {
        Some("get_n_service_nodes" | "get_service_nodes" | "get_all_service_nodes") => {
            axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": dir.service_nodes_json()})).into_response()
        }
        _ => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "Method not found"}})),
        )
            .into_response(),
    }
}
