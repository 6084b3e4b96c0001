//! Community blinding and SOGS request signatures against upstream vectors
//! (docs/protocol.md §11.3 libsession `tests/test_blinding.cpp`, §11.4 session-desktop
//! `OpenGroupAuthentication_test.ts`, §11.5 session-pysogs `tests/test_blinding.py`), each with
//! a tampered twin that must fail.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::SigningKey;
use umbra_protocol::blinding::{
    Blind15Nonce, BlindedKeyPair, BlindingError, RequestSigner, blind15_ids, blind25_id, blinds_to,
    request_message, sign_request, verify, verify_request,
};

fn h32(s: &str) -> [u8; 32] {
    hex::decode(s).expect("hex").try_into().expect("32")
}

fn key(sk64: &str) -> SigningKey {
    SigningKey::from_bytes(&h32(&sk64[..64]))
}

const SEED1: &str = "fecd9a6034bc9aba273925dee7062b123334587c3c6257341afae2d7fe85e122f4ef873908f6a5377ba3853f0e2fa326eed9e741edf9f7d0311a3ecc66a57b32";
const SEED2: &str = "8659efdcbe0949e0f81141e6d397e8be75f45d09262f209d5950e97989eb43c73570b69a47dc094544c1c5089c40414bbda1ffdde8aab2617fe937ee74a5ee81";
const TAIL: &str = "ef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";

fn server(head: &str) -> [u8; 32] {
    h32(&format!("{head}{TAIL}"))
}

fn x25519_of(k: &SigningKey) -> [u8; 32] {
    k.verifying_key().to_montgomery().to_bytes()
}

#[test]
fn account_ids_of_the_vectors() {
    assert_eq!(
        hex::encode(x25519_of(&key(SEED1))),
        "fe94b7ad4b7f1cc1bb92671f1f0d243f226e115b33770465e82b503fc3e96e1f"
    );
    assert_eq!(
        hex::encode(x25519_of(&key(SEED2))),
        "05c9a9bf178fa644d44bebf628716dc7f2df3d0842e97881962c723699152073"
    );
}

#[test]
fn blind25_ids_match_libsession() {
    let (s0, s1) = (server("abcd"), server("00cd"));
    let k1 = key(SEED1);
    let k2 = key(SEED2);
    let cases = [
        (
            &k1,
            s0,
            "253b991dcbba44cfdb45d5b38880d95cff723309e3ece6fd01415ad5fa1dccc7ac",
        ),
        (
            &k1,
            s1,
            "2598589c7885b56cbeae6ab7b4224f202815520a54995872cb1833b44db6401c8d",
        ),
        (
            &k2,
            s0,
            "25a69cc6884530bf8498d22892e563716c4742f2845a7eb608de2aecbe7b6b5996",
        ),
    ];
    for (k, s, want) in cases {
        assert_eq!(BlindedKeyPair::blind25(k, &s).id_hex(), want);
        assert_eq!(
            hex::encode(blind25_id(&x25519_of(k), &s).expect("id")),
            want
        );
        let id: [u8; 33] = hex::decode(want).expect("hex").try_into().expect("33");
        assert!(blinds_to(&k.verifying_key().to_bytes(), &id, &s));
        // Tampered: another server.
        assert!(!blinds_to(
            &k.verifying_key().to_bytes(),
            &id,
            &server("999d")
        ));
    }
}

#[test]
fn blind15_ids_match_libsession() {
    let s0 = server("abcd");
    let k1 = key(SEED1);
    let k2 = key(SEED2);
    let want1 = "15b74ed205f1f931e1bb1291183778a9456b835937d923b0f2e248aa3a44c07844";
    let want2 = "1561e070286ff7a71f167e92b18c709882b148d8238c8872caf414b301ba0564fd";
    assert_eq!(BlindedKeyPair::blind15(&k1, &s0).id_hex(), want1);
    let c1 = blind15_ids(&x25519_of(&k1), &s0).expect("ids");
    assert_eq!(hex::encode(c1[0]), want1);
    let c2 = blind15_ids(&x25519_of(&k2), &s0).expect("ids");
    assert_eq!(hex::encode(c2[0]), want2);
    // seed2's Ed25519 key is negative: its own key pair is the flipped candidate.
    assert_eq!(BlindedKeyPair::blind15(&k2, &s0).id(), c2[1]);
    assert!(blinds_to(&k2.verifying_key().to_bytes(), &c2[0], &s0));
    let mut bad = c2[0];
    bad[5] ^= 1;
    assert!(!blinds_to(&k2.verifying_key().to_bytes(), &bad, &s0));
}

