//! The worker's randomness: the browser CSPRNG (`crypto.getRandomValues`) through getrandom,
//! as the [`rand_core::CryptoRng`] the protocol takes as a parameter.

/// The browser's CSPRNG. Panics only if `crypto.getRandomValues` is missing or fails, which
/// [`check`] detects once at start-up so the worker can refuse to run instead.
pub type WorkerRng = rand_core::UnwrapErr<getrandom::SysRng>;

/// A new handle to the browser's CSPRNG.
pub fn worker_rng() -> WorkerRng {
    rand_core::UnwrapErr(getrandom::SysRng)
}

/// True if the browser CSPRNG answers.
pub fn check() -> bool {
    let mut probe = [0u8; 16];
    getrandom::fill(&mut probe).is_ok()
}
