//! A node's identity: an Ed25519 key (and its X25519 conversion), kept in a key file.

use std::fmt;
use std::path::Path;

use ed25519_dalek::SigningKey;
use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

/// A node's keys. The X25519 secret is the Ed25519 scalar (libsodium's sk→curve25519).
pub struct NodeKeys {
    signing: SigningKey,
    x25519: StaticSecret,
}

impl fmt::Debug for NodeKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeKeys")
            .field("ed25519", &hex::encode(self.ed25519_public()))
            .finish_non_exhaustive()
    }
}

impl NodeKeys {
    /// Keys from a 32-byte Ed25519 seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let signing = SigningKey::from_bytes(seed);
        let x25519 = StaticSecret::from(signing.to_scalar_bytes());
        Self { signing, x25519 }
    }

    /// Fresh random keys.
    pub fn generate() -> std::io::Result<Self> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Self::from_seed(&seed))
    }

    /// Load the seed from `path` (hex), or create it there.
    pub fn load_or_create(path: &Path) -> std::io::Result<Self> {
        if let Ok(text) = std::fs::read_to_string(path) {
            let mut seed = Zeroizing::new([0u8; 32]);
            hex::decode_to_slice(text.trim(), seed.as_mut()).map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, "bad key file")
            })?;
            return Ok(Self::from_seed(&seed));
        }
        let keys = Self::generate()?;
        let hex_seed = Zeroizing::new(hex::encode(keys.signing.to_bytes()));
        write_private(path, hex_seed.as_bytes())?;
        Ok(keys)
    }

    /// Ed25519 public key.
    pub fn ed25519_public(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    /// X25519 public key (Ed25519 → Montgomery).
    pub fn x25519_public(&self) -> [u8; 32] {
        self.signing.verifying_key().to_montgomery().to_bytes()
    }

    /// The signing key.
    pub fn signing(&self) -> &SigningKey {
        &self.signing
    }

    /// The X25519 secret (onion layers).
    pub fn x25519_secret(&self) -> &StaticSecret {
        &self.x25519
    }

    /// Sign `msg`.
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer;
        self.signing.sign(msg).to_bytes()
    }
}

/// Create `path` readable by its owner only (mode 0600 on Unix; security review #16b).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use x25519_dalek::PublicKey;

    #[cfg(unix)]
    #[test]
    fn key_file_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("ed25519.key");
        let k = NodeKeys::load_or_create(&path).expect("create");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "key file mode {mode:o}");
        let again = NodeKeys::load_or_create(&path).expect("load");
        assert_eq!(again.ed25519_public(), k.ed25519_public());
    }

    #[test]
    fn x25519_secret_matches_converted_public() {
        let k = NodeKeys::from_seed(&[9u8; 32]);
        assert_eq!(
            PublicKey::from(k.x25519_secret()).to_bytes(),
            k.x25519_public()
        );
    }

    #[test]
    fn key_file_round_trip() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("k");
        let a = NodeKeys::load_or_create(&p).expect("create");
        let b = NodeKeys::load_or_create(&p).expect("load");
        assert_eq!(a.ed25519_public(), b.ed25519_public());
        std::fs::write(&p, "zz").expect("write");
        assert!(NodeKeys::load_or_create(&p).is_err());
    }
}
