//! Config layer tests: §11.8 known-answer vectors (config encryption, padding, serialisation,
//! the UserProfile push), libsession's `tests/test_configdata.cpp` (diffs, serialisation,
//! merge examples of `docs/config-merge-logic.md`) and the behavioural expectations of its
//! `tests/test_config_*.cpp`, transcribed as facts.

use serde_json::Value as Json;
use umbra_protocol::{
    config::{
        ConfigError, ConfigKind, ConfigMessage, ConfigState, Dict, DictValue, PushState, Scalar,
        Set, bencode,
        crypto::{self, padded_size},
        message::{DEFAULT_LAG, hash_bytes},
        state::{open_message, seal_message},
        user_profile,
    },
    identity::{Identity, Seed},
    message::unwrap_shared_config,
};

fn vectors() -> Json {
    serde_json::from_str(include_str!("../testdata/vectors/config.json")).expect("valid json")
}

fn hexb(v: &Json) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("hex")
}

fn hx(s: &str) -> Vec<u8> {
    hex::decode(s).expect("hex")
}

fn identity_from_hex(s: &str) -> Identity {
    Identity::from_seed(&Seed::from_entropy(&hx(s)).expect("seed"))
}

fn k(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

fn int(i: i64) -> DictValue {
    DictValue::Scalar(Scalar::Int(i))
}

fn st(s: &str) -> DictValue {
    DictValue::Scalar(Scalar::Str(k(s)))
}

fn si(i: i64) -> Scalar {
    Scalar::Int(i)
}

fn ss(s: &str) -> Scalar {
    Scalar::Str(k(s))
}

fn set(items: &[Scalar]) -> DictValue {
    DictValue::Set(items.iter().cloned().collect())
}

fn dict(pairs: Vec<(&str, DictValue)>) -> DictValue {
    DictValue::Dict(dict_of(pairs))
}

fn dict_of(pairs: Vec<(&str, DictValue)>) -> Dict {
    pairs.into_iter().map(|(key, v)| (k(key), v)).collect()
}

fn sub<'a>(d: &'a mut Dict, key: &str) -> &'a mut Dict {
    match d.get_mut(key.as_bytes()) {
        Some(DictValue::Dict(x)) => x,
        _ => panic!("no dict at {key}"),
    }
}

fn subset<'a>(d: &'a mut Dict, key: &str) -> &'a mut Set {
    match d.get_mut(key.as_bytes()) {
        Some(DictValue::Set(x)) => x,
        _ => panic!("no set at {key}"),
    }
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn merge(confs: &[&[u8]], mutable: bool) -> ConfigMessage {
    ConfigMessage::merge(confs, DEFAULT_LAG, None, true, mutable)
        .expect("merge")
        .0
}

// ---- §11.8 crypto vectors ------------------------------------------------------------------

#[test]
fn test_config_encrypt_vector_and_tampered_twin() {
    let v = vectors();
    for case in v["encrypt"].as_array().expect("cases") {
        let key: [u8; 32] = hexb(&case["key"]).try_into().expect("32");
        let domain = case["domain"].as_str().expect("domain");
        let msg = hexb(&case["message"]);
        let ct = crypto::encrypt(&msg, &key, domain).expect("encrypt");
        assert_eq!(hex::encode(&ct), case["ciphertext"].as_str().expect("ct"));
        assert_eq!(crypto::decrypt(&ct, &key, domain).expect("decrypt"), msg);
        let bad = hexb(&case["bad_ciphertext"]);
        assert_eq!(
            crypto::decrypt(&bad, &key, domain),
            Err(ConfigError::DecryptFailed)
        );
        assert_eq!(
            crypto::decrypt(&ct, &key, "test-suite2"),
            Err(ConfigError::DecryptFailed)
        );
        let mut flipped = ct.clone();
        flipped[0] ^= 1;
        assert_eq!(
            crypto::decrypt(&flipped, &key, domain),
            Err(ConfigError::DecryptFailed)
        );
        assert_eq!(
            crypto::decrypt(&ct[..39], &key, domain),
            Err(ConfigError::DecryptFailed)
        );
    }
    // The nonce does not depend on the key.
    let ct2 = crypto::encrypt(b"some message 1", &[7; 32], "test-suite2").expect("encrypt");
    assert_eq!(
        hex::encode(&ct2[ct2.len() - 24..]),
        v["nonce_test_suite2"].as_str().expect("nonce")
    );
    assert_eq!(
        crypto::encrypt(b"x", &[0; 32], ""),
        Err(ConfigError::BadDomain)
    );
    assert_eq!(
        crypto::encrypt(b"x", &[0; 32], "0123456789012345678901234"),
        Err(ConfigError::BadDomain)
    );
}

#[test]
fn test_padded_size_vectors() {
    for case in vectors()["padded_size"].as_array().expect("cases") {
        let c: Vec<usize> = case
            .as_array()
            .expect("triple")
            .iter()
            .map(|x| x.as_u64().expect("n") as usize)
            .collect();
        assert_eq!(
            padded_size(c[0], c[1]),
            c[2],
            "padded_size({}, {})",
            c[0],
            c[1]
        );
    }
}

// ---- test_configdata.cpp -------------------------------------------------------------------

#[test]
fn test_scalar_and_set_and_dict_encoding() {
    let mut m = ConfigMessage::new_mutable(0);
    m.data_mut().insert(
        k("s"),
        set(&[ss("foo"), si(23), ss("Foo"), ss("~"), ss("!"), si(-123)]),
    );
    m.data_mut().insert(k("i"), int(3));
    m.data_mut().insert(k("t"), st("hi"));
    let out = m.serialize();
    assert!(
        show(&out).contains("1:ii3e1:sli-123ei23e1:!3:Foo3:foo1:~e1:t2:hi"),
        "{}",
        show(&out)
    );

    let mut m = ConfigMessage::new_mutable(0);
    *m.data_mut() = dict_of(vec![
        ("a", int(23)),
        ("B", st("x")),
        ("c", set(&[ss("2"), ss("1"), si(4), si(-3)])),
        ("D", dict(vec![("x", int(1)), ("y", int(2))])),
        (
            "d",
            dict(vec![("e", dict(vec![("f", dict(vec![("g", st(""))]))]))]),
        ),
    ]);
    let mut out = Vec::new();
    umbra_protocol::config::message::encode_dict(m.data(), &mut out);
    assert_eq!(
        show(&out),
        "d1:B1:x1:Dd1:xi1e1:yi2ee1:ai23e1:cli-3ei4e1:11:2e1:dd1:ed1:fd1:g0:eeee"
    );
}

#[test]
fn test_pruning() {
    let mut m = ConfigMessage::new_mutable(0);
    let d = m.data_mut();
    d.insert(k("a"), int(123));
    d.insert(k("b"), DictValue::Dict(Dict::new()));
    d.insert(k("c"), dict(vec![("a", int(1))]));
    d.insert(k("d"), set(&[si(42)]));
    d.insert(k("e"), DictValue::Set(Set::new()));
    d.insert(
        k("f"),
        dict(vec![("a", int(1)), ("b", DictValue::Set(Set::new()))]),
    );
    d.insert(
        k("g"),
        dict(vec![(
            "a",
            dict(vec![("a", dict(vec![("a", DictValue::Dict(Dict::new()))]))]),
        )]),
    );
    umbra_protocol::config::message::prune_dict(m.data_mut());
    assert_eq!(
        *m.data(),
        dict_of(vec![
            ("a", int(123)),
            ("c", dict(vec![("a", int(1))])),
            ("d", set(&[si(42)])),
            ("f", dict(vec![("a", int(1))])),
        ])
    );
}

fn bar() -> DictValue {
    dict(vec![
        ("asdf", int(123)),
        ("xyz", st("abc")),
        ("", set(&[ss("a"), ss("b"), si(42)])),
    ])
}

fn changes_m2(m: &mut ConfigMessage) {
    let d = m.data_mut();
    d.insert(k("foo"), int(123));
    let b = sub(d, "bar");
    b.insert(k("xyz"), int(42));
    b.insert(k("a"), int(42));
    let s = subset(b, "");
    s.insert(ss("c"));
    s.insert(si(99));
    s.remove(&ss("b"));
    s.insert(si(42));
}

#[test]
fn test_diff() {
    let mut m = ConfigMessage::new_mutable(0);
    let d = m.data_mut();
    d.insert(k("foo"), int(123));
    d.insert(k("empty"), DictValue::Set(Set::new()));
    d.insert(k("empty2"), DictValue::Dict(Dict::new()));
    d.insert(k("bar"), bar());
    d.insert(k("z"), DictValue::Dict(Dict::new()));
    let mut out = Vec::new();
    umbra_protocol::config::message::encode_diff(m.diff(), &mut out);
    assert_eq!(
        show(&out),
        "d3:bard0:lli42e1:a1:belee4:asdf0:3:xyz0:e3:foo0:e"
    );

    let mut m1 = m.increment();
    assert_eq!(m1.seqno(), 1);
    assert!(m1.diff().is_empty());
    m1.data_mut().remove(b"foo".as_slice());
    let mut out = Vec::new();
    umbra_protocol::config::message::encode_diff(m1.diff(), &mut out);
    assert_eq!(show(&out), "d3:foo1:-e");

    let mut m2 = m1.increment();
    assert_eq!(m2.seqno(), 2);
    assert!(m2.diff().is_empty());
    changes_m2(&mut m2);
    let mut out = Vec::new();
    umbra_protocol::config::message::encode_diff(m2.diff(), &mut out);
    assert_eq!(show(&out), "d3:bard0:lli99e1:cel1:bee1:a0:3:xyz0:e3:foo0:e");
}

