//! The testnet CA is name-constrained to `localhost`, `127.0.0.1` and `::1` (plus a
//! non-loopback `--bind` address): a client trusting it accepts its loopback leaves and
//! refuses a leaf it signed for any other name.

use umbra_node::server::Served;
use umbra_node::tls::{LocalCa, http_client, install_crypto_provider};

/// Serve "ok" over TLS with `leaf` (chain PEM, key PEM); returns the port.
async fn serve(leaf: (String, String)) -> (u16, Served) {
    let cfg =
        axum_server::tls_rustls::RustlsConfig::from_pem(leaf.0.into_bytes(), leaf.1.into_bytes())
            .await
            .expect("tls config");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    (
        port,
        Served::spawn(listener, app, Some(cfg)).expect("serve"),
    )
}

async fn reaches(ca: &LocalCa, leaf: (String, String)) -> bool {
    let (port, served) = serve(leaf).await;
    let ok = http_client(Some(&ca.ca_pem))
        .expect("client")
        .get(format!("https://127.0.0.1:{port}/"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success());
    served.stop().await;
    ok
}

#[tokio::test]
async fn a_leaf_for_a_name_outside_the_constraints_fails_verification() {
    install_crypto_provider();
    let ca = LocalCa::generate().expect("ca");
    assert!(
        reaches(&ca, ca.leaf(&[]).expect("leaf")).await,
        "loopback leaf"
    );
    for other in ["evil.example", "10.1.2.3", "127.0.0.2"] {
        let leaf = ca.leaf(&[other.to_string()]).expect("leaf");
        assert!(
            !reaches(&ca, leaf).await,
            "a leaf also naming {other} was accepted"
        );
    }
    // A CA made for a non-loopback bind address permits that one address too.
    let bound = LocalCa::generate_for(&["10.1.2.3".to_string()]).expect("ca");
    assert!(reaches(&bound, bound.leaf(&["10.1.2.3".to_string()]).expect("leaf")).await);
    assert!(!reaches(&bound, bound.leaf(&["10.1.2.4".to_string()]).expect("leaf")).await);
}
