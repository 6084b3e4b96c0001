//! Fuzz-minded smoke test: random and mutated bodies on every route are answered with 4xx
//! and never take a node down.

use serde_json::json;
use umbra_node::client::{Account, Client, store_params};
use umbra_node::testnet::{Testnet, TestnetConfig};
use umbra_protocol::rpc::Namespace;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_bodies_get_4xx() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = TestnetConfig::new(dir.path());
    cfg.nodes = 4;
    let net = Testnet::start(cfg).await.expect("start");
    let http = net.http_client().clone();
    let node = net.nodes()[0].clone();
    let a = Account::random();
    let now = net.clock().now_ms();
    let valid = json!({"method": "store", "params": store_params(&a.id, Namespace(0), b"seed", now, 60_000)})
        .to_string()
        .into_bytes();
    let mut noise = vec![0u8; 4096];
    for i in 0..300usize {
        getrandom::fill(&mut noise).expect("rng");
        let body: Vec<u8> = match i % 3 {
            0 => noise[..(noise[0] as usize * 8) % noise.len()].to_vec(),
            1 => {
                // Mutate a valid request: flip a few bytes, truncate.
                let mut b = valid.clone();
                for k in 0..4 {
                    let at = (noise[k * 2] as usize * 256 + noise[k * 2 + 1] as usize) % b.len();
                    b[at] = noise[10 + k];
                }
                b.truncate(b.len() - (noise[20] as usize % 8));
                b
            }
            _ => {
                let mut b = (noise[0] as u32 % 64).to_le_bytes().to_vec();
                b.extend_from_slice(&noise[..(noise[1] as usize) + 8]);
                b.extend_from_slice(br#"{"ephemeral_key":"00","enc_type":"aes-gcm"}"#);
                b
            }
        };
        for route in ["/storage_rpc/v1", "/onion_req/v2", "/internal/v1/forward", "/internal/v1/export"] {
            let r = http.post(format!("{}{route}", node.url())).body(body.clone()).send().await.expect("answered");
            let s = r.status().as_u16();
            // A mutated store can still be valid JSON for a valid request (then 200 or 421).
            assert!((400..500).contains(&s) || (route == "/storage_rpc/v1" && s == 200), "{route} {i}: {s}");
        }
    }
    let c = Client::new(http);
    assert_eq!(c.direct(&node, "info", json!({})).await.expect("alive").0, 200);
    net.shutdown().await;
}
