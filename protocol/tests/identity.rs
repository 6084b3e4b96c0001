//! Identity known-answer tests (docs/protocol.md §11.1, §11.2, §2) and Account ID parsing.

use umbra_protocol::identity::{
    AccountId, AccountIdError, Identity, KeyError, Seed, ed25519_to_x25519_public,
};

use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("../testdata/vectors/identity.json")).expect("valid json")
}

fn hex32(v: &Value) -> [u8; 32] {
    let mut out = [0u8; 32];
    hex::decode_to_slice(v.as_str().expect("hex string"), &mut out).expect("32 hex bytes");
    out
}

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("hex")
}

#[test]
fn account_vectors_match() {
    let v = vectors();
    let accounts = v["accounts"].as_array().expect("accounts");
    assert_eq!(accounts.len(), 4);
    for a in accounts {
        let seed = Seed::from_entropy(&bytes(&a["seed"])).expect("valid seed");
        assert!(seed.is_short(), "{}", a["name"]);
        let id = Identity::from_seed(&seed);
        assert_eq!(
            id.ed25519_public(),
            hex32(&a["ed25519_public"]),
            "{}",
            a["name"]
        );
        if !a["x25519_public"].is_null() {
            assert_eq!(
                id.x25519_public(),
                hex32(&a["x25519_public"]),
                "{}",
                a["name"]
            );
        }
        let account = a["account_id"].as_str().expect("id");
        assert_eq!(id.account_id().to_string(), account, "{}", a["name"]);
        assert_eq!(id.account_id().x25519_public(), id.x25519_public());
        assert_eq!(account.parse::<AccountId>(), Ok(id.account_id()));
        // The X25519 public key derived from the secret equals the Ed->X conversion.
        assert_eq!(
            ed25519_to_x25519_public(&id.ed25519_public()),
            Ok(id.x25519_public())
        );
    }
}

#[test]
fn account_vectors_tampered_seed_differs() {
    let v = vectors();
    for a in v["accounts"].as_array().expect("accounts") {
        let mut seed = bytes(&a["seed"]);
        seed[0] ^= 1;
        let id = Identity::from_seed(&Seed::from_entropy(&seed).expect("valid"));
        assert_ne!(id.ed25519_public(), hex32(&a["ed25519_public"]));
        assert_ne!(
            id.account_id().to_string(),
            a["account_id"].as_str().expect("id")
        );
    }
}

#[test]
fn short_and_padded_seed_are_the_same_account() {
    let short = hex::decode("0123456789abcdef0123456789abcdef").expect("hex");
    let mut long = short.clone();
    long.extend_from_slice(&[0u8; 16]);
    let a = Identity::from_seed(&Seed::from_entropy(&short).expect("16"));
    let b = Identity::from_seed(&Seed::from_entropy(&long).expect("32"));
    assert_eq!(a.account_id(), b.account_id());
}

#[test]
fn ed25519_seed_vectors_match() {
    let v = vectors();
    for s in v["ed25519_seeds"].as_array().expect("seeds") {
        let seed = Seed::from_entropy(&bytes(&s["seed"])).expect("32 bytes");
        assert!(!seed.is_short());
        let id = Identity::from_seed(&seed);
        assert_eq!(id.ed25519_public(), hex32(&s["public"]));
        assert_eq!(id.x25519_secret().to_bytes(), hex32(&s["x25519_secret"]));

        let mut tampered = bytes(&s["seed"]);
        tampered[31] ^= 0x80;
        let other = Identity::from_seed(&Seed::from_entropy(&tampered).expect("32 bytes"));
        assert_ne!(other.ed25519_public(), hex32(&s["public"]));
        assert_ne!(other.x25519_secret().to_bytes(), hex32(&s["x25519_secret"]));
    }
}

