//! One benchmark body over Umbra's real crypto API (`umbra-protocol`), run natively
//! (`src/main.rs`, `Instant`) and as wasm in a Chromium dedicated worker (`tests/worker.rs`,
//! `performance.now()`). The caller passes the clock and the line printer; this crate does no
//! I/O of its own.
//!
//! Every result line has the form `BENCH|<key>|<value>|<unit>|<what>`, which `bench/crypto.sh`
//! parses. Units: `ops/s`, `MB/s` (10^6 bytes per second, as in docs/performance.md) or `s`
//! (seconds per operation, for Argon2id).

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use blake2::{Blake2b256, Digest};
use ed25519_dalek::{Signature, VerifyingKey};
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, SeedableRng, UnwrapErr};
use umbra_protocol::identity::{Identity, Seed};
use umbra_protocol::message::proto::{Content, DataMessage};
use umbra_protocol::message::{decrypt_incoming, encode_for_1o1, encrypt_for_recipient};
use umbra_protocol::onion::hop::HopSecret;
use umbra_protocol::onion::{Destination, EncType, HopKey, PathHop, build_request};
use umbra_protocol::store::{KdfParams, MemoryStore, StoreKey, Vault};
use x25519_dalek::{PublicKey, StaticSecret};

/// Measurement settings.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Length of one timed round, in seconds.
    pub round_secs: f64,
    /// Timed rounds per operation; the median is reported.
    pub rounds: usize,
    /// Argon2id unlocks timed (after one warm-up); the median is reported.
    pub argon2_runs: usize,
}

impl Config {
    /// The method of docs/performance.md: 5 one-second rounds, median.
    pub const FULL: Config = Config {
        round_secs: 1.0,
        rounds: 5,
        argon2_runs: 5,
    };
    /// A quick pass (for smoke runs): 5 rounds of 0.2 s.
    pub const QUICK: Config = Config {
        round_secs: 0.2,
        rounds: 5,
        argon2_runs: 2,
    };
}

/// Runs `fut` to completion without an executor; the futures benchmarked here (a
/// [`MemoryStore`]) never wait. `None` if it did not finish in one poll.
fn poll_once<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Times `op`: batches sized to take at least ~2 ms (so reading the clock costs nothing),
/// a warm-up of one round, then `cfg.rounds` rounds; returns the median in ops per second.
fn ops_per_sec(now: &mut dyn FnMut() -> f64, cfg: Config, mut op: impl FnMut() -> usize) -> f64 {
    let mut batch: u64 = 1;
    loop {
        let t0 = now();
        for _ in 0..batch {
            black_box(op());
        }
        let dt = now() - t0;
        if dt >= 2.0 || batch >= 1 << 24 {
            break;
        }
        batch *= 2;
    }
    let round_ms = cfg.round_secs * 1000.0;
    let mut round = || {
        let t0 = now();
        let mut count: u64 = 0;
        loop {
            for _ in 0..batch {
                black_box(op());
            }
            count += batch;
            let dt = now() - t0;
            if dt >= round_ms {
                return count as f64 * 1000.0 / dt;
            }
        }
    };
    round(); // warm-up
    median((0..cfg.rounds).map(|_| round()).collect())
}

/// Formats a result line.
fn line(key: &str, value: f64, unit: &str, what: &str) -> String {
    format!("BENCH|{key}|{value:.3}|{unit}|{what}")
}

/// Fixtures shared by the operations.
struct Fixture {
    sender: Identity,
    recipient: Identity,
    path3: Vec<PathHop>,
    dest_ed25519: [u8; 32],
    dest_x25519: [u8; 32],
    hop_key: HopKey,
    store_key: StoreKey,
    kib: Vec<u8>,
    mib: Vec<u8>,
    text200: Vec<u8>,
}

fn node_keys<R: CryptoRng + ?Sized>(rng: &mut R) -> ([u8; 32], [u8; 32]) {
    let mut ed = [0u8; 32];
    rng.fill_bytes(&mut ed);
    let x = PublicKey::from(&StaticSecret::random_from_rng(rng)).to_bytes();
    (ed, x)
}