#[test]
fn test_message_serialization_and_hashes() {
    let mut m = ConfigMessage::new_mutable(10);
    m.data_mut().insert(k("foo"), int(123));
    m.data_mut().insert(k("bar"), bar());
    assert_eq!(
        show(&m.serialize()),
        "d1:#i10e1:&d3:bard0:li42e1:a1:be4:asdfi123e3:xyz3:abce3:fooi123ee1:<le1:=d3:bard0:lli42e1:a1:belee4:asdf0:3:xyz0:e3:foo0:ee"
    );
    let hash0 = hx("d65738bba88b0f3455cef20fe09a7b4b10f25f9db82be24a6ce1bd06da197526");
    assert_eq!(m.hash().to_vec(), hash0);

    let mut m1 = m.increment();
    m1.data_mut().remove(b"foo".as_slice());
    let hash1 = hx("5b30b4abf4cba71db25dbc0d977cc25df1d0a8a87cad7f561cdec2b8caf65f5e");
    assert_eq!(m1.hash().to_vec(), hash1);

    let mut m2 = m1.increment();
    changes_m2(&mut m2);
    let hash2 = hx("027552203cf669070d3ecbeecfa65c65497d59aa4da490e0f68f8131ce081320");
    assert_eq!(m2.hash().to_vec(), hash2);
    let expected2 = cat(&[
        b"d1:#i12e1:&d3:bard0:li42ei99e1:a1:ce1:ai42e4:asdfi123e3:xyzi42ee3:fooi123ee",
        b"1:<ll",
        b"i10e32:",
        &hash0,
        b"d3:bard0:lli42e1:a1:belee4:asdf0:3:xyz0:e3:foo0:e",
        b"el",
        b"i11e32:",
        &hash1,
        b"d3:foo1:-ee",
        b"e",
        b"1:=d3:bard0:lli99e1:cel1:bee1:a0:3:xyz0:e3:foo0:ee",
    ]);
    assert_eq!(show(&m2.serialize()), show(&expected2));

    let hash3 = hx("b83871ea06587f9254cdf2b2af8daff19bd7fb550fb90d5f8f9f546464c08bc5");
    let hash4 = hx("c30e2cfa7ec93c64a1ab6420c9bccfb63da8e4c2940ed6509ffb64f3f0131860");
    let hash5 = hx("3234eb7da8cf4b79b9eec2a144247279d10f6f118184f82429a42c5996bea60c");
    assert_eq!(m2.increment().hash().to_vec(), hash3);
    assert_eq!(m2.increment().increment().hash().to_vec(), hash4);
    let mut m5 = m2.increment().increment().increment();
    assert_eq!(m5.hash().to_vec(), hash5);
    let expected5 = cat(&[
        b"d1:#i15e1:&d3:bard0:li42ei99e1:a1:ce1:ai42e4:asdfi123e3:xyzi42ee3:fooi123ee1:<l",
        b"li11e32:",
        &hash1,
        b"d3:foo1:-ee",
        b"li12e32:",
        &hash2,
        b"d3:bard0:lli99e1:cel1:bee1:a0:3:xyz0:e3:foo0:ee",
        b"li13e32:",
        &hash3,
        b"dee",
        b"li14e32:",
        &hash4,
        b"dee",
        b"e1:=dee",
    ]);
    assert_eq!(show(&m5.serialize()), show(&expected5));
}

#[test]
fn test_empty_config_vector() {
    let v = vectors();
    let mut m = ConfigMessage::default();
    assert_eq!(
        show(&m.serialize()),
        v["empty_config"]["serialized"].as_str().expect("s")
    );
    assert_eq!(
        hex::encode(m.hash()),
        v["empty_config"]["hash"].as_str().expect("h")
    );
}

fn data118() -> Dict {
    dict_of(vec![
        (
            "dictB",
            dict(vec![
                ("changed", int(-1)),
                ("foo", int(123)),
                ("removed", st("x")),
                ("removed2", st("y")),
            ]),
        ),
        ("dictC", dict(vec![("x", dict(vec![("y", int(1))]))])),
        ("good", set(&[si(99), si(456), ss("bar")])),
        ("great", set(&[si(-42), ss("omg")])),
        ("int0", int(-9999)),
        ("int1", int(100)),
        ("string1", st("hello")),
        ("string2", st("goodbye")),
    ])
}

const H119: &str = "43094f68c1faa37eff79e1c2f3973ffd5f9d6423b00ccda306fc6e7dac5f0c44";
const H120: &str = "e3a237f91014d31e4d30569c4a8bfcd72157804f99b8732c611c48bf126432b5";
const H121: &str = "1a7f602055124deaf21175ef3f32983dee7c9de570e5d9c9a0bbc2db71dcb97f";
const H122: &str = "46560604fe352101bb869435260d7100ccfe007be5f741c7e96303f02f394e8a";
const H123: &str = "d9398c597b058ac7e28e3febb76ed68eb8c5b6c369610562ab5f2b596775d73c";
const H124: &str = "8b73f316178765b9b3b37168e865c84bb5a78610cbb59b84d0fa4d3b4b3c102b";
const H125A: &str = "80f229c3667de6d0fa6f96b53118e097fbda82db3ca1aea221a3db91ea9c45fb";
const H125B: &str = "ab12f0efe9a9ed00db6b17b44ae0ff36b9f49094077fb114f415522f2a0e98de";

const DATA123: &[u8] = b"d5:dictBd7:changedi-1e3:fooi123e7:removed1:x8:removed21:ye5:dictCd1:xd1:yi1eee4:goodli99ei456e3:bare5:greatli-42e3:omge4:int1i1e4:int2i2e7:string15:hello7:string27:goodbyee";

fn m123_expected() -> Vec<u8> {
    let lag = |s: &str, h: &str| cat(&[b"li", s.as_bytes(), b"e32:", &hx(h), b"dee"]);
    cat(&[
        b"d1:#i123e1:&",
        DATA123,
        b"1:<l",
        &lag("119", H119),
        &lag("120", H120),
        &lag("121", H121),
        &lag("122", H122),
        b"e1:=d4:int01:-4:int10:4:int20:ee",
    ])
}

const DIFF124: &[u8] = b"d5:dictAd7:goodbyelli123ei456eelee5:hello0:e5:dictBd5:added0:7:changed0:6:nestedd1:a0:e7:removed1:-8:removed21:-e5:dictCd1:xd1:y1:-ee4:goodlli123e3:Fooeli456eee5:greatlleli-42e3:omgee4:int10:7:string11:-7:string20:7:string30:e";

#[test]
fn test_example_1_ordinary_update() {
    let mut m118 = ConfigMessage::new_mutable(118);
    *m118.data_mut() = data118();
    let expected118 = b"d1:#i118e1:&d5:dictBd7:changedi-1e3:fooi123e7:removed1:x8:removed21:ye5:dictCd1:xd1:yi1eee4:goodli99ei456e3:bare5:greatli-42e3:omge4:int0i-9999e4:int1i100e7:string15:hello7:string27:goodbyee1:<le1:=d5:dictBd7:changed0:3:foo0:7:removed0:8:removed20:e5:dictCd1:xd1:y0:ee4:goodlli99ei456e3:barelee5:greatlli-42e3:omgelee4:int00:4:int10:7:string10:7:string20:ee";
    assert_eq!(show(&m118.serialize()), show(expected118));
    assert_eq!(m118.hash(), hash_bytes(expected118));
    let mut m = m118.increment();
    for (seqno, h) in [(119, H119), (120, H120), (121, H121), (122, H122)] {
        assert_eq!(m.seqno(), seqno);
        assert_eq!(hex::encode(m.hash()), h);
        m = m.increment();
    }
    let d = m.data_mut();
    d.insert(k("int1"), int(1));
    d.insert(k("int2"), int(2));
    d.remove(b"int0".as_slice());
    d.insert(k("string1"), st("hello"));
    assert_eq!(show(&m.serialize()), show(&m123_expected()));
}

#[test]
fn test_deserialization() {
    let mut m = ConfigMessage::parse(&m123_expected(), DEFAULT_LAG, None, false).expect("parse");
    assert_eq!(m.seqno(), 123);
    assert_eq!(hex::encode(m.hash()), H123);
    assert!(m.signature().is_none());
    let mut expected = data118();
    expected.insert(k("int1"), int(1));
    expected.remove(b"int0".as_slice());
    expected.insert(k("int2"), int(2));
    assert_eq!(*m.data(), expected);
    assert_eq!(m.serialize(), m123_expected());

    // Mutable load = load + increment.
    let mut mt = merge(&[&m123_expected()], true);
    assert_eq!(mt.seqno(), 124);
    assert!(!mt.merged());
    assert_eq!(
        hex::encode(mt.hash()),
        "3ea36410cf7086ce816eb193b0c94e88632abfb75771d82f8ddb3a909124c580"
    );
    let lag = |s: &str, h: &str| cat(&[b"li", s.as_bytes(), b"e32:", &hx(h), b"dee"]);
    let expected = cat(&[
        b"d1:#i124e1:&",
        DATA123,
        b"1:<l",
        &lag("120", H120),
        &lag("121", H121),
        &lag("122", H122),
        b"li123e32:",
        &hx(H123),
        b"d4:int01:-4:int10:4:int20:ee",
        b"e1:=dee",
    ]);
    assert_eq!(show(&mt.serialize()), show(&expected));
}