/// (key, server, message, blind25 signature, blind15 signature)
type SigCase = (
    SigningKey,
    [u8; 32],
    &'static [u8],
    &'static str,
    &'static str,
);

fn sig_cases() -> Vec<SigCase> {
    vec![
        (
            key(SEED1),
            server("abcd"),
            b"hello",
            "e6c57de4ac0cd278abbeef815bd88b163a037085deae789ecaaf4805884c4c3d3db25f3afa856241366cb341a3a4c9bbaa2cda81d028079c956fab16a7fe6206",
            "1a5ade20b43af0e16b3e591d6f86303938d7557c0ac54469dd4f5aea759f82d22cafa42587251756e133acdddd8cbec2f707a9ce09a49f2193f46a91502c5006",
        ),
        (
            key(SEED1),
            server("00cd"),
            b"world",
            "4460b606e9f55a7cba0bbe24207fe2859c3422783373788b6b070b2fa62ceba4f2a50749a6cee68e095747a369927f9f4afa86edaf055cad68110e35e8b06607",
            "d357f74c5ec5536840aec575051f71fdb22d70f35ef31db1715f5f694842de3b39aa647c84aa8e28ec56eb762d237c9e030639c83f429826d419ac719cd4df03",
        ),
        (
            key(SEED2),
            server("abcd"),
            b"this",
            "57bb2f80c88ce2f677902ee58e02cbd83e4e1ec9e06e1c72a34b4ab76d0f5219cfd141ac5ce7016c73c8382db99df9f317f2bc0af6ca68edac2a9a7670938902",
            "dacf91dfb411e99cd8ef4cb07b195b49289cf1a724fef122c73462818560bc29832a98d870ec4feb79dedca5b59aba6a466d3ce8f3e35adf25a1813f6989fd0a",
        ),
        (
            key(SEED2),
            server("999d"),
            b"is",
            "ecce032b27b09d2d3d6df4ebab8cae86656c64fd1e3e70d6f020cd7e1a8058c57e3df7b6b01e90ccd592ac4a845dde7a2fdceb1a328a6690686851583133ea0c",
            "8339ea9887d3e44131e33403df160539cdc7a0a8107772172c311e95773660a0d39ed0a6c2b2c794dde1fdc640943e403497aa02c4d1a21a7d9030742beabb05",
        ),
        (
            key(SEED2),
            server("888d"),
            b"",
            "bf2fb9a511adbf5827e2e3bcf09f0a1cff80f85556fb76d8001aa8483b5f22e14539b170eaa0dbfa1489d1b8618ce8b48d7512cb5602c7eb8a05ce330a68350b",
            "8b0d6447decff3a21ec1809141580139c4a51e24977b0605fe7984439993f5377ebc9681e4962593108d03cc8b6873c5c5ba8c30287188137d2dee9ab10afd0f",
        ),
        (
            key(SEED1),
            server("777d"),
            b"omg!",
            "322e280fbc3547c6b6512dbea4d60563d32acaa2df10d665c40a336c99fc3b8e4b13a7109dfdeadab2ab58b2cb314eb0510b947f43e5dfb6e0ce5bf1499d240f",
            "946725055399376ecebb605c79f845fbf689a47f98507c2a1f239516fd9c9104e19fe533631c27ba4e7444574f0e4f0f0d422b7256ed63681a3ab2fe7e040601",
        ),
    ]
}

#[test]
fn blind25_and_blind15_signatures_match_libsession() {
    for (k, s, msg, want25, want15) in sig_cases() {
        let b25 = BlindedKeyPair::blind25(&k, &s);
        let sig = b25.sign(msg);
        assert_eq!(hex::encode(sig), want25);
        verify(&b25.public(), msg, &sig).expect("verifies");
        let b15 = BlindedKeyPair::blind15(&k, &s);
        let sig = b15.sign_with(msg, Blind15Nonce::Libsession);
        assert_eq!(hex::encode(sig), want15);
        verify(&b15.public(), msg, &sig).expect("verifies");
        // The desktop nonce gives other bytes that verify too.
        let other = b15.sign_with(msg, Blind15Nonce::Desktop);
        assert_ne!(other, sig);
        verify(&b15.public(), msg, &other).expect("verifies");
        // Tampered twins: another message, a flipped signature bit, the other key.
        assert_eq!(
            verify(&b15.public(), b"tampered", &sig),
            Err(BlindingError::BadSignature)
        );
        let mut bad = sig;
        bad[40] ^= 1;
        assert!(verify(&b15.public(), msg, &bad).is_err());
        assert!(verify(&b25.public(), msg, &sig).is_err());
    }
}