impl Fixture {
    fn new<R: CryptoRng + ?Sized>(rng: &mut R) -> Result<Fixture, String> {
        let sender = Identity::from_seed(&Seed::generate(rng));
        let recipient = Identity::from_seed(&Seed::generate(rng));
        let path3 = (0..3)
            .map(|_| {
                let (ed25519, x25519) = node_keys(rng);
                PathHop { ed25519, x25519 }
            })
            .collect();
        let (dest_ed25519, dest_x25519) = node_keys(rng);
        let (_, some_node) = node_keys(rng);
        let hop_key = HopSecret::client(&StaticSecret::random_from_rng(rng), &some_node)
            .map_err(|e| format!("hop secret: {e}"))?
            .key(EncType::XChaCha20);
        let mut kib = vec![0u8; 1024];
        rng.fill_bytes(&mut kib);
        let mut mib = vec![0u8; 1 << 20];
        rng.fill_bytes(&mut mib);
        let mut text200 = vec![b'a'; 200];
        rng.fill_bytes(&mut text200[..16]);
        Ok(Fixture {
            sender,
            recipient,
            path3,
            dest_ed25519,
            dest_x25519,
            hop_key,
            store_key: StoreKey::generate(rng),
            kib,
            mib,
            text200,
        })
    }

    /// The composite send of docs/performance.md: sign + sealed box of a 200-byte plaintext
    /// (`encrypt_for_recipient`), then 3 nested XChaCha20 onion layers (`build_request` with a
    /// 2-hop path to a service-node destination: destination layer + 2 hop layers).
    fn send_composite<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> usize {
        let ct = match encrypt_for_recipient(
            &self.sender,
            &self.recipient.x25519_public(),
            &self.text200,
            rng,
        ) {
            Ok(ct) => ct,
            Err(_) => return 0,
        };
        let dest = Destination::Snode {
            ed25519: self.dest_ed25519,
            x25519: self.dest_x25519,
            payload: ct,
        };
        match build_request(&self.path3[..2], &dest, EncType::XChaCha20, rng) {
            Ok(req) => req.body.len(),
            Err(_) => 0,
        }
    }