#[test]
fn test_empty_set_and_dict_rejected() {
    for bad in [
        &b"d1:#i0e1:&d0:lee1:<le1:=dee"[..],
        &b"d1:#i0e1:&d0:dee1:<le1:=dee"[..],
    ] {
        assert!(matches!(
            ConfigMessage::parse(bad, DEFAULT_LAG, None, false),
            Err(ConfigError::Parse { .. })
        ));
        assert_eq!(
            ConfigMessage::merge(&[bad], DEFAULT_LAG, None, true, true).map(|_| ()),
            Err(ConfigError::NoValidConfig)
        );
    }
}

#[test]
fn test_invalid_messages_rejected() {
    let bad: &[&[u8]] = &[
        b"d1:!i1e1:#i0e1:&de1:=dee",             // key before "#"
        b"d1:&de1:=dee",                          // no "#"
        b"d1:#i0e1:&de1:<lee",                    // ends after "<"
        b"d1:#i0e1:&dee",                         // ends after "&"
        b"d1:#i0e1:&d1:ali2ei1eee1:=dee",         // unsorted set
        b"d1:#i0e1:&d1:ali1ei1eee1:=dee",         // duplicate in set
        b"d1:#i0e1:&d1:al1:ai1eee1:=dee",         // string before int
        b"d1:#i0e1:&de1:=d1:a1:xee",              // bad diff mode
        b"d1:#i0e1:&de1:=d1:ai1eee",              // int in diff
        b"d1:#i0e1:&de1:=d1:alleee",              // set diff of 1 element
        b"d1:#i5e1:&de1:<li5e32:0123456789abcdef0123456789abcdefdee1:=dee", // not a list row
        b"d1:#i5e1:&de1:<lli5e32:0123456789abcdef0123456789abcdefdeee1:=dee", // lagged >= seqno
        b"d1:#i5e1:&de1:<lli4e3:abcdeee1:=dee",   // short hash
        b"d1:#i5e1:&de1:<lli4e32:0123456789abcdef0123456789abcdefdeeli3e32:0123456789abcdef0123456789abcdefdeee1:=dee", // unsorted rows
        b"d1:#i0e1:&de1:=de1:~3:abce",            // short signature
        b"d1:#i0e1:&de1:=de1:\x7f0:e",            // key after "~"
        b"d1:#i0e1:&d1:ai1ee1:=de",               // truncated
        b"d1:#i-0e1:&de1:=dee",                   // non-canonical int
        b"d1:#i9223372036854775808e1:&de1:=dee",  // seqno out of int64
    ];
    for case in bad {
        assert!(
            ConfigMessage::parse(case, DEFAULT_LAG, None, false).is_err(),
            "accepted {}",
            show(case)
        );
    }
    // A message with unknown top-level keys and no "<" parses and re-serialises as received.
    let ok = b"d1:#i3e1:$3:abc1:&d1:ai1ee1:;i-1e1:=de1:}lee";
    let mut m = ConfigMessage::parse(ok, DEFAULT_LAG, None, false).expect("parse");
    assert_eq!(m.unknown_keys().len(), 3);
    assert_eq!(
        show(&m.serialize()),
        "d1:#i3e1:$3:abc1:&d1:ai1ee1:;i-1e1:<le1:=de1:}lee"
    );
}

#[test]
fn test_signature_hook() {
    let body = b"d1:#i1e1:&d1:ai1ee1:<le1:=de".to_vec();
    let sig = [7u8; 64];
    let signed = cat(&[&body, b"1:~64:", &sig, b"e"]);
    let good = |data: &[u8], s: &[u8]| data == body.as_slice() && s == [7u8; 64];
    let bad = |_: &[u8], _: &[u8]| false;
    let m = ConfigMessage::parse(&signed, DEFAULT_LAG, Some(&good), false).expect("verified");
    assert_eq!(m.signature(), Some(&sig));
    assert_eq!(
        ConfigMessage::parse(&signed, DEFAULT_LAG, Some(&bad), false),
        Err(ConfigError::Signature)
    );
    let unsigned = cat(&[&body, b"e"]);
    assert_eq!(
        ConfigMessage::parse(&unsigned, DEFAULT_LAG, Some(&good), false),
        Err(ConfigError::Signature)
    );
    // Without a verifier the signature is ignored (not kept) unless trusted.
    let m = ConfigMessage::parse(&signed, DEFAULT_LAG, None, false).expect("parse");
    assert!(m.signature().is_none());
    let mut m = ConfigMessage::parse(&signed, DEFAULT_LAG, None, true).expect("parse");
    assert_eq!(m.serialize(), signed);
}

fn updates_124(m: &mut ConfigMessage) {
    let d = m.data_mut();
    d.insert(
        k("dictA"),
        dict(vec![
            ("hello", int(123)),
            ("goodbye", set(&[si(123), si(456)])),
        ]),
    );
    let b = sub(d, "dictB");
    b.insert(k("changed"), int(1));
    b.insert(k("added"), int(9999));
    b.insert(k("nested"), dict(vec![("a", int(1))]));
    b.remove(b"removed".as_slice());
    b.remove(b"removed2".as_slice());
    d.remove(b"dictC".as_slice());
    let g = subset(d, "good");
    g.insert(ss("Foo"));
    g.remove(&si(456));
    g.insert(si(123));
    d.insert(k("int1"), int(42));
    d.remove(b"string1".as_slice());
    d.insert(k("string2"), st("hello"));
    d.insert(k("string3"), st("omg"));
    d.remove(b"great".as_slice());
}

#[test]
fn test_example_2_large_update() {
    let mut m = merge(&[&m123_expected()], true);
    assert_eq!(m.seqno(), 124);
    updates_124(&mut m);
    let out = m.serialize();
    assert!(
        show(&out).ends_with(&format!("1:={}e", show(DIFF124))),
        "{}",
        show(&out)
    );
    assert_eq!(hex::encode(m.hash()), H124);
}

fn m126_data() -> Dict {
    dict_of(vec![
        (
            "dictA",
            dict(vec![
                ("goodbye", set(&[si(123), si(456)])),
                ("hello", int(123)),
            ]),
        ),
        (
            "dictB",
            dict(vec![
                ("added", int(9999)),
                ("changed", int(1)),
                ("nested", dict(vec![("a", int(1))])),
            ]),
        ),
        ("good", set(&[si(99), si(123), ss("Foo"), ss("bar")])),
        ("int1", int(5)),
        ("int2", int(2)),
        ("string2", st("hello")),
        ("string3", st("omg")),
    ])
}

#[test]
fn test_example_3_simple_conflict() {
    let mut m124 = merge(&[&m123_expected()], true);
    updates_124(&mut m124);
    assert_eq!(hex::encode(m124.hash()), H124);
    let mut m125a = m124.increment();
    sub(m125a.data_mut(), "dictB").remove(b"foo".as_slice());
    let mut m125b = m124.increment();
    m125b.data_mut().insert(k("int1"), int(5));
    assert_eq!(hex::encode(m125a.hash()), H125A);
    assert_eq!(hex::encode(m125b.hash()), H125B);
    let (a, b) = (m125a.serialize(), m125b.serialize());

    let mut m = merge(&[&a, &b], false);
    assert!(m.merged());
    assert_eq!(m.seqno(), 126);
    assert_eq!(*m.data(), m126_data());
    let lag = |s: &str, h: &[u8], diff: &[u8]| cat(&[b"li", s.as_bytes(), b"e32:", h, diff, b"e"]);
    let mut out = Vec::new();
    umbra_protocol::config::message::encode_dict(&m126_data(), &mut out);
    let expected = cat(&[
        b"d1:#i126e1:&",
        &out,
        b"1:<l",
        &lag("122", &hx(H122), b"de"),
        &lag("123", &hx(H123), b"d4:int01:-4:int10:4:int20:e"),
        &lag("124", &hx(H124), DIFF124),
        &lag("125", &hx(H125A), b"d5:dictBd3:foo1:-ee"),
        &lag("125", &hx(H125B), b"d4:int10:e"),
        b"e1:=dee",
    ]);
    assert_eq!(show(&m.serialize()), show(&expected));

    // Order and already-included or too-old messages do not matter.
    let mut m124s = m124.clone();
    let c124 = m124s.serialize();
    let mut m120b = ConfigMessage::new_mutable(118).increment().increment();
    m120b.data_mut().insert(k("too old"), st("won't see"));
    let c120 = m120b.serialize();
    for confs in [
        vec![&b[..], &a[..]],
        vec![&c124[..], &b[..], &a[..]],
        vec![&b[..], &a[..], &c124[..]],
        vec![&b[..], &c120[..], &a[..]],
    ] {
        assert_eq!(merge(&confs, false).serialize(), expected);
    }
}