#[test]
fn x25519_secret_matches_public() {
    let v = vectors();
    for a in v["accounts"].as_array().expect("accounts") {
        let id = Identity::from_seed(&Seed::from_entropy(&bytes(&a["seed"])).expect("seed"));
        let public = x25519_dalek::PublicKey::from(id.x25519_secret());
        assert_eq!(public.to_bytes(), id.x25519_public());
    }
}

#[test]
fn signature_vector_matches_and_verifies() {
    let v = vectors();
    for s in v["signatures"].as_array().expect("signatures") {
        let id = Identity::from_seed(&Seed::from_entropy(&bytes(&s["seed"])).expect("seed"));
        let msg = s["message_utf8"].as_str().expect("msg").as_bytes();
        let sig = id.sign(msg);
        assert_eq!(sig.to_vec(), bytes(&s["signature"]));

        let vk = VerifyingKey::from_bytes(&id.ed25519_public()).expect("pk");
        assert!(vk.verify(msg, &Signature::from_bytes(&sig)).is_ok());
        assert!(vk.verify(b"hellp", &Signature::from_bytes(&sig)).is_err());
        let mut bad = sig;
        bad[10] ^= 1;
        assert!(vk.verify(msg, &Signature::from_bytes(&bad)).is_err());
        assert_ne!(id.sign(b"hellp"), sig);
    }
}

#[test]
fn ed_to_x_public_vectors_match() {
    let v = vectors();
    for c in v["ed_to_x_public"].as_array().expect("pairs") {
        let ed = hex32(&c["ed25519_public"]);
        assert_eq!(
            ed25519_to_x25519_public(&ed),
            Ok(hex32(&c["x25519_public"]))
        );
        let mut tampered = ed;
        tampered[0] ^= 1;
        assert_ne!(
            ed25519_to_x25519_public(&tampered),
            Ok(hex32(&c["x25519_public"]))
        );
    }
}

#[test]
fn ed_to_x_public_rejects_bad_points() {
    // Identity point (small order).
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert_eq!(
        ed25519_to_x25519_public(&identity),
        Err(KeyError::InvalidEd25519Public)
    );
    // An encoding that is not on the curve.
    let not_a_point = (2u8..=255)
        .map(|y| {
            let mut b = [0u8; 32];
            b[0] = y;
            b
        })
        .find(|b| CompressedEdwardsY(*b).decompress().is_none())
        .expect("some y is off the curve");
    assert_eq!(
        ed25519_to_x25519_public(&not_a_point),
        Err(KeyError::InvalidEd25519Public)
    );
    // A valid key plus a torsion component is outside the prime-order subgroup.
    let v = vectors();
    let ed = hex32(&v["ed_to_x_public"][0]["ed25519_public"]);
    let point = CompressedEdwardsY(ed).decompress().expect("valid point");
    let mixed = point + curve25519_dalek::constants::EIGHT_TORSION[1];
    assert_eq!(
        ed25519_to_x25519_public(&mixed.compress().to_bytes()),
        Err(KeyError::InvalidEd25519Public)
    );
}

#[test]
fn seed_lengths_are_checked() {
    for len in [0usize, 1, 15, 17, 24, 31, 33, 64] {
        assert_eq!(
            Seed::from_entropy(&vec![7u8; len]).map(|_| ()),
            Err(KeyError::WrongSeedLength { found: len })
        );
    }
    assert!(Seed::from_entropy(&[7u8; 16]).is_ok());
    assert!(Seed::from_entropy(&[7u8; 32]).is_ok());
}

#[test]
fn generated_seed_is_16_random_then_16_zero() {
    let mut rng = ChaCha20Rng::seed_from_u64(42);
    let a = Seed::generate(&mut rng);
    let b = Seed::generate(&mut rng);
    assert!(a.is_short() && b.is_short());
    assert_eq!(&a.dangerously_export_bytes()[16..], &[0u8; 16]);
    assert_ne!(&a.dangerously_export_bytes()[..16], &[0u8; 16]);
    assert_ne!(a.dangerously_export_bytes(), b.dangerously_export_bytes());
    assert_eq!(a.recovery_phrase().word_count(), 13);
    // Same RNG seed -> same account (the RNG is the only source of randomness).
    let again = Seed::generate(&mut ChaCha20Rng::seed_from_u64(42));
    assert_eq!(
        Identity::from_seed(&a).account_id(),
        Identity::from_seed(&again).account_id()
    );
}