#[test]
fn blind15_keys_match_pysogs() {
    // docs/protocol.md §11.5, all 20 rows.
    let s = h32("6a32c7b491f4199dd1260a4cc60ae51c6bd71dad939cc521e738409f53f943be");
    let rows = "\
880adf5164a79bce71f7387fbc2cb2693c0bf0ab4cb42bf1edafddade7527a66 15cef185d46b60a548641bd8c5baa4b7cf90b7da8e883c0ac774c703d249086479
67416582e0700081604860d270bc986011fc5e62c53de908a9a5af2cb497c528 15f8fbeb20cdde5e0cc0ec84e0b3705ca6090c7b23e8132589970473a5592ba388
a5ad71709cfa315d147921e377186270367fd06926f4dbfe33f519dec6b016f7 15758e10dc51210d7a36ea6076e2aa84d9f87283bddb508364272dce0a7618f92a
c929a389a0dcf375ae8177891655b3835773e3a2d6d27490de8b8a160ca472f8 1515ad8f8c5e56b31078a4a5ae73938bd523b1c86ea36033d564759e4495fbb64d
0576076b8a82aae0fa1d0f00e97b538b43205f63759a972f26b851a55b60b5d0 15375a56d4cbf0538f4b326e54917fd1953e9e3dfe076eb8b35929a8d869a15c13
0a5db01db307ffd1bbe3cdd0d47c71e8837c60b38983d1df1b187301959095c9 151a821dd107ac68845f82085efb1f88d046a084a63f7fc381ec07a367e6bc5aac
d9b4ff572d4ebbcf26b07329f9029462f0606087d64e8932e698aa0a98231ce3 15a4acf4c814fd1bcf83ebbe42c276630a63e32365633cb57089544b3a60b5e4ac
dbcf64e7e6323ace8a75327119c13ef0b41e0efb94e594a6424ba41472987844 1503e60a1fbde2a930e11db0898220ceb41e5ea9161f61ff1dc7d83be3e9b96993
2e90f20775370121a2db8413a68bb41c3618e63c744c865d8b03ca2cb9d52e9e 150bfdf09d985453d70b07b779ac7de982c0b6190c19126df74e8ca3adbfb87fec
0b19b8b2f006f73810a86244697ac3feb3500af22f97434bf1e4bac575e95d2f 15c430f8cf5e3ca4a3d0fa79d75fe60b3dc21212b4467ddd01fc1173c738161628
32c58327a3856acb77ca0e97993100b4a14475b2d5cd3804213ae2d6f2515709 150fdb6a400ade0aa2d261999fc51aa0151201d30626b30ec94d3a06a927948523
f5c57e9949bbb87b3ae9fa374bc05b8e945c33141b7eb19c5125d17023120287 15cdda69401f8ca32c4760b025b8315967ce9f5c53d4b75239b26d8ff9db5852f8
3aacbfb5059e1df00d11ff5742f8a5b91cdb9fe163f38906d7dfaae29ad30c0c 152701bb6cf273f7c30a0b2bb3a4b027415aab3fdff5d44b7b50af269aaa46007d
cce2487f4f1a01a54811204e8c774e7380c080f5f40cda0ef395752ef96dd35c 15c92aa80e809a84d97323f911355d5015e916f3d5bebc297a17b4c44bad487ad6
a414c2990f36a115308f74bbcb56c4238135c0578abf8de0505b08e9c7b69134 150e51c490bc7c570310276b7fdaeb9e0e14ab4674ce8217df5418b621b52c5c31
cbf84283c5d4a906b81e7533005fdd832d9d3712e71d5ee8247e3d32c1e2e38c 157b0487fa9bc7449a167d66b56eb3e3fc628101d84a08f3f510f46de90de2e3a4
e75399dac3b5b3675874ba1708d1effc6ab9bbd5b0fac4cf78a3c2b36af9cfc5 15f277d3d6afbecc15c71d16c3f183e6dbb772b176f3c818265f4459aa649b9d80
6cef60808348898f17123eb4f47556f22ae0e7bd1988455da6d4b685ea0f93d0 152d766ba9a19fd108e8f397b7fddaad2473cf13192858b8fd28f641e6c817c7c1
9396176367912b4bc9b2fca427bf7fea97293ee9db75e521e31e4618e2da061c 15a2308a015da570bd749348991d4fee7b0ea5816f372a6c584581964680c9d46a
b9ac6f130f0ef218e1fbd9484b38ba3a0a8ec5657744732b0a4a9e7f6c80a62e 1513533ac53ea094b0c0e907046ffc2ade32122da069df503583bf89d6af01e127";
    let mut n = 0;
    for line in rows.lines() {
        let (seed, want) = line.split_once(' ').expect("row");
        let k = SigningKey::from_bytes(&h32(seed));
        let kp = BlindedKeyPair::blind15(&k, &s);
        assert_eq!(kp.id_hex(), want, "seed {seed}");
        // Tampered twin: one server byte changed gives another id.
        let mut s2 = s;
        s2[0] ^= 1;
        assert_ne!(BlindedKeyPair::blind15(&k, &s2).id_hex(), want);
        n += 1;
    }
    assert_eq!(n, 20);
}