#[test]
fn test_example_4_complex_conflict() {
    let m123 = ConfigMessage::parse(&m123_expected(), DEFAULT_LAG, None, false).expect("parse");
    let mut m124a = m123.increment();
    let b = sub(m124a.data_mut(), "dictB");
    b.insert(k("foo"), int(66));
    b.insert(k("answer"), int(42));
    let mut m124b = m123.increment();
    updates_124(&mut m124b);
    assert_eq!(hex::encode(m124b.hash()), H124);
    let mut m125a = m124b.increment();
    sub(m125a.data_mut(), "dictB").remove(b"foo".as_slice());
    let mut m125b = m124b.increment();
    m125b.data_mut().insert(k("int1"), int(5));
    let (a, b) = (m125a.serialize(), m125b.serialize());
    let mut m126a = merge(&[&a, &b], false);
    let mut m120b = ConfigMessage::new_mutable(118).increment().increment();
    m120b.data_mut().insert(k("too old"), st("won't see"));
    let c124a = m124a.serialize();
    let mut m123c = m123.clone();
    let c123 = m123c.serialize();
    let c120 = m120b.serialize();
    let mut m126b = merge(&[&b, &c124a, &a, &c123, &c120], false);
    assert!(m124a.hash() < m124b.hash());
    assert!(m126a.hash() < m126b.hash());

    let (s126a, s126b) = (m126a.serialize(), m126b.serialize());
    let mut m127 = merge(&[&s126a, &s126b], true);
    assert_eq!(m127.seqno(), 127);
    subset(sub(m127.data_mut(), "dictA"), "goodbye").insert(si(789));
    let mut want = m126_data();
    subset(sub(&mut want, "dictA"), "goodbye").insert(si(789));
    sub(&mut want, "dictB").insert(k("answer"), int(42));
    assert_eq!(*m127.data(), want);

    let lag = |s: &str, h: &[u8], diff: &[u8]| cat(&[b"li", s.as_bytes(), b"e32:", h, diff, b"e"]);
    let mut data = Vec::new();
    umbra_protocol::config::message::encode_dict(&want, &mut data);
    let expected = cat(&[
        b"d1:#i127e1:&",
        &data,
        b"1:<l",
        &lag("123", &hx(H123), b"d4:int01:-4:int10:4:int20:e"),
        &lag("124", &m124a.hash(), b"d5:dictBd6:answer0:3:foo0:ee"),
        &lag("124", &hx(H124), DIFF124),
        &lag("125", &hx(H125A), b"d5:dictBd3:foo1:-ee"),
        &lag("125", &hx(H125B), b"d4:int10:e"),
        &lag("126", &m126a.hash(), b"de"),
        &lag("126", &m126b.hash(), b"de"),
        b"e1:=d5:dictAd7:goodbyelli789eeleeeee",
    ]);
    let s127 = m127.serialize();
    assert_eq!(show(&s127), show(&expected));

    let mut alt = merge(&[&s127, &a, &s126b], false);
    assert_eq!(alt.seqno(), 127);
    assert_eq!(alt.hash(), m127.hash());
}

// ---- §11.8 UserProfile end to end ----------------------------------------------------------

#[test]
fn test_user_profile_push_vectors() {
    let v = vectors();
    let up = &v["user_profile"];
    let own = identity_from_hex(up["seed"].as_str().expect("seed"));
    let mut state = ConfigState::new(ConfigKind::UserProfile);
    assert!(!state.needs_push());
    let push = state.push(&own).expect("push");
    assert_eq!(push.seqno, 0);
    assert_eq!(push.data.len(), 432);
    assert_eq!(
        hex::encode(&push.data),
        up["empty_push"].as_str().expect("hex")
    );
    assert!(push.obsolete.is_empty());

    user_profile::set_name(&mut state, up["kallie_name"].as_str().expect("n")).expect("name");
    let key: [u8; 32] = up["kallie_pic_key"]
        .as_str()
        .expect("key")
        .as_bytes()
        .try_into()
        .expect("32");
    let pic = user_profile::ProfilePic {
        url: up["kallie_pic_url"].as_str().expect("url").to_owned(),
        key,
    };
    user_profile::set_profile_pic(&mut state, Some(&pic)).expect("pic");
    user_profile::set_nts_priority(&mut state, 9).expect("prio");
    assert!(state.needs_push());
    assert_eq!(state.seqno(), 1);

    let hash0 = hx(v["empty_config"]["hash"].as_str().expect("h"));
    let plaintext: Vec<u8> = up["kallie_plaintext_tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .flat_map(|t| match t.as_str().expect("token") {
            "<hash0>" => hash0.clone(),
            t => t.as_bytes().to_vec(),
        })
        .collect();
    let mut msg = state.message().clone();
    assert_eq!(show(&msg.serialize()), show(&plaintext));
    let mut padded = plaintext.clone();
    crypto::pad_message(&mut padded);
    assert_eq!(padded.len(), 216);
    let seed: [u8; 32] = hx(up["seed"].as_str().expect("seed"))
        .try_into()
        .expect("32");
    let enc = crypto::encrypt(&padded, &seed, "UserProfile").expect("encrypt");
    assert_eq!(
        hex::encode(&enc),
        up["kallie_encrypted"].as_str().expect("enc")
    );

    let push = state.push(&own).expect("push");
    assert_eq!(push.seqno, 1);
    assert_eq!(state.push_state(), PushState::Waiting);
    let unwrapped = unwrap_shared_config(&own, &push.data).expect("unwrap");
    assert_eq!(unwrapped.seqno, 1);
    assert_eq!(
        hex::encode(&unwrapped.data),
        up["kallie_encrypted"].as_str().expect("enc")
    );

    // Raw, wrapped and double-wrapped forms all open; tampered twins do not.
    let raw = hexb(&up["kallie_encrypted"]);
    assert_eq!(
        open_message(ConfigKind::UserProfile, &own, &raw).expect("raw"),
        plaintext
    );
    assert_eq!(
        open_message(ConfigKind::UserProfile, &own, &push.data).expect("wrapped"),
        plaintext
    );
    let double = umbra_protocol::message::wrap_shared_config(
        &own,
        umbra_protocol::message::proto::SharedConfigKind::UserProfile,
        1,
        &push.data,
    )
    .expect("wrap");
    assert_eq!(
        open_message(ConfigKind::UserProfile, &own, &double).expect("double"),
        plaintext
    );
    let mut bad = raw.clone();
    bad[100] ^= 0x40;
    assert_eq!(
        open_message(ConfigKind::UserProfile, &own, &bad),
        Err(ConfigError::DecryptFailed)
    );
    let mut bad_push = push.data.clone();
    let n = bad_push.len();
    bad_push[n - 30] ^= 1;
    assert!(open_message(ConfigKind::UserProfile, &own, &bad_push).is_err());
    // Another namespace's domain does not decrypt it.
    assert!(open_message(ConfigKind::Contacts, &own, &raw).is_err());
    let mut bad_empty = hexb(&up["empty_push"]);
    bad_empty[200] ^= 1;
    assert!(open_message(ConfigKind::UserProfile, &own, &bad_empty).is_err());

    // A second device pulls it.
    let mut other = ConfigState::new(ConfigKind::UserProfile);
    let out = other.merge(&own, &[("hash1".to_owned(), push.data.clone())]);
    assert!(out.changed);
    assert_eq!(out.accepted, vec!["hash1".to_owned()]);
    assert_eq!(user_profile::name(&other).as_deref(), Some("Kallie"));
    assert_eq!(user_profile::profile_pic(&other), Some(pic));
    assert_eq!(user_profile::nts_priority(&other), 9);
    assert!(!other.needs_push());
    assert_eq!(other.current_hashes(), vec!["hash1".to_owned()]);
    let _ = seal_message;
    let _ = bencode::decode;
}

// ---- test_config_userprofile.cpp: dumps, pulls, a conflicting rename ----------------------

fn seed_a() -> Identity {
    identity_from_hex("0123456789abcdef0123456789abcdef00000000000000000000000000000000")
}

fn kallie(state: &mut ConfigState) {
    user_profile::set_name(state, "Kallie").expect("name");
    let pic = user_profile::ProfilePic {
        url: "http://example.org/omg-pic-123.bmp".into(),
        key: *b"secret78901234567890123456789012",
    };
    user_profile::set_profile_pic(state, Some(&pic)).expect("pic");
    user_profile::set_nts_priority(state, 9).expect("prio");
}

