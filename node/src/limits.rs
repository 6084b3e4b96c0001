//! Resource limits of the node's listeners and storage.
//!
//! Owns: the per-listener limit on requests in flight (503 beyond it) and the per-request
//! time limit (408), applied to the node, seed and static-site routers (the bridge has its
//! own, `bridge::BridgeConfig`); the node's storage limits (database size, per-owner quota)
//! and the cap on a relayed or proxied reply.
//!
//! Does not own: per-client rate limiting (`server::RateLimit`, the bridge's token bucket)
//! or request body caps (axum `DefaultBodyLimit` at each router).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::IntoResponse as _;
use tokio::sync::Semaphore;

/// Limits of one listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerLimits {
    /// Requests handled at the same time; more are answered 503 at once.
    pub max_in_flight: usize,
    /// Time from the request's arrival to its answer's headers; beyond it, 408.
    pub request_timeout: Duration,
}

impl ListenerLimits {
    /// 1,024 requests in flight, 60 s per request (longer than a relay hop's 10 s and a
    /// swarm forward's 5 s together).
    pub const DEFAULT: Self = Self {
        max_in_flight: 1024,
        request_timeout: Duration::from_secs(60),
    };
}

impl Default for ListenerLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Wrap `router` in the listener limits (outermost, so every route counts).
pub fn apply<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    limits: ListenerLimits,
) -> Router<S> {
    let slots = Arc::new(Semaphore::new(limits.max_in_flight.max(1)));
    let timeout = limits.request_timeout;
    router.layer(middleware::from_fn(move |req: Request, next: Next| {
        let slots = slots.clone();
        async move {
            let Ok(_permit) = slots.try_acquire() else {
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Too many requests in flight",
                )
                    .into_response();
            };
            match tokio::time::timeout(timeout, next.run(req)).await {
                Ok(r) => r,
                Err(_) => (StatusCode::REQUEST_TIMEOUT, "Request time out").into_response(),
            }
        }
    }))
}

/// Most messages and bytes one owner (Account ID) may have stored on a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnerQuota {
    /// Messages.
    pub messages: u64,
    /// Bytes of message data.
    pub bytes: u64,
}

/// Storage and reply limits of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeLimits {
    /// Limits of the node's listener.
    pub listener: ListenerLimits,
    /// Largest reply body relayed from the next hop or a proxied server.
    pub max_reply_bytes: usize,
    /// Largest database file (SQLite `max_page_count`, as oxenss).
    pub db_max_bytes: u64,
    /// Per-owner quota (`None`: none, as oxenss).
    pub owner_quota: Option<OwnerQuota>,
}

impl NodeLimits {
    /// oxenss's database limit, 3.5 GiB (`oxenss/storage/database.hpp` `SIZE_LIMIT`); replies
    /// up to the 10 MiB request limit; 50,000 messages or 256 MiB per owner (Umbra's choice:
    /// oxenss has no per-owner quota, only the database limit).
    pub const DEFAULT: Self = Self {
        listener: ListenerLimits::DEFAULT,
        max_reply_bytes: umbra_protocol::rpc::MAX_REQUEST_BODY,
        db_max_bytes: 3584 * 1024 * 1024,
        owner_quota: Some(OwnerQuota {
            messages: 50_000,
            bytes: 256 * 1024 * 1024,
        }),
    };
}

impl Default for NodeLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn status(base: &str, path: &str) -> u16 {
        reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap_or_default()
            .get(format!("{base}{path}"))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    }

    #[tokio::test]
    async fn a_full_listener_answers_503_and_a_slow_request_408() {
        let slow = Router::new()
            .route(
                "/slow",
                axum::routing::get(|| async {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    "late"
                }),
            )
            .route("/fast", axum::routing::get(|| async { "ok" }));
        let app = apply(
            slow,
            ListenerLimits {
                max_in_flight: 1,
                request_timeout: Duration::from_millis(300),
            },
        );
        let Ok(listener) = tokio::net::TcpListener::bind("127.0.0.1:0").await else {
            panic!("bind");
        };
        let base = format!(
            "http://{}",
            listener
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_default()
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        let held = tokio::spawn({
            let base = base.clone();
            async move { status(&base, "/slow").await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(status(&base, "/fast").await, 503);
        assert_eq!(held.await.unwrap_or(0), 408);
        assert_eq!(status(&base, "/fast").await, 200);
    }
}