const DESKTOP_SEED: &str = "c010d89eccbaf5d1c6d19df766c6eedf965d4a28a56f87c9fc819edb59896dd9";
const DESKTOP_SERVER: &str = "c3b3c6f32f0ab5a57f853cc4f30f5da7fda5624b0c77b3fb0829de562ada081d";
const DESKTOP_PATH: &str = "/room/the-best-room/messages/recent?limit=25";
const DESKTOP_TS: u64 = 1_642_472_103;

fn desktop_nonce() -> [u8; 16] {
    STANDARD
        .decode("CdB5nyKVmQGCw6s0Bvv8Ww==")
        .expect("b64")
        .try_into()
        .expect("16")
}

#[test]
fn sogs_headers_match_session_desktop() {
    let k = SigningKey::from_bytes(&h32(DESKTOP_SEED));
    assert_eq!(
        hex::encode(k.verifying_key().to_bytes()),
        "bac6e71efd7dfa4a83c98ed24f254ab2c267f9ccdb172a5280a0444ad24e89cc"
    );
    let s = h32(DESKTOP_SERVER);
    let nonce = desktop_nonce();
    let kp = BlindedKeyPair::blind15(&k, &s);
    let body = "hello 🎂".as_bytes();
    let blinded = RequestSigner::Blinded(&kp, Blind15Nonce::Desktop);
    let h = sign_request(blinded, &s, &nonce, DESKTOP_TS, "GET", DESKTOP_PATH, b"");
    assert_eq!(
        h.pubkey,
        "1598932d4bccbe595a8789d7eb1629cefc483a0eaddc7e20e8fe5c771efafd9af5"
    );
    assert_eq!(h.nonce, "CdB5nyKVmQGCw6s0Bvv8Ww==");
    assert_eq!(h.timestamp, "1642472103");
    assert_eq!(
        h.signature,
        "gYqpWZX6fnF4Gb2xQM3xaXs0WIYEI49+B8q4mUUEg8Rw0ObaHUWfoWjMHMArAtP9QlORfiydsKWz1o6zdPVeCQ=="
    );
    // The desktop test signs the same GET with the body added (its "with body" case).
    let h = sign_request(blinded, &s, &nonce, DESKTOP_TS, "GET", DESKTOP_PATH, body);
    assert_eq!(
        h.signature,
        "hZCg5pEoy9t98umaY6fNarzcLP5UKUF8chz5mIjwwrRIQLy1kinRoYcNPdFOpJu8heA0val4viymXRTp1DGeBg=="
    );
    // libsession's nonce convention (same key, other bytes).
    let lib = RequestSigner::Blinded(&kp, Blind15Nonce::Libsession);
    let h = sign_request(lib, &s, &nonce, DESKTOP_TS, "GET", DESKTOP_PATH, b"");
    assert_eq!(
        h.signature,
        "kXxMbg6+492jeI+D61s9636ixYctn/qnhknhUhQTt54UR3eP9vslcc3iESdBCyikpqYyyfEOp0z+hjuvXGWyCQ=="
    );
    let plain = RequestSigner::Unblinded(&k);
    let h = sign_request(plain, &s, &nonce, DESKTOP_TS, "GET", DESKTOP_PATH, b"");
    assert_eq!(
        h.pubkey,
        "00bac6e71efd7dfa4a83c98ed24f254ab2c267f9ccdb172a5280a0444ad24e89cc"
    );
    assert_eq!(
        h.signature,
        "xxLpXHbomAJMB9AtGMyqvBsXrdd2040y+Ol/IKzElWfKJa3EYZRv1GLO6CTLhrDFUwVQe8PPltyGs54Kd7O5Cg=="
    );
    let h = sign_request(plain, &s, &nonce, DESKTOP_TS, "GET", DESKTOP_PATH, body);
    assert_eq!(
        h.signature,
        "uumZNee7NUb0lVufegjzgjjnj4pe3kAe6OYw7iVTJrcxxxdIxUCgt5/xliBWqPlgY6ReUZRAuptNa4nprv7nCA=="
    );
}