#[test]
fn test_user_profile_dumps_pulls_and_conflict() {
    let own = seed_a();
    let mut conf = ConfigState::new(ConfigKind::UserProfile);
    assert!(user_profile::name(&conf).is_none());
    assert!(!conf.needs_dump());
    kallie(&mut conf);
    let push1 = conf.push(&own).expect("push");
    assert_eq!(push1.seqno, 1);
    assert!(conf.needs_dump());
    assert!(conf.needs_push());
    let decrypted = conf.message().clone().serialize();
    let dump = conf.dump();
    assert!(!conf.needs_dump());
    let dump_of = |state: u8, hash: &str| {
        cat(&[
            format!("d1:!i{state}e1:${}:", decrypted.len()).as_bytes(),
            &decrypted,
            format!("1:({}:{hash}1:)le1:+dee", hash.len()).as_bytes(),
        ])
    };
    assert_eq!(show(&dump), show(&dump_of(2, "")));
    conf.confirm_pushed(push1.seqno, "fakehash1".into());
    assert!(!conf.needs_push());
    assert!(conf.needs_dump());
    assert_eq!(show(&conf.dump()), show(&dump_of(0, "fakehash1")));

    // A second client pulls the seqno-1 config: no push needed, a dump is.
    let mut conf2 = ConfigState::new(ConfigKind::UserProfile);
    let out = conf2.merge(&own, &[("fakehash1".into(), push1.data.clone())]);
    assert_eq!(out.accepted, vec!["fakehash1".to_owned()]);
    assert!(conf2.needs_dump());
    conf2.dump();
    assert!(!conf2.needs_push());

    // Conflicting edits at seqno 2.
    user_profile::set_name(&mut conf, "Nibbler").expect("name");
    user_profile::set_name(&mut conf2, "Raz").expect("name");
    let mut key = *b"qwert\0yuio1234567890123456789012";
    key[5] = 0;
    let pic2 = user_profile::ProfilePic {
        url: "http://new.example.com/pic".into(),
        key,
    };
    user_profile::set_profile_pic(&mut conf2, Some(&pic2)).expect("pic");
    user_profile::set_nts_expiry_secs(&mut conf2, 86400).expect("expiry");
    assert_eq!(user_profile::nts_expiry_secs(&conf2), Some(86400));
    assert_eq!(user_profile::blinded_msgreqs(&conf2), None);
    user_profile::set_blinded_msgreqs(&mut conf2, Some(false)).expect("M");
    assert_eq!(user_profile::blinded_msgreqs(&conf2), Some(false));
    user_profile::set_blinded_msgreqs(&mut conf2, None).expect("M");
    assert_eq!(user_profile::blinded_msgreqs(&conf2), None);
    user_profile::set_blinded_msgreqs(&mut conf2, Some(true)).expect("M");
    let p1 = conf.push(&own).expect("push");
    let p2 = conf2.push(&own).expect("push");
    assert_eq!((p1.seqno, p2.seqno), (2, 2));
    assert_ne!(p1.data, p2.data);
    conf.confirm_pushed(2, "fakehash2".into());
    conf2.confirm_pushed(2, "fakehash3".into());
    let a2 = conf2.merge(&own, &[("fakehash2".into(), p1.data.clone())]);
    assert_eq!(a2.accepted, vec!["fakehash2".to_owned()]);
    let a1 = conf.merge(&own, &[("fakehash3".into(), p2.data.clone())]);
    assert_eq!(a1.accepted, vec!["fakehash3".to_owned()]);
    assert!(conf.needs_push() && conf2.needs_push());
    let q1 = conf.push(&own).expect("push");
    let q2 = conf2.push(&own).expect("push");
    assert_eq!((q1.seqno, q2.seqno), (3, 3));
    // Both sides merged to the same message, so they push the same bytes.
    assert_eq!(q1.data, q2.data);
    for c in [&conf, &conf2] {
        assert_eq!(user_profile::name(c).as_deref(), Some("Nibbler"));
        assert_eq!(user_profile::profile_pic(c), Some(pic2.clone()));
        assert_eq!(user_profile::nts_priority(c), 9);
        assert_eq!(user_profile::nts_expiry_secs(c), Some(86400));
        assert_eq!(user_profile::blinded_msgreqs(c), Some(true));
    }
    let mut obs1 = q1.obsolete.clone();
    obs1.sort();
    assert_eq!(obs1, vec!["fakehash2".to_owned(), "fakehash3".to_owned()]);
    conf.confirm_pushed(3, "fakehash4".into());
    conf2.confirm_pushed(3, "fakehash4".into());
    assert!(!conf.needs_push() && !conf2.needs_push());
    // Merging the common result again changes nothing.
    let again = conf.merge(&own, &[("fakehash4".into(), q2.data.clone())]);
    assert!(!again.changed);
    assert!(!conf.needs_push());
}

#[test]
fn test_dump_load_round_trip() {
    let own = seed_a();
    let mut conf = ConfigState::new(ConfigKind::UserProfile);
    kallie(&mut conf);
    // Dirty dump: reloads one seqno up.
    let dirty = conf.dump();
    let re = ConfigState::load(ConfigKind::UserProfile, &dirty).expect("load");
    assert_eq!(re.push_state(), PushState::Dirty);
    assert_eq!(re.seqno(), 2);
    assert_eq!(user_profile::name(&re).as_deref(), Some("Kallie"));
    let p = conf.push(&own).expect("push");
    conf.confirm_pushed(p.seqno, "h1".into());
    let clean = conf.dump();
    let mut re = ConfigState::load(ConfigKind::UserProfile, &clean).expect("load");
    assert_eq!(re.push_state(), PushState::Clean);
    assert_eq!(re.seqno(), 1);
    assert_eq!(re.current_hashes(), vec!["h1".to_owned()]);
    assert_eq!(re.dump(), clean);
    // A later edit supersedes h1.
    user_profile::set_name(&mut re, "K2").expect("name");
    assert_eq!(re.push(&own).expect("push").obsolete, vec!["h1".to_owned()]);
    for bad in [
        &b""[..],
        b"de",
        b"d1:!i7e1:$0:e",
        b"d1:!i0e1:$3:abce",
        &clean[..clean.len() - 1],
    ] {
        assert_eq!(
            ConfigState::load(ConfigKind::UserProfile, bad).map(|_| ()),
            Err(ConfigError::BadDump)
        );
    }
}

// ---- test_config_contacts.cpp ---------------------------------------------------------------

use umbra_protocol::{
    config::{
        contacts::{self, Contact, Disappearing, NotifyMode},
        convo_info_volatile::{self as civ, Convo, ReadState},
        user_groups,
    },
    identity::AccountId,
};

fn aid(h: &str) -> AccountId {
    AccountId::from_bytes(&hx(h)).expect("account id")
}

const REAL_ID: &str = "050000000000000000000000000000000000000000000000000000000000000000";
const ANOTHER_ID: &str = "051111111111111111111111111111111111111111111111111111111111111111";
const THIRD_ID: &str = "052222222222222222222222222222222222222222222222222222222222222222";