#[test]
fn long_seed_gives_25_words() {
    let seed = Seed::from_entropy(&[0x5a; 32]).expect("32");
    assert_eq!(seed.recovery_phrase().word_count(), 25);
}

#[test]
fn secrets_are_redacted_in_debug() {
    let seed = Seed::from_entropy(&[0xab; 32]).expect("32");
    let id = Identity::from_seed(&seed);
    for s in [
        format!("{seed:?}"),
        format!("{id:?}"),
        format!("{:?}", seed.recovery_phrase()),
    ] {
        assert!(s.contains("redacted"), "{s}");
        assert!(!s.to_lowercase().contains("abab"), "{s}");
        assert!(!s.contains(&id.account_id().to_string()[2..10]), "{s}");
    }
}

#[test]
fn account_id_parsing_errors() {
    let good = "05d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72";
    let id: AccountId = good.parse().expect("valid");
    assert_eq!(id.as_bytes()[0], 0x05);
    assert_eq!(id.to_string(), good);
    assert_eq!(
        format!("  {}\n", good.to_uppercase()).parse::<AccountId>(),
        Ok(id)
    );
    assert_eq!(
        good[..65].parse::<AccountId>(),
        Err(AccountIdError::WrongLength { found: 65 })
    );
    assert_eq!(
        format!("{good}0").parse::<AccountId>(),
        Err(AccountIdError::WrongLength { found: 67 })
    );
    assert_eq!(
        "".parse::<AccountId>(),
        Err(AccountIdError::WrongLength { found: 0 })
    );
    let not_hex = format!("05{}", "zz".repeat(32));
    assert_eq!(not_hex.parse::<AccountId>(), Err(AccountIdError::NotHex));
    // Multi-byte characters: 66 chars but not 66 bytes; must not panic.
    let wide = "é".repeat(66);
    assert_eq!(wide.parse::<AccountId>(), Err(AccountIdError::NotHex));
    let wrong_prefix = format!("06{}", &good[2..]);
    assert_eq!(
        wrong_prefix.parse::<AccountId>(),
        Err(AccountIdError::WrongPrefix)
    );
    let blinded = format!("15{}", &good[2..]);
    assert_eq!(
        blinded.parse::<AccountId>(),
        Err(AccountIdError::WrongPrefix)
    );
    // Display messages carry no user data.
    let msg = AccountIdError::NotHex.to_string();
    assert!(!msg.contains("zz"));
}

#[test]
fn account_id_from_bytes_and_serde() {
    let good = "05aa654f00fc39fc69fd0db829410ca38177d7732a8d2f0934ab3872ac56d5aa74";
    let id: AccountId = good.parse().expect("valid");
    assert_eq!(AccountId::from_bytes(id.as_bytes()), Ok(id));
    assert_eq!(
        AccountId::from_bytes(&id.as_bytes()[..32]),
        Err(AccountIdError::WrongLength { found: 64 })
    );
    let mut wrong = *id.as_bytes();
    wrong[0] = 0x03;
    assert_eq!(
        AccountId::from_bytes(&wrong),
        Err(AccountIdError::WrongPrefix)
    );
    let json = serde_json::to_string(&id).expect("serialize");
    assert_eq!(json, format!("\"{good}\""));
    assert_eq!(
        serde_json::from_str::<AccountId>(&json).expect("deserialize"),
        id
    );
    assert!(serde_json::from_str::<AccountId>("\"06aa\"").is_err());
}
