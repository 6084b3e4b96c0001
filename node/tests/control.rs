//! The loopback test control: the seed stops and restarts a node by its Ed25519 key, only
//! for requests with the start-up token, refuses unknown keys and bad bodies, and is absent
//! without `--control`.

use tokio::sync::oneshot;
use umbra_node::testnet::{Testnet, TestnetConfig};

const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

async fn post(c: &reqwest::Client, url: &str, body: &str) -> u16 {
    post_as(c, url, body, Some(&format!("Bearer {TOKEN}"))).await
}

async fn post_as(c: &reqwest::Client, url: &str, body: &str, auth: Option<&str>) -> u16 {
    let mut r = c.post(url);
    if let Some(a) = auth {
        r = r.header("authorization", a);
    }
    r.header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("post")
        .status()
        .as_u16()
}

async fn answers(c: &reqwest::Client, url: &str) -> bool {
    c.post(format!("{url}/storage_rpc/v1"))
        .body(r#"{"method":"info","params":{}}"#)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

#[tokio::test]
async fn control_stops_and_starts_a_node() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = TestnetConfig::new(dir.path());
    cfg.nodes = 4;
    cfg.swarm_size = 2;
    let (routes, mut rx) = umbra_node::control::router(TOKEN);
    cfg.seed_extra = Some(routes);
    let mut net = Testnet::start(cfg).await.expect("testnet");
    let seed = net.seed_url().to_owned();
    let node = net.nodes()[1].clone();
    let other = net.nodes()[2].clone();
    let c = reqwest::Client::new();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        umbra_node::control::serve(&mut net, &mut rx, async {
            let _ = stop_rx.await;
        })
        .await;
        net
    });

    assert!(answers(&c, &node.url()).await);
    let body = format!(r#"{{"ed25519":"{}"}}"#, node.ed_hex());
    // Without the token, with another one, or not as a bearer token: 401, nothing stops.
    let wrong = format!("Bearer {}", "f".repeat(64));
    let short = format!("Bearer {}", &TOKEN[..63]);
    for auth in [
        None,
        Some(wrong.as_str()),
        Some(short.as_str()),
        Some(TOKEN),
        Some("Bearer "),
    ] {
        for op in ["stop_node", "start_node"] {
            assert_eq!(
                post_as(&c, &format!("{seed}/testnet/v1/{op}"), &body, auth).await,
                401,
                "{op} {auth:?}"
            );
        }
    }
    assert!(
        answers(&c, &node.url()).await,
        "an unauthorized stop stopped it"
    );
    assert_eq!(
        post(&c, &format!("{seed}/testnet/v1/stop_node"), &body).await,
        200
    );
    assert!(
        !answers(&c, &node.url()).await,
        "stopped node must not answer"
    );
    assert!(answers(&c, &other.url()).await, "others keep running");
    // The seed's own RPC still works next to the control routes.
    assert_eq!(
        post(
            &c,
            &format!("{seed}/json_rpc"),
            r#"{"method":"get_n_service_nodes"}"#
        )
        .await,
        200
    );
    assert_eq!(
        post(&c, &format!("{seed}/testnet/v1/start_node"), &body).await,
        200
    );
    assert!(answers(&c, &node.url()).await, "restarted node answers");

    let unknown = format!(r#"{{"ed25519":"{}"}}"#, "ab".repeat(32));
    assert_eq!(
        post(&c, &format!("{seed}/testnet/v1/stop_node"), &unknown).await,
        404
    );
    assert_eq!(
        post(&c, &format!("{seed}/testnet/v1/stop_node"), "not json").await,
        400
    );
    assert_eq!(
        post(&c, &format!("{seed}/testnet/v1/stop_node"), "{}").await,
        400
    );

    let _ = stop_tx.send(());
    let net = task.await.expect("join");
    assert!(net.is_running(1));
    net.shutdown().await;
}

#[tokio::test]
async fn control_is_off_by_default() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = TestnetConfig::new(dir.path());
    cfg.nodes = 2;
    cfg.swarm_size = 2;
    let net = Testnet::start(cfg).await.expect("testnet");
    let c = reqwest::Client::new();
    let body = format!(r#"{{"ed25519":"{}"}}"#, net.nodes()[0].ed_hex());
    let status = post(
        &c,
        &format!("{}/testnet/v1/stop_node", net.seed_url()),
        &body,
    )
    .await;
    assert_eq!(status, 404);
    assert!(net.is_running(0));
    net.shutdown().await;
}