#[test]
fn test_contacts_flow_and_concurrent_edits() {
    let own = seed_a();
    let created_ts = 1680064059;
    let now = 1_700_000_000;
    let mut contacts = ConfigState::new(ConfigKind::Contacts);
    assert!(contacts::get(&contacts, &aid(REAL_ID)).is_none());
    assert_eq!(contacts::len(&contacts), 0);
    let c = contacts::get_or_new(&contacts, &aid(REAL_ID));
    assert_eq!(c, Contact::new(aid(REAL_ID)));
    assert!(!contacts.needs_push() && !contacts.needs_dump());
    assert_eq!(contacts.push(&own).expect("push").seqno, 0);

    let mut c = c;
    c.name = "Joe".into();
    c.nickname = "Joey".into();
    c.approved = true;
    c.approved_me = true;
    c.created = created_ts;
    c.notifications = NotifyMode::All;
    c.mute_until = now + 1800;
    contacts::set(&mut contacts, &c).expect("set");
    assert_eq!(contacts::get(&contacts, &aid(REAL_ID)), Some(c.clone()));
    assert!(contacts.needs_push() && contacts.needs_dump());
    let p = contacts.push(&own).expect("push");
    assert_eq!(p.seqno, 1);
    contacts.confirm_pushed(1, "fakehash1".into());
    assert!(contacts.needs_dump() && !contacts.needs_push());

    let mut contacts2 = ConfigState::load(ConfigKind::Contacts, &contacts.dump()).expect("load");
    assert!(!contacts2.needs_push() && !contacts2.needs_dump());
    assert_eq!(contacts2.push(&own).expect("push").seqno, 1);
    assert_eq!(contacts::get(&contacts2, &aid(REAL_ID)), Some(c.clone()));

    let c2 = contacts::get_or_new(&contacts2, &aid(ANOTHER_ID));
    contacts::set(&mut contacts2, &c2).expect("set");
    assert!(contacts2.needs_push());
    let p = contacts2.push(&own).expect("push");
    assert_eq!(p.seqno, 2);
    contacts.merge(&own, &[("fakehash2".into(), p.data.clone())]);
    contacts2.confirm_pushed(2, "fakehash2".into());
    assert!(!contacts.needs_push());
    assert_eq!(contacts.push(&own).expect("push").seqno, 2);
    let list = contacts::all(&contacts);
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].account_id, aid(REAL_ID));
    assert_eq!(list[0].nickname, "Joey");
    assert_eq!(list[1].account_id, aid(ANOTHER_ID));
    assert_eq!(list[1].nickname, "");

    // Concurrent: one device deletes a contact, the other adds a third.
    assert!(contacts::erase(&mut contacts, &aid(REAL_ID)));
    let pic = user_profile::ProfilePic {
        url: "http://example.com/huge.bmp".into(),
        key: *b"qwerty78901234567890123456789012",
    };
    contacts::update(&mut contacts2, &aid(THIRD_ID), |c| {
        c.nickname = "Nickname 3".into();
        c.approved = true;
        c.blocked = true;
        c.profile_pic = Some(pic.clone());
    })
    .expect("update");
    assert!(contacts.needs_push() && contacts2.needs_push());
    let p1 = contacts.push(&own).expect("push");
    let p2 = contacts2.push(&own).expect("push");
    assert_eq!(p1.seqno, p2.seqno);
    assert_ne!(p1.data, p2.data);
    assert_eq!(p1.obsolete, vec!["fakehash2".to_owned()]);
    assert_eq!(p2.obsolete, vec!["fakehash2".to_owned()]);
    contacts.confirm_pushed(p1.seqno, "fakehash3a".into());
    contacts2.confirm_pushed(p2.seqno, "fakehash3b".into());
    contacts.merge(&own, &[("fakehash3b".into(), p2.data.clone())]);
    assert!(contacts.needs_push());
    contacts2.merge(&own, &[("fakehash3a".into(), p1.data.clone())]);
    assert!(contacts2.needs_push());
    let q1 = contacts.push(&own).expect("push");
    let q2 = contacts2.push(&own).expect("push");
    assert_eq!(q1.seqno, p2.seqno + 1);
    assert_eq!(q1.seqno, q2.seqno);
    assert_eq!(q1.data, q2.data);
    let mut o1 = q1.obsolete.clone();
    o1.sort();
    assert_eq!(o1, vec!["fakehash3a".to_owned(), "fakehash3b".to_owned()]);
    let mut o2 = q2.obsolete.clone();
    o2.sort();
    assert_eq!(o2, o1);
    contacts.confirm_pushed(q1.seqno, "fakehash4".into());
    contacts2.confirm_pushed(q2.seqno, "fakehash4".into());
    assert!(!contacts.needs_push() && !contacts2.needs_push());
    for state in [&contacts, &contacts2] {
        let list = contacts::all(state);
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].account_id, aid(ANOTHER_ID));
        assert_eq!(list[1].account_id, aid(THIRD_ID));
        assert_eq!(list[1].nickname, "Nickname 3");
        assert!(list[1].approved && list[1].blocked && !list[1].approved_me);
        assert_eq!(list[1].profile_pic, Some(pic.clone()));
    }

    // Names are cut at 100 bytes on a character boundary.
    let long = format!("{}é", "x".repeat(99));
    contacts::update(&mut contacts, &aid(ANOTHER_ID), |c| {
        c.nickname = long.clone()
    })
    .expect("update");
    assert_eq!(
        contacts::get(&contacts, &aid(ANOTHER_ID))
            .expect("c")
            .nickname,
        "x".repeat(99)
    );
}

#[test]
fn test_contacts_fields_and_normalisation() {
    let mut contacts = ConfigState::new(ConfigKind::Contacts);
    let id = aid(REAL_ID);
    contacts::update(&mut contacts, &id, |c| {
        c.priority = -1;
        c.notifications = NotifyMode::MentionsOnly;
        c.disappearing = Disappearing::AfterRead(3600);
        c.mute_until = 0;
    })
    .expect("update");
    let c = contacts::get(&contacts, &id).expect("contact");
    assert_eq!(c.priority, -1);
    assert_eq!(c.notifications, NotifyMode::All);
    assert_eq!(c.disappearing, Disappearing::AfterRead(3600));
    let d = contacts.get_dict(&[b"c", id.as_bytes()]).expect("dict");
    let keys: Vec<String> = d.keys().map(|k| show(k)).collect();
    assert_eq!(keys, ["+", "@", "E", "e", "n"]);
    // A timer of 0 turns disappearing off (both keys go).
    contacts::update(&mut contacts, &id, |c| {
        c.disappearing = Disappearing::AfterSend(0)
    })
    .expect("update");
    let c = contacts::get(&contacts, &id).expect("contact");
    assert_eq!(c.disappearing, Disappearing::Off);
    // Setting the same values again does not dirty a clean config.
    let own = seed_a();
    let p = contacts.push(&own).expect("push");
    contacts.confirm_pushed(p.seqno, "h".into());
    let same = contacts::get(&contacts, &id).expect("contact");
    contacts::set(&mut contacts, &same).expect("set");
    assert!(!contacts.needs_push());
    // A stored mode without a timer reads as off.
    contacts
        .set(&[b"c", id.as_bytes(), b"e"], DictValue::from(1))
        .expect("set");
    assert_eq!(
        contacts::get(&contacts, &id).expect("contact").disappearing,
        Disappearing::Off
    );
}

// ---- unknown keys survive Umbra's changes ---------------------------------------------------

#[test]
fn test_unknown_keys_preserved_through_change_push_pull() {
    let own = seed_a();
    let id = aid(REAL_ID);
    // Another client's config: an unknown top-level data key, an unknown per-contact key, and
    // an unknown outer key.
    let mut theirs = ConfigMessage::new_mutable(7);
    let mut contact = dict_of(vec![
        ("n", st("Joe")),
        ("a", int(1)),
        ("Z", dict(vec![("future", set(&[si(1), ss("x")]))])),
        ("~x", st("\u{0}binary\u{ff}")),
    ]);
    contact.insert(k("q2"), DictValue::Scalar(Scalar::Str(vec![0, 1, 2, 255])));
    theirs.data_mut().insert(
        k("c"),
        DictValue::Dict([(id.as_bytes().to_vec(), DictValue::Dict(contact))].into()),
    );
    theirs
        .data_mut()
        .insert(k("P"), dict(vec![("pro", int(1))]));
    let serialized = theirs.serialize();
    // Splice an unknown outer key ("$") in.
    let serialized = cat(&[b"d1:#i7e1:$5:outer", &serialized[7..]]);
    ConfigMessage::parse(&serialized, DEFAULT_LAG, None, false).expect("valid");
    let seed: [u8; 32] = seed_a().ed25519_signing_key().to_bytes();
    let mut padded = serialized.clone();
    crypto::pad_message(&mut padded);
    let raw = crypto::encrypt(&padded, &seed, "Contacts").expect("enc");

    let mut mine = ConfigState::new(ConfigKind::Contacts);
    assert!(mine.merge(&own, &[("theirs".into(), raw)]).changed);
    let before_contact = mine
        .get_dict(&[b"c", id.as_bytes()])
        .expect("contact")
        .clone();
    contacts::update(&mut mine, &id, |c| c.name = "Joseph".into()).expect("update");
    let p = mine.push(&own).expect("push");
    assert_eq!(p.obsolete, vec!["theirs".to_owned()]);

    let mut other = ConfigState::new(ConfigKind::Contacts);
    other.merge(&own, &[("mine".into(), p.data)]);
    let after = other.get_dict(&[b"c", id.as_bytes()]).expect("contact");
    for (key, v) in &before_contact {
        if key.as_slice() != b"n" {
            assert_eq!(after.get(key), Some(v), "key {}", show(key));
        }
    }
    assert_eq!(after.len(), before_contact.len());
    assert_eq!(after.get(b"n".as_slice()), Some(&st("Joseph")));
    assert_eq!(other.get(&[b"P"]), Some(&dict(vec![("pro", int(1))])));
    assert_eq!(
        other.message().unknown_keys().get(b"$".as_slice()),
        Some(&bencode::Value::Bytes(k("outer")))
    );
}

// ---- test_config_convo_info_volatile.cpp ----------------------------------------------------