    /// What the client does for one text message: protobuf `Content` with a 200-character
    /// body → `encode_for_1o1` (pad, sign, seal, envelope) → storage `store` JSON (base64) →
    /// `build_request` through a 3-hop path to the swarm node (4 layers).
    fn send_real<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> usize {
        let content = Content {
            data_message: Some(DataMessage {
                body: Some(String::from_utf8_lossy(&[b'x'; 200]).into_owned()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let Ok(data) = encode_for_1o1(
            &self.sender,
            &self.recipient.account_id(),
            &content,
            1_795_000_000_000,
            rng,
        ) else {
            return 0;
        };
        use base64::Engine as _;
        let payload = serde_json::json!({
            "method": "store",
            "params": {
                "pubkey": self.recipient.account_id().to_string(),
                "ttl": 1_209_600_000u64,
                "timestamp": 1_795_000_000_000u64,
                "namespace": 0,
                "data": base64::engine::general_purpose::STANDARD.encode(&data),
            }
        });
        let dest = Destination::Snode {
            ed25519: self.dest_ed25519,
            x25519: self.dest_x25519,
            payload: payload.to_string().into_bytes(),
        };
        match build_request(&self.path3, &dest, EncType::XChaCha20, rng) {
            Ok(req) => req.body.len(),
            Err(_) => 0,
        }
    }
}

/// Runs every benchmark, calling `out` with one `BENCH|…` line per operation (plus `#`
/// comment lines). `now` returns milliseconds from any fixed origin. Randomness comes from a
/// ChaCha20 generator seeded once from the system source (`getrandom`), except on the line
/// that says otherwise.
///
/// # Errors
///
/// A message if a fixture cannot be built or a self-check fails (a benchmark that measured a
/// failing operation would be meaningless).
pub fn run_all(
    now: &mut dyn FnMut() -> f64,
    cfg: Config,
    out: &mut dyn FnMut(&str),
) -> Result<(), String> {
    let mut rng = ChaCha20Rng::try_from_rng(&mut getrandom::SysRng)
        .map_err(|e| format!("getrandom: {e}"))?;
    let fx = Fixture::new(&mut rng)?;
    self_check(&fx, &mut rng)?;
    let mb = |ops: f64, len: usize| ops * len as f64 / 1e6;

    // Ed25519
    let r = ops_per_sec(now, cfg, || fx.sender.sign(&fx.kib)[0] as usize);
    out(&line("sign_1k", r, "ops/s", "Identity::sign (Ed25519), 1 KiB"));
    let vk = VerifyingKey::from_bytes(&fx.sender.ed25519_public())
        .map_err(|_| "verifying key".to_string())?;
    let sig = Signature::from_bytes(&fx.sender.sign(&fx.kib));
    let r = ops_per_sec(now, cfg, || vk.verify_strict(&fx.kib, &sig).is_ok() as usize);
    out(&line("verify_1k", r, "ops/s", "Ed25519 verify_strict, 1 KiB"));

    // X25519
    let a = StaticSecret::random_from_rng(&mut rng);
    let b_pub = PublicKey::from(&StaticSecret::random_from_rng(&mut rng));
    let r = ops_per_sec(now, cfg, || a.diffie_hellman(&b_pub).as_bytes()[0] as usize);
    out(&line("x25519", r, "ops/s", "X25519 scalar mult (diffie_hellman)"));

    // Sealed box (with the sign / verify that Session always does with it)
    let recipient_x = fx.recipient.x25519_public();
    let r = ops_per_sec(now, cfg, || {
        encrypt_for_recipient(&fx.sender, &recipient_x, &fx.kib, &mut rng)
            .map(|c| c.len())
            .unwrap_or(0)
    });
    out(&line(
        "seal_1k",
        r,
        "ops/s",
        "message::encrypt_for_recipient 1 KiB (Ed25519 sign + sealed box)",
    ));
    let sealed = encrypt_for_recipient(&fx.sender, &recipient_x, &fx.kib, &mut rng)
        .map_err(|e| format!("seal: {e}"))?;
    let r = ops_per_sec(now, cfg, || {
        decrypt_incoming(&fx.recipient, &sealed)
            .map(|d| d.plaintext.len())
            .unwrap_or(0)
    });
    out(&line(
        "open_1k",
        r,
        "ops/s",
        "message::decrypt_incoming 1 KiB (sealed box open + Ed25519 verify)",
    ));

    // Attachments (legacy AES-256-CBC + HMAC-SHA256, what Umbra sends), 1 MB
    let file: Vec<u8> = (0..1_000_000u32).map(|i| (i * 31) as u8).collect();
    let r = ops_per_sec(now, cfg, || {
        umbra_protocol::attachment::encrypt_legacy(&file, &mut rng)
            .map(|e| e.blob.len())
            .unwrap_or(0)
    });
    out(&line(
        "attachment_encrypt_1m",
        mb(r, file.len()),
        "MB/s",
        "attachment::encrypt_legacy 1 MB (pad, AES-256-CBC, HMAC-SHA256, SHA-256 digest)",
    ));
    let enc = umbra_protocol::attachment::encrypt_legacy(&file, &mut rng)
        .map_err(|e| format!("attachment: {e}"))?;
    let r = ops_per_sec(now, cfg, || {
        umbra_protocol::attachment::decrypt_legacy(&enc.blob, &enc.key, Some(&enc.digest), Some(enc.size))
            .map(|p| p.len())
            .unwrap_or(0)
    });
    out(&line(
        "attachment_decrypt_1m",
        mb(r, file.len()),
        "MB/s",
        "attachment::decrypt_legacy 1 MB (digest, HMAC, AES-256-CBC)",
    ));

    // Config sync (issue 13): a Contacts config of 1,000 contacts pulled into a fresh
    // device (decrypt, decompress if compressed, parse, verify, merge, read every contact),
    // and the bytes one contact change pushes.
    {
        use umbra_protocol::config::{ConfigKind, ConfigState, contacts};
        let mut state = ConfigState::new(ConfigKind::Contacts);
        for i in 0..1_000u32 {
            let mut entropy = [0u8; 16];
            entropy[..4].copy_from_slice(&i.to_le_bytes());
            let seed = umbra_protocol::identity::Seed::from_entropy(&entropy)
                .map_err(|_| "seed".to_string())?;
            let id = umbra_protocol::identity::Identity::from_seed(&seed).account_id();
            contacts::update(&mut state, &id, |c| {
                c.name = format!("Contact number {i}");
                c.approved = true;
                c.approved_me = true;
                c.created = 1_800_000_000 + i64::from(i);
            })
            .map_err(|e| format!("contacts: {e}"))?;
        }
        let push = state.push(&fx.sender).map_err(|e| format!("push: {e}"))?;
        let pulled = vec![("h1".to_string(), push.data.clone())];
        let r = ops_per_sec(now, cfg, || {
            let mut fresh = ConfigState::new(ConfigKind::Contacts);
            let outcome = fresh.merge(&fx.sender, &pulled);
            outcome.accepted.len() + contacts::len(&fresh)
        });
        let mut check = ConfigState::new(ConfigKind::Contacts);
        check.merge(&fx.sender, &pulled);
        if contacts::len(&check) != 1_000 {
            return Err("config: the pulled config does not hold 1,000 contacts".into());
        }
        out(&line(
            "config_pull_1000_contacts",
            1.0 / r,
            "s",
            "ConfigState::merge of a pulled Contacts config with 1,000 contacts (decrypt, parse, verify, merge) + contacts::len",
        ));
        state.confirm_pushed(push.seqno, "h1".into());
        let first = contacts::all(&state)[0].account_id;
        contacts::update(&mut state, &first, |c| c.nickname = "Nick".into())
            .map_err(|e| format!("contacts: {e}"))?;
        let change = state.push(&fx.sender).map_err(|e| format!("push: {e}"))?;
        out(&line(
            "config_push_one_change",
            change.data.len() as f64,
            "bytes",
            "bytes stored for one contact change in a 1,000-contact config (the whole config, compressed if smaller, padded, encrypted)",
        ));
        out(&format!("# config: 1,000 contacts = {} bytes pushed", push.data.len()));
    }

    // XChaCha20-Poly1305 (onion hop key)
    let r = ops_per_sec(now, cfg, || fx.hop_key.encrypt(&fx.kib, &mut rng).len());
    out(&line(
        "xchacha_1k",
        r,
        "ops/s",
        "HopKey::encrypt XChaCha20-Poly1305, 1 KiB",
    ));
    let r = ops_per_sec(now, cfg, || fx.hop_key.encrypt(&fx.mib, &mut rng).len());
    out(&line(
        "xchacha_1m",
        mb(r, fx.mib.len()),
        "MB/s",
        "HopKey::encrypt XChaCha20-Poly1305, 1 MiB",
    ));

    // BLAKE2b-256
    let r = ops_per_sec(now, cfg, || Blake2b256::digest(&fx.mib)[0] as usize);
    out(&line("blake2b_1m", mb(r, fx.mib.len()), "MB/s", "BLAKE2b-256, 1 MiB"));

    // Store record cipher
    let r = ops_per_sec(now, cfg, || {
        fx.store_key
            .seal("bench", &fx.kib, &mut rng)
            .map(|c| c.len())
            .unwrap_or(0)
    });
    out(&line("store_seal_1k", r, "ops/s", "StoreKey::seal, 1 KiB record"));
    let record = fx
        .store_key
        .seal("bench", &fx.kib, &mut rng)
        .map_err(|e| format!("store seal: {e}"))?;
    let r = ops_per_sec(now, cfg, || {
        fx.store_key
            .open("bench", &record)
            .map(|p| p.len())
            .unwrap_or(0)
    });
    out(&line("store_open_1k", r, "ops/s", "StoreKey::open, 1 KiB record"));

    // Composite sends
    let r = ops_per_sec(now, cfg, || fx.send_composite(&mut rng));
    out(&line(
        "send",
        r,
        "ops/s",
        "composite send: encrypt_for_recipient(200 B) + build_request 3 layers",
    ));
    let mut sys = UnwrapErr(getrandom::SysRng);
    let r = ops_per_sec(now, cfg, || fx.send_composite(&mut sys));
    out(&line(
        "send_sysrng",
        r,
        "ops/s",
        "composite send, every random fill from getrandom (crypto.getRandomValues in wasm)",
    ));
    let r = ops_per_sec(now, cfg, || fx.send_real(&mut rng));
    out(&line(
        "send_real",
        r,
        "ops/s",
        "real send: encode_for_1o1 + store JSON + build_request 3-hop path (4 layers)",
    ));

    // Argon2id unlock at the default parameters, through the vault.
    let store = MemoryStore::new();
    let seed = Seed::generate(&mut rng);
    poll_once(Vault::create(
        &store,
        "correct horse",
        &seed,
        KdfParams::DEFAULT,
        &mut rng,
    ))
    .ok_or("vault create did not complete")?
    .map_err(|e| format!("vault create: {e}"))?;
    let mut unlock = || -> Result<f64, String> {
        let t0 = now();
        let v = poll_once(Vault::unlock(&store, "correct horse"))
            .ok_or("unlock did not complete")?
            .map_err(|e| format!("unlock: {e}"))?;
        let dt = now() - t0;
        black_box(v.account_id());
        Ok(dt / 1000.0)
    };
    unlock()?; // warm-up
    let mut times = Vec::with_capacity(cfg.argon2_runs);
    for _ in 0..cfg.argon2_runs.max(1) {
        times.push(unlock()?);
    }
    out(&line(
        "argon2id_unlock",
        median(times),
        "s",
        "Vault::unlock, Argon2id KdfParams::DEFAULT (64 MiB, t=3, p=1)",
    ));
    Ok(())
}

/// Checks, once, that every measured operation succeeds and round-trips, so a benchmark
/// never times an error path.
fn self_check<R: CryptoRng + ?Sized>(fx: &Fixture, rng: &mut R) -> Result<(), String> {
    let recipient_x = fx.recipient.x25519_public();
    let ct = encrypt_for_recipient(&fx.sender, &recipient_x, &fx.kib, rng)
        .map_err(|e| format!("seal: {e}"))?;
    let d = decrypt_incoming(&fx.recipient, &ct).map_err(|e| format!("open: {e}"))?;
    if d.plaintext != fx.kib || d.sender != fx.sender.account_id() {
        return Err("sealed box round trip mismatch".into());
    }
    let mut tampered = ct.clone();
    if let Some(b) = tampered.last_mut() {
        *b ^= 1;
    }
    if decrypt_incoming(&fx.recipient, &tampered).is_ok() {
        return Err("tampered sealed box opened".into());
    }
    let blob = fx.hop_key.encrypt(&fx.kib, rng);
    if fx.hop_key.decrypt(&blob).map_err(|e| format!("hop: {e}"))? != fx.kib {
        return Err("hop key round trip mismatch".into());
    }
    let rec = fx
        .store_key
        .seal("bench", &fx.kib, rng)
        .map_err(|e| format!("store seal: {e}"))?;
    if *fx
        .store_key
        .open("bench", &rec)
        .map_err(|e| format!("store open: {e}"))?
        != fx.kib
    {
        return Err("store round trip mismatch".into());
    }
    let vk = VerifyingKey::from_bytes(&fx.sender.ed25519_public())
        .map_err(|_| "verifying key".to_string())?;
    let sig = Signature::from_bytes(&fx.sender.sign(&fx.kib));
    vk.verify_strict(&fx.kib, &sig)
        .map_err(|_| "signature does not verify".to_string())?;
    if fx.send_composite(rng) == 0 || fx.send_real(rng) == 0 {
        return Err("send failed".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_even() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(vec![]).is_nan());
    }

    #[test]
    fn poll_once_ready_future() {
        assert_eq!(poll_once(async { 7 }), Some(7));
    }

    #[test]
    fn self_check_passes() {
        let mut rng = ChaCha20Rng::from_seed([7; 32]);
        let fx = Fixture::new(&mut rng).expect("fixture");
        self_check(&fx, &mut rng).expect("self check");
    }
}
