//! The community server (`umbra_node::sogs`) through real onion requests: a testnet of real
//! sockets, v4 requests signed with `umbra_protocol::blinding` (blind15 ids, `X-SOGS-*`
//! headers), built with `umbra_protocol::onion::build_request` to a `Destination::Server`,
//! three hops, the last one proxying to the testnet's community server.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::SigningKey;
use getrandom::SysRng;
use rand_core::UnwrapErr;
use serde_json::{Value, json};
use umbra_node::directory::NodeInfo;
use umbra_node::testnet::{Testnet, TestnetConfig};
use umbra_protocol::blinding::{Blind15Nonce, BlindedKeyPair, RequestSigner, sign_request};
use umbra_protocol::onion::{
    Destination, EncType, HttpProtocol, PathHop, ServerDestination, V4Request, V4Response,
    build_request, decrypt_v4_response,
};

fn hops(nodes: &[NodeInfo]) -> Vec<PathHop> {
    nodes
        .iter()
        .map(|n| PathHop {
            ed25519: n.ed25519,
            x25519: n.x25519,
        })
        .collect()
}

async fn start(dir: &tempfile::TempDir) -> Testnet {
    let mut cfg = TestnetConfig::new(dir.path());
    cfg.nodes = 4;
    cfg.turn = false;
    cfg.fileserver = false;
    Testnet::start(cfg).await.expect("testnet")
}

/// Sends `request` to the testnet's community server through nodes 0 → 1 → 2.
async fn send(net: &Testnet, request: V4Request) -> V4Response {
    let c = net.community().expect("community server");
    let dest = Destination::Server(ServerDestination {
        host: "127.0.0.1".into(),
        target: "/oxen/v4/lsrpc".into(),
        port: c.port(),
        protocol: HttpProtocol::Http,
        x25519: c.x25519_public(),
        request,
    });
    let nodes = net.nodes().to_vec();
    let req = build_request(
        &hops(&nodes[..3]),
        &dest,
        EncType::XChaCha20,
        &mut UnwrapErr(SysRng),
    )
    .expect("build");
    let r = net
        .http_client()
        .post(format!("{}/onion_req/v2", nodes[0].url()))
        .body(req.body)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 200);
    let body = r.bytes().await.expect("body");
    decrypt_v4_response(&req.response_key, &body).expect("v4 reply")
}

/// A community member: an account key and its blind15 key pair on the testnet's server.
struct Member {
    signing: SigningKey,
    blinded: BlindedKeyPair,
    server: [u8; 32],
}

impl Member {
    fn new(net: &Testnet, seed: u8) -> Self {
        let signing = SigningKey::from_bytes(&[seed; 32]);
        let server = net.community().expect("community").x25519_public();
        let blinded = BlindedKeyPair::blind15(&signing, &server);
        Self {
            signing,
            blinded,
            server,
        }
    }

    fn id(&self) -> String {
        self.blinded.id_hex()
    }

    /// The `05` Account ID.
    fn account_id(&self) -> String {
        format!(
            "05{}",
            hex::encode(self.signing.verifying_key().to_montgomery().to_bytes())
        )
    }

    fn request_at(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        ts: u64,
        nonce: [u8; 16],
        signer: RequestSigner<'_>,
    ) -> V4Request {
        let h = sign_request(
            signer,
            &self.server,
            &nonce,
            ts,
            method,
            path,
            body.as_deref().unwrap_or_default(),
        );
        let mut headers: BTreeMap<String, String> = h
            .pairs()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        if body.is_some() {
            headers.insert("Content-Type".into(), "application/json".into());
        }
        V4Request {
            method: method.into(),
            endpoint: path.into(),
            headers,
            body,
        }
    }

    fn request(&self, net: &Testnet, method: &str, path: &str, body: Option<Vec<u8>>) -> V4Request {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).expect("rng");
        self.request_at(
            method,
            path,
            body,
            now_s(net),
            nonce,
            RequestSigner::Blinded(&self.blinded, Blind15Nonce::Desktop),
        )
    }

    async fn call(
        &self,
        net: &Testnet,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let req = self.request(net, method, path, body.map(|b| b.to_string().into_bytes()));
        let r = send(net, req).await;
        (r.code, parse(&r))
    }

    /// A signed, padded "message" as a client would post it.
    fn post_body(&self, text: &str) -> Value {
        let data = text.as_bytes().to_vec();
        let sig = self.blinded.sign(&data);
        json!({"data": STANDARD.encode(&data), "signature": STANDARD.encode(sig)})
    }
}

fn now_s(net: &Testnet) -> u64 {
    net.clock().now_ms() / 1000
}

fn parse(r: &V4Response) -> Value {
    if r.headers.get("content-type").map(String::as_str) == Some("application/json") {
        serde_json::from_slice(&r.body).expect("json")
    } else {
        Value::String(String::from_utf8_lossy(&r.body).into_owned())
    }
}