#[test]
fn the_server_check_accepts_the_vector_and_refuses_tampered_twins() {
    let k = SigningKey::from_bytes(&h32(DESKTOP_SEED));
    let s = h32(DESKTOP_SERVER);
    let kp = BlindedKeyPair::blind15(&k, &s);
    let h = sign_request(
        RequestSigner::Blinded(&kp, Blind15Nonce::Desktop),
        &s,
        &desktop_nonce(),
        DESKTOP_TS,
        "GET",
        DESKTOP_PATH,
        b"",
    );
    let check = |pubkey: &str, ts: &str, nonce: &str, sig: &str, method: &str, path: &str, now| {
        verify_request(
            pubkey,
            ts,
            nonce,
            sig,
            &s,
            method,
            &[path],
            b"",
            now,
            86_400,
            true,
        )
    };
    let ok = check(
        &h.pubkey,
        &h.timestamp,
        &h.nonce,
        &h.signature,
        "GET",
        DESKTOP_PATH,
        DESKTOP_TS + 10,
    )
    .expect("verifies");
    assert_eq!(ok.nonce, desktop_nonce());
    assert_eq!(hex::encode(ok.id), h.pubkey);
    // The nonce as 32 hex characters is accepted too.
    let hex_nonce = hex::encode(desktop_nonce());
    assert!(
        check(
            &h.pubkey,
            &h.timestamp,
            &hex_nonce,
            &h.signature,
            "GET",
            DESKTOP_PATH,
            DESKTOP_TS
        )
        .is_ok()
    );
    // Another path, method, or a changed signature: 401.
    assert_eq!(
        check(
            &h.pubkey,
            &h.timestamp,
            &h.nonce,
            &h.signature,
            "GET",
            "/room/the-best-room/messages/recent?limit=26",
            DESKTOP_TS
        ),
        Err(BlindingError::BadSignature)
    );
    assert_eq!(
        check(
            &h.pubkey,
            &h.timestamp,
            &h.nonce,
            &h.signature,
            "POST",
            DESKTOP_PATH,
            DESKTOP_TS
        ),
        Err(BlindingError::BadSignature)
    );
    let mut sig = STANDARD.decode(&h.signature).expect("b64");
    sig[3] ^= 4;
    assert!(
        check(
            &h.pubkey,
            &h.timestamp,
            &h.nonce,
            &STANDARD.encode(sig),
            "GET",
            DESKTOP_PATH,
            DESKTOP_TS
        )
        .is_err()
    );
    // Old timestamp: 425's error.
    assert_eq!(
        check(
            &h.pubkey,
            &h.timestamp,
            &h.nonce,
            &h.signature,
            "GET",
            DESKTOP_PATH,
            DESKTOP_TS + 86_401
        ),
        Err(BlindingError::Timestamp)
    );
    // Unblinded where blinding is required.
    let u = sign_request(
        RequestSigner::Unblinded(&k),
        &s,
        &desktop_nonce(),
        DESKTOP_TS,
        "GET",
        DESKTOP_PATH,
        b"",
    );
    assert_eq!(
        check(
            &u.pubkey,
            &u.timestamp,
            &u.nonce,
            &u.signature,
            "GET",
            DESKTOP_PATH,
            DESKTOP_TS
        ),
        Err(BlindingError::BlindingRequired)
    );
    // Malformed headers.
    assert_eq!(
        check("15zz", "1", &h.nonce, &h.signature, "GET", "/", DESKTOP_TS),
        Err(BlindingError::Malformed)
    );
    assert_eq!(
        check(
            &h.pubkey,
            "soon",
            &h.nonce,
            &h.signature,
            "GET",
            "/",
            DESKTOP_TS
        ),
        Err(BlindingError::Malformed)
    );
    assert_eq!(
        check(
            &h.pubkey,
            &h.timestamp,
            "AAAA",
            &h.signature,
            "GET",
            "/",
            DESKTOP_TS
        ),
        Err(BlindingError::Malformed)
    );
    // The message layout: S ‖ nonce ‖ ts ‖ method ‖ path, plus the body hash when non-empty.
    let m = request_message(&s, &desktop_nonce(), 5, "GET", "/x", b"");
    assert_eq!(m.len(), 32 + 16 + 1 + 3 + 2);
    let m = request_message(&s, &desktop_nonce(), 5, "POST", "/x", b"b");
    assert_eq!(m.len(), 32 + 16 + 1 + 4 + 2 + 64);
}