#[test]
fn test_convo_info_volatile() {
    let own = seed_a();
    let now = 1_700_000_000_000i64;
    let mut convos = ConfigState::new(ConfigKind::ConvoInfoVolatile);
    let one = Convo::OneToOne(aid(
        "055000000000000000000000000000000000000000000000000000000000000000",
    ));
    assert!(civ::get(&convos, &one).is_none());
    civ::set(
        &mut convos,
        &one,
        ReadState {
            last_read_ms: now,
            unread: false,
        },
        now,
    )
    .expect("set");
    let og = Convo::Community {
        base_url: "http://Example.ORG:5678".into(),
        room: "SudokuRoom".into(),
        pubkey: hx("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
            .try_into()
            .expect("32"),
    };
    civ::set(
        &mut convos,
        &og,
        ReadState {
            last_read_ms: 0,
            unread: true,
        },
        now,
    )
    .expect("set");
    let mut gid = [0u8; 33];
    gid[0] = 3;
    gid[1] = 0x82;
    let group = Convo::Group(gid);
    civ::set(
        &mut convos,
        &group,
        ReadState {
            last_read_ms: now - 10,
            unread: false,
        },
        now,
    )
    .expect("set");
    assert!(convos.needs_push());
    let p = convos.push(&own).expect("push");
    assert_eq!(p.seqno, 1);
    let mut other = ConfigState::new(ConfigKind::ConvoInfoVolatile);
    other.merge(&own, &[("h1".into(), p.data)]);
    assert_eq!(
        civ::get(&other, &one),
        Some(ReadState {
            last_read_ms: now,
            unread: false
        })
    );
    assert_eq!(
        civ::get(&other, &og),
        Some(ReadState {
            last_read_ms: 0,
            unread: true
        })
    );
    assert_eq!(civ::all_communities(&other)[0].1, "sudokuroom");
    assert_eq!(civ::all_groups(&other, false).len(), 1);
    // Too old to add (> 30 days) unless resetting an existing value to older.
    let old = Convo::OneToOne(aid(ANOTHER_ID));
    civ::set(
        &mut other,
        &old,
        ReadState {
            last_read_ms: now - civ::PRUNE_LOW_MS - 1,
            unread: false,
        },
        now,
    )
    .expect("set");
    assert!(civ::get(&other, &old).is_none());
    civ::set(
        &mut other,
        &one,
        ReadState {
            last_read_ms: 5,
            unread: false,
        },
        now,
    )
    .expect("set");
    assert_eq!(civ::get(&other, &one).expect("one").last_read_ms, 5);
    // Pruning drops read-long-ago conversations but keeps unread ones.
    civ::prune_stale(&mut other, now);
    assert!(civ::get(&other, &one).is_none());
    assert!(civ::get(&other, &og).is_some());
    assert!(civ::erase(&mut other, &og));
    assert!(civ::all_communities(&other).is_empty());
    let mut m = other.message().clone();
    m.serialize(); // prunes
    assert!(m.data().get(b"o".as_slice()).is_none());
    assert!(!civ::erase(&mut other, &og));
}

// ---- test_config_user_groups.cpp: kept and round-tripped ------------------------------------

#[test]
fn test_user_groups_read_and_round_trip() {
    let own = seed_a();
    let mut theirs = ConfigMessage::new_mutable(3);
    let gpk = vec![0x11u8; 32];
    let legacy_id = hx("05ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
    let member = hx("05aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    let admin = hx("05bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    let d = theirs.data_mut();
    d.insert(
        k("g"),
        DictValue::Dict(
            [(
                gpk.clone(),
                dict(vec![
                    ("K", DictValue::from(&[0x22u8; 32][..])),
                    ("n", st("Group A")),
                    ("+", int(3)),
                    ("j", int(1_700_000_000)),
                    ("i", int(1)),
                ]),
            )]
            .into(),
        ),
    );
    d.insert(
        k("o"),
        dict(vec![(
            "http://example.org:5678",
            dict(vec![
                ("#", DictValue::from(&[0x33u8; 32][..])),
                (
                    "R",
                    dict(vec![(
                        "sudokuroom",
                        dict(vec![("n", st("SudokuRoom")), ("@", int(2))]),
                    )]),
                ),
            ]),
        )]),
    );
    d.insert(
        k("C"),
        DictValue::Dict(
            [(
                legacy_id.clone(),
                dict(vec![
                    ("n", st("Legacy")),
                    ("k", DictValue::from(&[1u8; 32][..])),
                    ("K", DictValue::from(&[2u8; 32][..])),
                    (
                        "m",
                        DictValue::Set(
                            [Scalar::Str(member.clone()), Scalar::Str(admin.clone())].into(),
                        ),
                    ),
                    ("a", DictValue::Set([Scalar::Str(admin.clone())].into())),
                    ("E", int(3600)),
                    ("!", int(99)),
                ]),
            )]
            .into(),
        ),
    );
    let serialized = theirs.serialize();
    let pushed = seal_message(ConfigKind::UserGroups, &own, 3, serialized.clone()).expect("seal");
    let mut mine = ConfigState::new(ConfigKind::UserGroups);
    assert!(mine.merge(&own, &[("g1".into(), pushed)]).changed);
    let groups = user_groups::groups(&mine);
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].id[0], 3);
    assert_eq!(groups[0].name, "Group A");
    assert_eq!(groups[0].secret_seed, Some([0x22; 32]));
    assert_eq!(groups[0].common.priority, 3);
    assert!(groups[0].common.invited);
    let comms = user_groups::communities(&mine);
    assert_eq!(comms.len(), 1);
    assert_eq!(comms[0].room, "SudokuRoom");
    assert_eq!(comms[0].common.notifications, NotifyMode::Disabled);
    let legacy = user_groups::legacy_groups(&mine);
    assert_eq!(legacy.len(), 1);
    assert_eq!(legacy[0].name, "Legacy");
    assert_eq!(legacy[0].enc_keypair, Some(([1; 32], [2; 32])));
    assert_eq!(legacy[0].members, vec![(member, false), (admin, true)]);
    assert_eq!(legacy[0].disappearing_secs, 3600);
    assert_eq!(legacy[0].common.mute_until, 99);
    // Umbra keeps the config as received: same message, nothing to push.
    assert!(!mine.needs_push());
    assert_eq!(mine.message().clone().serialize(), serialized);
}

#[test]
fn test_stale_and_bad_messages_in_a_pull() {
    let own = seed_a();
    let mut a = ConfigState::new(ConfigKind::UserProfile);
    user_profile::set_name(&mut a, "one").expect("name");
    let p1 = a.push(&own).expect("push");
    a.confirm_pushed(p1.seqno, "h1".into());
    user_profile::set_name(&mut a, "two").expect("name");
    let p2 = a.push(&own).expect("push");
    assert_eq!(p2.obsolete, vec!["h1".to_owned()]);
    a.confirm_pushed(p2.seqno, "h2".into());

    // A fresh device pulls both plus garbage: the newer one wins, the older is obsolete,
    // garbage is not accepted.
    let mut b = ConfigState::new(ConfigKind::UserProfile);
    let out = b.merge(
        &own,
        &[
            ("h1".into(), p1.data.clone()),
            ("junk".into(), vec![1, 2, 3]),
            ("h2".into(), p2.data.clone()),
        ],
    );
    assert!(out.changed);
    assert_eq!(out.accepted, vec!["h1".to_owned(), "h2".to_owned()]);
    assert_eq!(user_profile::name(&b).as_deref(), Some("two"));
    assert!(!b.needs_push());
    assert_eq!(b.current_hashes(), vec!["h2".to_owned()]);
    user_profile::set_name(&mut b, "three").expect("name");
    let mut obs = b.push(&own).expect("push").obsolete;
    obs.sort();
    assert_eq!(obs, vec!["h1".to_owned(), "h2".to_owned()]);
    // Another account's config does not decrypt.
    let stranger =
        identity_from_hex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
    let mut c = ConfigState::new(ConfigKind::UserProfile);
    let out = c.merge(&stranger, &[("h2".into(), p2.data)]);
    assert_eq!(out, Default::default());
    assert!(user_profile::name(&c).is_none());
}

// ---- merge properties -----------------------------------------------------------------------

mod merge_props {
    use proptest::prelude::*;

    use super::*;

    #[derive(Clone, Debug)]
    enum Op {
        Set(i64),
        Remove,
        SetInsert(i64),
        SetRemove(i64),
        Nested(u8, i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (-3i64..3).prop_map(Op::Set),
            Just(Op::Remove),
            (0i64..4).prop_map(Op::SetInsert),
            (0i64..4).prop_map(Op::SetRemove),
            (0u8..3, -3i64..3).prop_map(|(s, v)| Op::Nested(s, v)),
        ]
    }

    /// Generations of edits: each generation is one increment with its edits.
    fn history(keys: std::ops::Range<u8>) -> impl Strategy<Value = Vec<Vec<(u8, Op)>>> {
        proptest::collection::vec(proptest::collection::vec((keys, op()), 0..4), 1..4)
    }

    fn apply(d: &mut Dict, key: u8, op: &Op) {
        let key = vec![b'k', key];
        match op {
            Op::Set(v) => {
                d.insert(key, int(*v));
            }
            Op::Remove => {
                d.remove(&key);
            }
            Op::SetInsert(v) => {
                let slot = d.entry(key).or_insert_with(|| DictValue::Set(Set::new()));
                if !matches!(slot, DictValue::Set(_)) {
                    *slot = DictValue::Set(Set::new());
                }
                if let DictValue::Set(s) = slot {
                    s.insert(si(*v));
                }
            }
            Op::SetRemove(v) => {
                if let Some(DictValue::Set(s)) = d.get_mut(&key) {
                    s.remove(&si(*v));
                }
            }
            Op::Nested(sk, v) => {
                let slot = d.entry(key).or_insert_with(|| DictValue::Dict(Dict::new()));
                if !matches!(slot, DictValue::Dict(_)) {
                    *slot = DictValue::Dict(Dict::new());
                }
                if let DictValue::Dict(sub) = slot {
                    sub.insert(vec![b's', *sk], int(*v));
                }
            }
        }
    }

    fn run(base: &ConfigMessage, gens: &[Vec<(u8, Op)>]) -> ConfigMessage {
        let mut m = base.clone();
        for g in gens {
            m = m.increment();
            for (key, op) in g {
                apply(m.data_mut(), *key, op);
            }
        }
        m
    }

    fn settled(m: &ConfigMessage) -> Dict {
        let mut d = m.data().clone();
        umbra_protocol::config::message::prune_dict(&mut d);
        d
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Two devices edit from a common config: merging is commutative and idempotent, and
        /// every edit to a key only one side touched survives.
        #[test]
        fn prop_merge_commutative_idempotent_lossless(
            base_edits in history(0..6),
            a_edits in history(0..3),
            b_edits in history(3..6),
        ) {
            let base = run(&ConfigMessage::new_mutable(0), &base_edits);
            let mut a = run(&base, &a_edits);
            let mut b = run(&base, &b_edits);
            let (sa, sb) = (a.serialize(), b.serialize());
            let mut ab = merge(&[&sa, &sb], false);
            let mut ba = merge(&[&sb, &sa], false);
            let sab = ab.serialize();
            prop_assert_eq!(&sab, &ba.serialize());
            let mut aa = merge(&[&sa, &sa], false);
            prop_assert!(!aa.merged());
            prop_assert_eq!(aa.serialize(), sa.clone());
            let mut again = merge(&[&sab, &sa, &sb], false);
            prop_assert!(!again.merged());
            prop_assert_eq!(again.serialize(), sab.clone());
            if ab.merged() {
                prop_assert_eq!(ab.seqno(), a.seqno().max(b.seqno()) + 1);
            }
            let (da, db, dm) = (settled(&a), settled(&b), settled(&ab));
            for key in 0..6u8 {
                let key = vec![b'k', key];
                let want = if key[1] < 3 { da.get(&key) } else { db.get(&key) };
                prop_assert_eq!(dm.get(&key), want, "key k{}", key[1]);
            }
        }
    }
}

#[test]
fn test_thousand_contacts_fit_and_one_change_is_small() {
    let own = seed_a();
    let mut a = ConfigState::new(ConfigKind::Contacts);
    for i in 0..1000u32 {
        let mut id = [0u8; 33];
        id[0] = 5;
        id[1..5].copy_from_slice(&i.to_be_bytes());
        id[5..].copy_from_slice(&[0x5a; 28]);
        let id = AccountId::from_bytes(&id).expect("id");
        contacts::update(&mut a, &id, |c| {
            c.name = format!("Contact number {i}");
            c.approved = true;
            c.approved_me = i % 2 == 0;
            c.created = 1_700_000_000 + i64::from(i);
        })
        .expect("update");
    }
    let p = a
        .push(&own)
        .expect("a 1,000-contact config fits in one message");
    assert!(p.data.len() <= umbra_protocol::config::MAX_CONFIG_MESSAGE_LEN);
    a.confirm_pushed(p.seqno, "h1".into());
    let mut b = ConfigState::new(ConfigKind::Contacts);
    b.merge(&own, &[("h1".into(), p.data.clone())]);
    assert_eq!(contacts::len(&b), 1000);
    let first = contacts::all(&b)[0].account_id;
    contacts::update(&mut b, &first, |c| c.nickname = "Renamed".into()).expect("update");
    let p2 = b.push(&own).expect("push");
    assert_eq!(p2.obsolete, vec!["h1".to_owned()]);
    // The whole config is pushed again (that is how config messages work), now also carrying
    // the creation diff as a lagged diff; compressed, it stays well under the limit (about
    // 20.7 kB for the first push, 22.7 kB for this one).
    assert!(
        p2.data.len() < 2 * p.data.len(),
        "{} vs {}",
        p2.data.len(),
        p.data.len()
    );
    let out = a.merge(&own, &[("h2".into(), p2.data)]);
    assert!(out.changed);
    assert_eq!(contacts::get(&a, &first).expect("c").nickname, "Renamed");
}

#[test]
fn test_convo_info_volatile_libsession_flow() {
    let own = seed_a();
    let now_ms = 1_700_000_000_000i64;
    let real = aid("055000000000000000000000000000000000000000000000000000000000000000");
    let benders: [u8; 33] =
        hx("030111101001001000101010011011010010101010111010000110100001210000")
            .try_into()
            .expect("33");
    let legacy: [u8; 33] = hx("05cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc")
        .try_into()
        .expect("33");
    let og_pubkey: [u8; 32] =
        hx("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
            .try_into()
            .expect("32");
    let mut convos = ConfigState::new(ConfigKind::ConvoInfoVolatile);
    assert!(civ::get(&convos, &Convo::OneToOne(real)).is_none());
    assert!(!convos.needs_push() && !convos.needs_dump());
    assert_eq!(convos.push(&own).expect("push").seqno, 0);
    let read = |last_read_ms, unread| ReadState {
        last_read_ms,
        unread,
    };
    civ::set(
        &mut convos,
        &Convo::OneToOne(real),
        read(now_ms, false),
        now_ms,
    )
    .expect("set");
    assert!(civ::get(&convos, &Convo::LegacyGroup(*real.as_bytes())).is_none());
    assert_eq!(
        civ::get(&convos, &Convo::OneToOne(real)),
        Some(read(now_ms, false))
    );
    assert!(convos.needs_push() && convos.needs_dump());
    assert_eq!(
        civ::canonical_url("http://Example.ORG:5678").as_deref(),
        Ok("http://example.org:5678")
    );
    assert_eq!(
        civ::canonical_room("SudokuRoom").as_deref(),
        Ok("sudokuroom")
    );
    let og = Convo::Community {
        base_url: "http://Example.ORG:5678".into(),
        room: "SudokuRoom".into(),
        pubkey: og_pubkey,
    };
    civ::set(&mut convos, &og, read(0, true), now_ms).expect("set");
    assert!(civ::get(&convos, &Convo::Group(benders)).is_none());
    civ::set(
        &mut convos,
        &Convo::Group(benders),
        read(now_ms, true),
        now_ms,
    )
    .expect("set");
    let p = convos.push(&own).expect("push");
    assert_eq!(p.seqno, 1);
    convos.confirm_pushed(1, "hash1".into());
    assert!(convos.needs_dump() && !convos.needs_push());

    let mut convos2 =
        ConfigState::load(ConfigKind::ConvoInfoVolatile, &convos.dump()).expect("load");
    assert!(!convos2.needs_push() && !convos2.needs_dump());
    assert_eq!(convos2.push(&own).expect("push").seqno, 1);
    assert_eq!(
        civ::get(&convos2, &Convo::OneToOne(real)),
        Some(read(now_ms, false))
    );
    let og_lookup = Convo::Community {
        base_url: "http://EXAMPLE.org:5678".into(),
        room: "sudokuRoom".into(),
        pubkey: [0; 32],
    };
    assert_eq!(civ::get(&convos2, &og_lookup), Some(read(0, true)));
    let comms = civ::all_communities(&convos2);
    assert_eq!(
        (
            comms[0].0.as_str(),
            comms[0].1.as_str(),
            comms[0].2.as_slice()
        ),
        (
            "http://example.org:5678",
            "sudokuroom",
            og_pubkey.as_slice()
        )
    );
    assert_eq!(
        civ::get(&convos2, &Convo::Group(benders)),
        Some(read(now_ms, true))
    );

    let another = aid(ANOTHER_ID);
    civ::set(
        &mut convos2,
        &Convo::OneToOne(another),
        read(0, true),
        now_ms,
    )
    .expect("set");
    civ::set(
        &mut convos2,
        &Convo::LegacyGroup(legacy),
        read(now_ms - 50, false),
        now_ms,
    )
    .expect("set");
    assert!(convos2.needs_push());
    let p = convos2.push(&own).expect("push");
    assert_eq!(p.seqno, 2);
    convos.merge(&own, &[("hash2".into(), p.data)]);
    convos2.confirm_pushed(2, "hash2".into());
    assert!(!convos.needs_push());
    assert_eq!(convos.push(&own).expect("push").seqno, 2);
    for conv in [&convos, &convos2] {
        let ones: Vec<AccountId> = civ::all_one_to_one(conv).into_iter().map(|x| x.0).collect();
        assert_eq!(ones, vec![another, real]);
        assert_eq!(civ::all_communities(conv).len(), 1);
        assert_eq!(civ::all_groups(conv, false)[0].0, benders.to_vec());
        assert_eq!(civ::all_groups(conv, true)[0].0, legacy.to_vec());
    }
    civ::erase(
        &mut convos,
        &Convo::OneToOne(aid(
            "052000000000000000000000000000000000000000000000000000000000000000",
        )),
    );
    assert!(!convos.needs_push());
    assert!(civ::erase(&mut convos, &Convo::OneToOne(real)));
    assert!(convos.needs_push());
    let ones: Vec<AccountId> = civ::all_one_to_one(&convos)
        .into_iter()
        .map(|x| x.0)
        .collect();
    assert_eq!(ones, vec![another]);
    // Invalid community addresses are refused, not stored.
    for (url, room) in [
        ("ftp://example.org", "r"),
        ("http://exa", "r"),
        ("http://example.org/path", "r"),
        ("http://example.org:99999", "r"),
        ("http://example.org", "bad room"),
        ("http://example.org", ""),
    ] {
        let c = Convo::Community {
            base_url: url.into(),
            room: room.into(),
            pubkey: [0; 32],
        };
        assert!(
            civ::set(&mut convos, &c, read(now_ms, false), now_ms).is_err(),
            "{url} {room}"
        );
    }
    assert_eq!(
        civ::canonical_url("HTTPS://Example.org:443/").as_deref(),
        Ok("https://example.org")
    );
}