fn text_of(m: &Value) -> String {
    String::from_utf8(
        STANDARD
            .decode(m["data"].as_str().expect("data"))
            .expect("b64"),
    )
    .expect("utf8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capabilities_rooms_and_messages_through_three_hops() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = start(&dir).await;
    let alice = Member::new(&net, 1);
    let bob = Member::new(&net, 2);
    // The bundle and the printed URL name the room and the key.
    let entry = net
        .bundle_config()
        .community
        .clone()
        .expect("community entry");
    let c = net.community().expect("community");
    assert_eq!(entry.room, "lobby");
    assert_eq!(entry.url, c.url());
    assert_eq!(entry.x25519, hex::encode(c.x25519_public()));
    assert_eq!(
        net.community_url().expect("url"),
        format!("{}/lobby?public_key={}", c.url(), entry.x25519)
    );

    // Anonymous: capabilities, and the required check.
    let r = send(
        &net,
        V4Request {
            method: "GET".into(),
            endpoint: "/capabilities".into(),
            headers: BTreeMap::new(),
            body: None,
        },
    )
    .await;
    assert_eq!(r.code, 200);
    assert_eq!(
        parse(&r),
        json!({"capabilities": ["blind", "reactions", "sogs"]})
    );
    let (code, v) = alice
        .call(&net, "GET", "/capabilities?required=blind,nope", None)
        .await;
    assert_eq!(code, 412);
    assert_eq!(v["missing"], json!(["nope"]));

    let (code, rooms) = alice.call(&net, "GET", "/rooms", None).await;
    assert_eq!(code, 200);
    assert_eq!(rooms[0]["token"], json!("lobby"));
    assert_eq!(rooms[0]["name"], json!("Lobby"));
    let (_, info) = alice.call(&net, "GET", "/room/lobby", None).await;
    assert_eq!(info["read"], json!(true));
    assert_eq!(info["write"], json!(true));
    assert_eq!(info["message_sequence"], json!(0));
    let (code, _) = alice.call(&net, "GET", "/room/nope", None).await;
    assert_eq!(code, 404);

    // Post, then read back by recent / since / before / one.
    let mut ids = Vec::new();
    for text in ["one", "two", "three"] {
        let (code, m) = alice
            .call(
                &net,
                "POST",
                "/room/lobby/message",
                Some(alice.post_body(text)),
            )
            .await;
        assert_eq!(code, 201, "{m}");
        assert_eq!(m["session_id"], json!(alice.id()));
        assert_eq!(text_of(&m), text);
        ids.push(m["id"].as_i64().expect("id"));
    }
    let (_, recent) = bob
        .call(&net, "GET", "/room/lobby/messages/recent?limit=2", None)
        .await;
    let recent = recent.as_array().expect("list");
    assert_eq!(recent.len(), 2);
    assert_eq!(text_of(&recent[0]), "three");
    assert_eq!(text_of(&recent[1]), "two");
    // The receiver verifies the signature with the blinded key.
    let sig: [u8; 64] = STANDARD
        .decode(recent[0]["signature"].as_str().expect("sig"))
        .expect("b64")
        .try_into()
        .expect("64");
    umbra_protocol::blinding::verify(&alice.blinded.public(), b"three", &sig).expect("verifies");
    let (_, since) = bob
        .call(&net, "GET", "/room/lobby/messages/since/1", None)
        .await;
    let since: Vec<String> = since
        .as_array()
        .expect("list")
        .iter()
        .map(text_of)
        .collect();
    assert_eq!(since, ["two", "three"]);
    let (_, before) = bob
        .call(
            &net,
            "GET",
            &format!("/room/lobby/messages/before/{}", ids[2]),
            None,
        )
        .await;
    let before: Vec<String> = before
        .as_array()
        .expect("list")
        .iter()
        .map(text_of)
        .collect();
    assert_eq!(before, ["two", "one"]);
    let (code, one) = bob
        .call(
            &net,
            "GET",
            &format!("/room/lobby/message/{}", ids[0]),
            None,
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(text_of(&one), "one");

    // Edit (owner only) and delete (owner).
    let (code, _) = bob
        .call(
            &net,
            "PUT",
            &format!("/room/lobby/message/{}", ids[0]),
            Some(bob.post_body("x")),
        )
        .await;
    assert_eq!(code, 403);
    let (code, _) = alice
        .call(
            &net,
            "PUT",
            &format!("/room/lobby/message/{}", ids[0]),
            Some(alice.post_body("uno")),
        )
        .await;
    assert_eq!(code, 200);
    let (code, _) = bob
        .call(
            &net,
            "DELETE",
            &format!("/room/lobby/message/{}", ids[1]),
            None,
        )
        .await;
    assert_eq!(code, 403);
    let (code, _) = alice
        .call(
            &net,
            "DELETE",
            &format!("/room/lobby/message/{}", ids[1]),
            None,
        )
        .await;
    assert_eq!(code, 200);
    let (_, since) = bob
        .call(&net, "GET", "/room/lobby/messages/since/3", None)
        .await;
    let since = since.as_array().expect("list");
    assert_eq!(since.len(), 2);
    assert_eq!(text_of(&since[0]), "uno");
    assert!(since[0]["edited"].is_f64());
    assert_eq!(since[1]["id"], json!(ids[1]));
    assert_eq!(since[1]["deleted"], json!(true));
    assert_eq!(since[1]["data"], Value::Null);
    let (code, _) = bob
        .call(
            &net,
            "GET",
            &format!("/room/lobby/message/{}", ids[1]),
            None,
        )
        .await;
    assert_eq!(code, 404);

    // Reactions and reactors; a reaction-only update with t=r.
    let (_, info) = bob.call(&net, "GET", "/room/lobby", None).await;
    let seq = info["message_sequence"].as_i64().expect("seq");
    let path = format!("/room/lobby/reaction/{}/%F0%9F%8E%82", ids[2]);
    let (code, v) = bob.call(&net, "PUT", &path, None).await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["added"], json!(true));
    let (_, v) = bob.call(&net, "PUT", &path, None).await;
    assert_eq!(v["added"], json!(false));
    let (_, v) = alice.call(&net, "PUT", &path, None).await;
    assert_eq!(v["added"], json!(true));
    let (_, upd) = bob
        .call(
            &net,
            "GET",
            &format!("/room/lobby/messages/since/{seq}?t=r&reactors=5"),
            None,
        )
        .await;
    let upd = upd.as_array().expect("list");
    assert_eq!(upd.len(), 1);
    assert_eq!(upd[0]["id"], json!(ids[2]));
    assert!(upd[0].get("data").is_none(), "reaction-only update");
    let cake = &upd[0]["reactions"]["🎂"];
    assert_eq!(cake["count"], json!(2));
    assert_eq!(cake["index"], json!(0));
    assert_eq!(cake["you"], json!(true));
    assert_eq!(cake["reactors"], json!([bob.id(), alice.id()]));
    // Without t=r the reaction change is not a message update.
    let (_, plain) = bob
        .call(
            &net,
            "GET",
            &format!("/room/lobby/messages/since/{seq}"),
            None,
        )
        .await;
    assert_eq!(plain, json!([]));
    let (_, reactors) = bob
        .call(
            &net,
            "GET",
            &format!("/room/lobby/reactors/{}/%F0%9F%8E%82", ids[2]),
            None,
        )
        .await;
    assert_eq!(reactors.as_array().expect("list").len(), 2);
    assert_eq!(reactors[0][0], json!(bob.id()));
    let (_, v) = bob.call(&net, "DELETE", &path, None).await;
    assert_eq!(v["removed"], json!(true));
    let (_, m) = bob
        .call(
            &net,
            "GET",
            &format!("/room/lobby/message/{}", ids[2]),
            None,
        )
        .await;
    assert_eq!(m["reactions"]["🎂"]["count"], json!(1));

    // pollInfo: details only when info_updates changed.
    let (_, p) = bob.call(&net, "GET", "/room/lobby/pollInfo/0", None).await;
    assert_eq!(p["token"], json!("lobby"));
    assert!(p.get("details").is_none(), "{p}");
    assert!(p["active_users"].as_i64().expect("active") >= 2);
    let (_, p) = bob.call(&net, "GET", "/room/lobby/pollInfo/99", None).await;
    assert_eq!(p["details"]["token"], json!("lobby"));
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_sequence_inbox_files_and_pins() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = start(&dir).await;
    let alice = Member::new(&net, 3);
    let bob = Member::new(&net, 4);
    let c = net.community().expect("community");
    c.state()
        .add_moderator(&alice.account_id(), "lobby", true)
        .expect("admin");

    // /batch: all run; /sequence stops at the first failure.
    let (code, v) = bob
        .call(
            &net,
            "POST",
            "/batch",
            Some(json!([
                {"method": "GET", "path": "/capabilities"},
                {"method": "GET", "path": "/room/nope"},
                {"method": "POST", "path": "/room/lobby/message", "json": bob.post_body("batched")},
                {"method": "GET", "path": "/room/lobby/messages/recent"},
            ])),
        )
        .await;
    assert_eq!(code, 200, "{v}");
    let codes: Vec<i64> = v
        .as_array()
        .expect("list")
        .iter()
        .map(|r| r["code"].as_i64().expect("code"))
        .collect();
    assert_eq!(codes, [200, 404, 201, 200]);
    assert_eq!(v[0]["body"]["capabilities"][0], json!("blind"));
    assert_eq!(text_of(&v[3]["body"][0]), "batched");
    let (_, v) = bob
        .call(
            &net,
            "POST",
            "/sequence",
            Some(json!([
                {"method": "GET", "path": "/capabilities"},
                {"method": "GET", "path": "/room/nope"},
                {"method": "GET", "path": "/rooms"},
            ])),
        )
        .await;
    assert_eq!(v.as_array().expect("list").len(), 2);
    let (code, _) = bob
        .call(&net, "POST", "/batch", Some(json!([{"method": "GET"}])))
        .await;
    assert_eq!(code, 400);

    // Blinded DMs: bob (known to the server) gets alice's message; since → 304.
    let (code, sent) = alice
        .call(
            &net,
            "POST",
            &format!("/inbox/{}", bob.id()),
            Some(json!({"message": STANDARD.encode(b"sealed")})),
        )
        .await;
    assert_eq!(code, 201, "{sent}");
    assert_eq!(sent["sender"], json!(alice.id()));
    assert_eq!(sent["recipient"], json!(bob.id()));
    assert!(sent.get("message").is_none());
    let (_, inbox) = bob.call(&net, "GET", "/inbox", None).await;
    assert_eq!(inbox[0]["message"], json!(STANDARD.encode(b"sealed")));
    let last = inbox[0]["id"].as_i64().expect("id");
    let (code, _) = bob
        .call(&net, "GET", &format!("/inbox/since/{last}"), None)
        .await;
    assert_eq!(code, 304);
    let (_, outbox) = alice.call(&net, "GET", "/outbox", None).await;
    assert_eq!(outbox[0]["id"], json!(last));
    let stranger = format!("15{}", "ab".repeat(32));
    let (code, _) = alice
        .call(
            &net,
            "POST",
            &format!("/inbox/{stranger}"),
            Some(json!({"message": "AAAA"})),
        )
        .await;
    assert_eq!(code, 404);
    let (_, v) = bob.call(&net, "DELETE", "/inbox", None).await;
    assert_eq!(v["deleted"], json!(1));
    let (_, inbox) = bob.call(&net, "GET", "/inbox", None).await;
    assert_eq!(inbox, json!([]));

    // Files: upload (raw body, batch b64), download; unreferenced files expire after 1 h,
    // referenced ones live 15 days.
    let upload = |name: &str, bytes: &[u8]| {
        let mut req = bob.request(&net, "POST", "/room/lobby/file", Some(bytes.to_vec()));
        req.headers
            .insert("Content-Type".into(), "application/octet-stream".into());
        req.headers.insert(
            "Content-Disposition".into(),
            format!("attachment; filename*=UTF-8''{name}"),
        );
        req
    };
    let r = send(&net, upload("kept.png", b"picture bytes")).await;
    assert_eq!(r.code, 201);
    let kept = parse(&r)["id"].as_i64().expect("id");
    let r = send(&net, upload("lost.txt", b"never referenced")).await;
    let lost = parse(&r)["id"].as_i64().expect("id");
    let mut post = bob.post_body("with a picture");
    post["files"] = json!([kept]);
    let (code, _) = bob
        .call(&net, "POST", "/room/lobby/message", Some(post))
        .await;
    assert_eq!(code, 201);
    let r = send(
        &net,
        bob.request(&net, "GET", &format!("/room/lobby/file/{kept}"), None),
    )
    .await;
    assert_eq!(r.code, 200);
    assert_eq!(r.body, b"picture bytes");
    assert_eq!(
        r.headers.get("content-disposition").map(String::as_str),
        Some("attachment; filename*=UTF-8''kept.png")
    );
    net.clock().advance_ms(3_601_000);
    assert!(c.state().sweep_now() >= 1);
    let r = send(
        &net,
        bob.request(&net, "GET", &format!("/room/lobby/file/{lost}"), None),
    )
    .await;
    assert_eq!(r.code, 404);
    let r = send(
        &net,
        bob.request(
            &net,
            "GET",
            &format!("/room/lobby/file/{kept}/kept.png"),
            None,
        ),
    )
    .await;
    assert_eq!(r.code, 200);

    // Room details (admins): name, description, defaults and an image that no longer expires.
    let r = send(&net, upload("icon.png", b"icon bytes")).await;
    let icon = parse(&r)["id"].as_i64().expect("id");
    let (code, _) = bob
        .call(&net, "PUT", "/room/lobby", Some(json!({"name": "Mine"})))
        .await;
    assert_eq!(code, 403);
    let (code, _) = alice
        .call(&net, "PUT", "/room/lobby", Some(json!({"image": 999_999})))
        .await;
    assert_eq!(code, 406);
    let (code, _) = alice
        .call(&net, "PUT", "/room/lobby", Some(json!({})))
        .await;
    assert_eq!(code, 400);
    let (code, v) = alice
        .call(
            &net,
            "PUT",
            "/room/lobby",
            Some(json!({"name": "Lobby\u{7} room", "description": "Hello\nall", "image": icon, "default_upload": true})),
        )
        .await;
    assert_eq!(code, 200, "{v}");
    let (_, info) = bob.call(&net, "GET", "/room/lobby", None).await;
    assert_eq!(info["name"], json!("Lobby room"));
    assert_eq!(info["description"], json!("Hello\nall"));
    assert_eq!(info["image_id"], json!(icon));
    assert_eq!(info["info_updates"], v["info_updates"]);
    net.clock().advance_ms(3_601_000);
    c.state().sweep_now();
    let r = send(
        &net,
        bob.request(&net, "GET", &format!("/room/lobby/file/{icon}"), None),
    )
    .await;
    assert_eq!(r.code, 200);
    assert_eq!(r.body, b"icon bytes");

    // Pins: admins only; room info lists them and info_updates moves.
    let (_, recent) = bob
        .call(&net, "GET", "/room/lobby/messages/recent?limit=1", None)
        .await;
    let mid = recent[0]["id"].as_i64().expect("id");
    let (code, _) = bob
        .call(
            &net,
            "POST",
            &format!("/room/lobby/pin/{mid}"),
            Some(json!({})),
        )
        .await;
    assert_eq!(code, 403);
    let (_, before) = alice.call(&net, "GET", "/room/lobby", None).await;
    let (code, v) = alice
        .call(
            &net,
            "POST",
            &format!("/room/lobby/pin/{mid}"),
            Some(json!({})),
        )
        .await;
    assert_eq!(code, 200, "{v}");
    let (_, after) = bob.call(&net, "GET", "/room/lobby", None).await;
    assert_eq!(after["pinned_messages"][0]["id"], json!(mid));
    assert_eq!(after["pinned_messages"][0]["pinned_by"], json!(alice.id()));
    assert!(after["info_updates"].as_i64() > before["info_updates"].as_i64());
    assert_eq!(before["admin"], json!(true));
    assert!(after.get("admin").is_none());
    let (_, v) = alice
        .call(&net, "POST", "/room/lobby/unpin/all", Some(json!({})))
        .await;
    assert_eq!(v["unpinned"], json!(1));

    // Whispers: moderators only; to one blinded id or to the moderators.
    let mut to_bob = alice.post_body("psst bob");
    to_bob["whisper_to"] = json!(bob.id());
    let (code, m) = alice
        .call(&net, "POST", "/room/lobby/message", Some(to_bob))
        .await;
    assert_eq!(code, 201, "{m}");
    assert_eq!(m["whisper"], json!(true));
    assert_eq!(m["whisper_to"], json!(bob.id()));
    let mut to_mods = alice.post_body("mods only");
    to_mods["whisper_mods"] = json!(true);
    let (code, _) = alice
        .call(&net, "POST", "/room/lobby/message", Some(to_mods))
        .await;
    assert_eq!(code, 201);
    let mut by_bob = bob.post_body("me too");
    by_bob["whisper_mods"] = json!(true);
    let (code, _) = bob
        .call(&net, "POST", "/room/lobby/message", Some(by_bob))
        .await;
    assert_eq!(code, 403);
    let mut to_account = alice.post_body("x");
    to_account["whisper_to"] = json!(bob.account_id());
    let (code, _) = alice
        .call(&net, "POST", "/room/lobby/message", Some(to_account))
        .await;
    assert_eq!(code, 400);
    let texts =
        |v: &Value| -> Vec<String> { v.as_array().expect("list").iter().map(text_of).collect() };
    let (_, seen) = bob
        .call(&net, "GET", "/room/lobby/messages/recent?limit=3", None)
        .await;
    assert_eq!(texts(&seen)[0], "psst bob");
    assert!(!texts(&seen).contains(&"mods only".to_string()));
    let (_, seen) = alice
        .call(&net, "GET", "/room/lobby/messages/recent?limit=2", None)
        .await;
    assert_eq!(texts(&seen), ["mods only", "psst bob"]);
    let anon = send(
        &net,
        V4Request {
            method: "GET".into(),
            endpoint: "/room/lobby/messages/recent?limit=3".into(),
            headers: BTreeMap::new(),
            body: None,
        },
    )
    .await;
    let seen = texts(&parse(&anon));
    assert!(!seen.contains(&"psst bob".to_string()) && !seen.contains(&"mods only".to_string()));
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_failures_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = start(&dir).await;
    let alice = Member::new(&net, 5);
    let path = "/room/lobby/messages/recent";
    let nonce = [7u8; 16];
    let blinded = RequestSigner::Blinded(&alice.blinded, Blind15Nonce::Desktop);
    let now = now_s(&net);

    // A good request, then the same nonce again: 425.
    let req = alice.request_at("GET", path, None, now, nonce, blinded);
    assert_eq!(send(&net, req.clone()).await.code, 200);
    let again = alice.request_at("GET", "/room/lobby", None, now, nonce, blinded);
    assert_eq!(send(&net, again).await.code, 425);
    // A bad signature: the signed path is not the requested one.
    let mut bad = alice.request_at("GET", path, None, now, [8u8; 16], blinded);
    bad.endpoint = "/room/lobby/messages/recent?limit=1".into();
    assert_eq!(send(&net, bad).await.code, 401);
    let mut bad = alice.request_at("GET", path, None, now, [9u8; 16], blinded);
    let sig = bad.headers.get_mut("X-SOGS-Signature").expect("sig");
    let mut raw = STANDARD.decode(&*sig).expect("b64");
    raw[10] ^= 1;
    *sig = STANDARD.encode(raw);
    assert_eq!(send(&net, bad).await.code, 401);
    // A body that is not the signed one.
    let mut bad = alice.request_at(
        "POST",
        "/room/lobby/message",
        Some(alice.post_body("signed").to_string().into_bytes()),
        now,
        [10u8; 16],
        blinded,
    );
    bad.body = Some(alice.post_body("swapped").to_string().into_bytes());
    assert_eq!(send(&net, bad).await.code, 401);
    // Old and future timestamps: 425.
    let old = alice.request_at("GET", path, None, now - 86_401, [11u8; 16], blinded);
    assert_eq!(send(&net, old).await.code, 425);
    let future = alice.request_at("GET", path, None, now + 86_500, [12u8; 16], blinded);
    assert_eq!(send(&net, future).await.code, 425);
    // An unblinded (00) key where blinding is required: 400 with pysogs' text.
    let unblinded = alice.request_at(
        "GET",
        path,
        None,
        now,
        [13u8; 16],
        RequestSigner::Unblinded(&alice.signing),
    );
    let r = send(&net, unblinded).await;
    assert_eq!(r.code, 400);
    assert_eq!(
        String::from_utf8_lossy(&r.body),
        "Invalid authentication: this server requires the use of blinded ids"
    );
    // Some headers but not all; a bad pubkey shape.
    let mut partial = alice.request_at("GET", path, None, now, [14u8; 16], blinded);
    partial.headers.remove("X-SOGS-Nonce");
    assert_eq!(send(&net, partial).await.code, 400);
    let mut shape = alice.request_at("GET", path, None, now, [15u8; 16], blinded);
    shape
        .headers
        .insert("X-SOGS-Pubkey".into(), format!("05{}", "00".repeat(32)));
    assert_eq!(send(&net, shape).await.code, 400);
    // Anonymous: may read, may not post.
    let anon = |method: &str, endpoint: &str, body: Option<Vec<u8>>| V4Request {
        method: method.into(),
        endpoint: endpoint.into(),
        headers: BTreeMap::new(),
        body,
    };
    assert_eq!(send(&net, anon("GET", path, None)).await.code, 200);
    let post = anon(
        "POST",
        "/room/lobby/message",
        Some(alice.post_body("anon").to_string().into_bytes()),
    );
    assert_eq!(send(&net, post).await.code, 401);
    assert_eq!(send(&net, anon("GET", "/inbox", None)).await.code, 401);
    // Garbage JSON and unknown routes: typed errors, no panic.
    let (code, _) = alice.call(&net, "GET", "/no/such/route", None).await;
    assert_eq!(code, 404);
    let req = alice.request(
        &net,
        "POST",
        "/room/lobby/message",
        Some(b"{not json".to_vec()),
    );
    assert_eq!(send(&net, req).await.code, 400);
    let (code, _) = alice.call(&net, "DELETE", "/capabilities", None).await;
    assert_eq!(code, 405);
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissions_moderation_ban_and_no_account_id_in_the_database() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = start(&dir).await;
    let c = net.community().expect("community");
    let admin = Member::new(&net, 6);
    let mallory = Member::new(&net, 7);
    let carol = Member::new(&net, 8);
    // The admin is named by Account ID on the command line; the server keeps blinded ids.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_umbra-node"))
        .args(["sogs", "--data"])
        .arg(dir.path().join("sogs"))
        .args([
            "moderator",
            "add",
            &admin.account_id(),
            "--admin",
            "--room",
            "lobby",
        ])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_umbra-node"))
        .args([
            "sogs",
            "room",
            "add",
            "news",
            "News",
            "--read-only",
            "--data",
        ])
        .arg(dir.path().join("sogs"))
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (_, info) = admin.call(&net, "GET", "/room/lobby", None).await;
    assert_eq!(info["admin"], json!(true), "{info}");
    assert_eq!(info["moderator"], json!(true));

    // A read-only room: members read but cannot post; moderators (made by the admin) can.
    let (_, news) = mallory.call(&net, "GET", "/room/news", None).await;
    assert_eq!(news["name"], json!("News"));
    assert_eq!(news["write"], json!(false));
    let (code, _) = mallory
        .call(
            &net,
            "POST",
            "/room/news/message",
            Some(mallory.post_body("hi")),
        )
        .await;
    assert_eq!(code, 403);
    let (code, _) = mallory.call(&net, "POST", "/room/news/file", None).await;
    assert_eq!(code, 403);
    let (code, v) = admin
        .call(
            &net,
            "POST",
            &format!("/user/{}/moderator", admin.id()),
            Some(json!({"rooms": ["news"], "admin": true})),
        )
        .await;
    assert_eq!(code, 403, "not yet an admin of news: {v}");
    let (code, _) = admin
        .call(
            &net,
            "POST",
            "/room/news/message",
            Some(admin.post_body("x")),
        )
        .await;
    assert_eq!(code, 403);
    // carol may write in lobby by default; a per-user override takes it away.
    let (code, _) = carol
        .call(
            &net,
            "POST",
            "/room/lobby/message",
            Some(carol.post_body("c1")),
        )
        .await;
    assert_eq!(code, 201);
    let (code, _) = mallory
        .call(
            &net,
            "POST",
            &format!("/room/lobby/permissions/{}", carol.id()),
            Some(json!({"write": false})),
        )
        .await;
    assert_eq!(code, 403, "only moderators set permissions");
    let (code, _) = admin
        .call(
            &net,
            "POST",
            &format!("/room/lobby/permissions/{}", carol.id()),
            Some(json!({"write": false})),
        )
        .await;
    assert_eq!(code, 200);
    let (code, _) = carol
        .call(
            &net,
            "POST",
            "/room/lobby/message",
            Some(carol.post_body("c2")),
        )
        .await;
    assert_eq!(code, 403);
    let (_, p) = carol
        .call(&net, "GET", "/room/lobby/pollInfo/0", None)
        .await;
    assert_eq!(p["write"], json!(false));
    assert_eq!(p["read"], json!(true));

    // Mallory posts; a moderator deletes one message, then all of mallory's, then bans.
    let mut ids = Vec::new();
    for t in ["spam 1", "spam 2", "spam 3"] {
        let (_, m) = mallory
            .call(
                &net,
                "POST",
                "/room/lobby/message",
                Some(mallory.post_body(t)),
            )
            .await;
        ids.push(m["id"].as_i64().expect("id"));
    }
    let (code, _) = carol
        .call(
            &net,
            "DELETE",
            &format!("/room/lobby/message/{}", ids[0]),
            None,
        )
        .await;
    assert_eq!(code, 403);
    let (code, _) = admin
        .call(
            &net,
            "DELETE",
            &format!("/room/lobby/message/{}", ids[0]),
            None,
        )
        .await;
    assert_eq!(code, 200);
    let (code, v) = admin
        .call(
            &net,
            "DELETE",
            &format!("/room/lobby/all/{}", mallory.id()),
            None,
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(v["deleted"], json!(2));
    let (_, recent) = carol
        .call(&net, "GET", "/room/lobby/messages/recent", None)
        .await;
    assert!(
        recent
            .as_array()
            .expect("list")
            .iter()
            .all(|m| m["session_id"] != json!(mallory.id()))
    );
    let (code, _) = carol
        .call(
            &net,
            "POST",
            &format!("/user/{}/ban", mallory.id()),
            Some(json!({"rooms": ["lobby"]})),
        )
        .await;
    assert_eq!(code, 403, "members cannot ban");
    let (code, _) = admin
        .call(
            &net,
            "POST",
            &format!("/user/{}/ban", admin.id()),
            Some(json!({"rooms": ["lobby"]})),
        )
        .await;
    assert_eq!(code, 403, "a moderator cannot be banned");
    let (code, _) = admin
        .call(
            &net,
            "POST",
            &format!("/user/{}/ban", mallory.id()),
            Some(json!({"rooms": ["lobby"]})),
        )
        .await;
    assert_eq!(code, 200);
    let (code, _) = mallory
        .call(
            &net,
            "POST",
            "/room/lobby/message",
            Some(mallory.post_body("back")),
        )
        .await;
    assert_eq!(code, 403);
    let (code, _) = mallory
        .call(&net, "GET", "/room/lobby/messages/recent", None)
        .await;
    assert_eq!(code, 403);
    let (code, _) = mallory.call(&net, "GET", "/room/lobby", None).await;
    assert_eq!(code, 403);
    let (code, _) = admin
        .call(
            &net,
            "POST",
            &format!("/user/{}/unban", mallory.id()),
            Some(json!({"rooms": ["lobby"]})),
        )
        .await;
    assert_eq!(code, 200);
    let (code, _) = mallory
        .call(
            &net,
            "POST",
            "/room/lobby/message",
            Some(mallory.post_body("sorry")),
        )
        .await;
    assert_eq!(code, 201);
    // A timed ban lapses.
    let (code, _) = admin
        .call(
            &net,
            "POST",
            &format!("/user/{}/ban", mallory.id()),
            Some(json!({"rooms": ["lobby"], "timeout": 60})),
        )
        .await;
    assert_eq!(code, 200);
    let (code, _) = mallory
        .call(&net, "GET", "/room/lobby/messages/recent", None)
        .await;
    assert_eq!(code, 403);
    net.clock().advance_ms(61_000);
    let (code, _) = mallory
        .call(&net, "GET", "/room/lobby/messages/recent", None)
        .await;
    assert_eq!(code, 200);
    // The admin appoints carol a moderator (by blinded id); she may now delete.
    let (code, _) = admin
        .call(
            &net,
            "POST",
            &format!("/user/{}/moderator", carol.id()),
            Some(json!({"rooms": ["lobby"], "moderator": true})),
        )
        .await;
    assert_eq!(code, 200);
    let (_, info) = carol.call(&net, "GET", "/room/lobby", None).await;
    assert!(
        info["moderators"]
            .as_array()
            .expect("mods")
            .contains(&json!(carol.id()))
    );
    let (_, recent) = carol
        .call(&net, "GET", "/room/lobby/messages/recent?limit=1", None)
        .await;
    let last = recent[0]["id"].as_i64().expect("id");
    let (code, _) = carol
        .call(&net, "DELETE", &format!("/room/lobby/message/{last}"), None)
        .await;
    assert_eq!(code, 200);
    // Moderators clear reactions; a hidden moderator is listed only to moderators.
    let (_, m) = mallory
        .call(
            &net,
            "POST",
            "/room/lobby/message",
            Some(mallory.post_body("react to me")),
        )
        .await;
    let mid = m["id"].as_i64().expect("id");
    for who in [&mallory, &carol] {
        let (code, _) = who
            .call(&net, "PUT", &format!("/room/lobby/reaction/{mid}/👍"), None)
            .await;
        assert_eq!(code, 200);
    }
    let (code, _) = mallory
        .call(
            &net,
            "DELETE",
            &format!("/room/lobby/reactions/{mid}"),
            None,
        )
        .await;
    assert_eq!(code, 403);
    let (code, v) = carol
        .call(
            &net,
            "DELETE",
            &format!("/room/lobby/reactions/{mid}/👍"),
            None,
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(v["removed"], json!(2));
    let (_, m) = mallory
        .call(&net, "GET", &format!("/room/lobby/message/{mid}"), None)
        .await;
    assert_eq!(m["reactions"], json!({}));
    let (code, _) = admin
        .call(
            &net,
            "POST",
            &format!("/user/{}/moderator", mallory.id()),
            Some(json!({"rooms": ["lobby"], "moderator": true, "visible": false})),
        )
        .await;
    assert_eq!(code, 200);
    let (_, seen_by_member) = carol.call(&net, "GET", "/room/lobby", None).await;
    assert!(
        !seen_by_member["moderators"]
            .as_array()
            .expect("mods")
            .contains(&json!(mallory.id()))
    );
    let (_, seen_by_admin) = admin.call(&net, "GET", "/room/lobby", None).await;
    assert_eq!(seen_by_admin["hidden_moderators"], json!([mallory.id()]));
    let (code, _) = admin
        .call(
            &net,
            "POST",
            &format!("/user/{}/moderator", mallory.id()),
            Some(json!({"rooms": ["lobby"], "moderator": false})),
        )
        .await;
    assert_eq!(code, 200);
    // A room nobody may read is not listed and its messages are refused.
    c.state()
        .set_room_defaults("news", false, false, false)
        .expect("defaults");
    let (_, rooms) = carol.call(&net, "GET", "/rooms", None).await;
    let tokens: Vec<&Value> = rooms
        .as_array()
        .expect("list")
        .iter()
        .map(|r| &r["token"])
        .collect();
    assert_eq!(tokens, [&json!("lobby")]);
    let (code, _) = carol
        .call(&net, "GET", "/room/news/messages/recent", None)
        .await;
    assert_eq!(code, 403);
    // A blinded DM too, so the inbox holds rows.
    let (code, _) = carol
        .call(
            &net,
            "POST",
            &format!("/inbox/{}", mallory.id()),
            Some(json!({"message": STANDARD.encode(b"dm")})),
        )
        .await;
    assert_eq!(code, 201);

    // No Account ID (05…, or the raw X25519 key) anywhere in the database; only blinded ids.
    c.state().sweep_now();
    let db = rusqlite::Connection::open(dir.path().join("sogs/sogs.db")).expect("open db");
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    let mut users = 0;
    for member in [&admin, &mallory, &carol] {
        let account = member.account_id();
        let raw_x = hex::decode(&account[2..]).expect("hex");
        for t in &tables {
            let mut st = db
                .prepare(&format!("SELECT * FROM \"{t}\""))
                .expect("select");
            let n = st.column_count();
            let mut rows = st.query([]).expect("rows");
            while let Some(row) = rows.next().expect("row") {
                for i in 0..n {
                    let v: rusqlite::types::Value = row.get(i).expect("value");
                    let bytes = match v {
                        rusqlite::types::Value::Text(s) => s.into_bytes(),
                        rusqlite::types::Value::Blob(b) => b,
                        _ => continue,
                    };
                    let text = String::from_utf8_lossy(&bytes).to_lowercase();
                    assert!(!text.contains(&account[2..]), "{t} holds an account key");
                    assert!(
                        !bytes.windows(32).any(|w| w == raw_x),
                        "{t} holds a raw key"
                    );
                }
            }
        }
        let known: i64 = db
            .query_row(
                "SELECT COUNT(*) FROM users WHERE session_id = ?1",
                [member.id()],
                |r| r.get(0),
            )
            .expect("users");
        users += known;
    }
    assert_eq!(users, 3);
    // The same through `umbra_node::sogs::store::find` and `umbra-node sogs find`, while the
    // server runs: the Account IDs are nowhere, the blinded ids are where expected.
    let db_path = dir.path().join("sogs/sogs.db");
    for member in [&admin, &mallory, &carol] {
        let account = hex::decode(member.account_id()).expect("hex");
        assert_eq!(
            umbra_node::sogs::store::find(&db_path, &account).expect("find"),
            Vec::<String>::new()
        );
        let blinded = hex::decode(member.id()).expect("hex");
        let found = umbra_node::sogs::store::find(&db_path, &blinded).expect("find");
        assert!(found.contains(&"users.session_id".to_string()), "{found:?}");
    }
    let find = |key: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_umbra-node"))
            .args(["sogs", "find", key, "--data"])
            .arg(dir.path().join("sogs"))
            .output()
            .expect("run");
        assert!(out.status.success());
        String::from_utf8(out.stdout).expect("utf8")
    };
    assert_eq!(find(&carol.account_id()), "");
    assert!(find(&carol.id()).contains("found users.session_id\n"));
    let non_blinded: i64 = db
        .query_row(
            "SELECT (SELECT COUNT(*) FROM users WHERE session_id NOT LIKE '15%')
                  + (SELECT COUNT(*) FROM moderators WHERE session_id NOT LIKE '15%'
                         AND session_id NOT LIKE '25%')
                  + (SELECT COUNT(*) FROM messages WHERE session_id NOT LIKE '15%')",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(non_blinded, 0);
    net.shutdown().await;
}

#[test]
fn the_sogs_command_adds_rooms_and_serves_them() {
    use std::io::{BufRead as _, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().expect("tmp");
    let bin = env!("CARGO_BIN_EXE_umbra-node");
    let run = |args: &[&str]| {
        Command::new(bin)
            .arg("sogs")
            .args(args)
            .arg("--data")
            .arg(dir.path())
            .output()
            .expect("run")
    };
    assert!(run(&["room", "add", "lobby", "Lobby"]).status.success());
    assert!(
        run(&["room", "add", "dev-talk", "Dev talk"])
            .status
            .success()
    );
    // Bad input: a token with a slash, an id that is not one.
    assert!(!run(&["room", "add", "a/b", "x"]).status.success());
    assert!(
        !run(&["moderator", "add", "zz", "--room", "lobby"])
            .status
            .success()
    );
    let no_data = Command::new(bin)
        .args(["sogs", "room", "add", "x", "X"])
        .output()
        .expect("run");
    assert!(!no_data.status.success());

    let mut child = Command::new(bin)
        .args(["sogs", "serve", "--data"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("read");
    let parts: Vec<&str> = line
        .trim()
        .strip_prefix("sogs ")
        .expect("`sogs URL KEY` line")
        .split(' ')
        .collect();
    assert!(parts[0].starts_with("http://127.0.0.1:"), "{line}");
    assert_eq!(parts[1].len(), 64);
    for room in ["lobby", "dev-talk"] {
        let mut l = String::new();
        out.read_line(&mut l).expect("read");
        assert_eq!(
            l.trim(),
            format!("community {}/{room}?public_key={}", parts[0], parts[1])
        );
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    assert!(child.wait().expect("wait").success());
}
