//! Native baseline for `bench/unlock.mjs`: the same vault unlock (Argon2id with
//! `KdfParams::DEFAULT`) the worker runs in the browser, timed natively with the same profile.
//! Prints `native_unlock_ms=<median>`. Run: `cargo run --release -p umbra-worker --example unlock_native`.

use std::time::Instant;

use umbra_protocol::{
    identity::Seed,
    store::{KdfParams, MemoryStore, Vault, testing::block_on},
};

#[allow(clippy::print_stdout, clippy::disallowed_methods)] // a benchmark prints and reads the wall clock
fn main() {
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    let store = MemoryStore::new();
    let seed = Seed::generate(&mut rng);
    block_on(async {
        Vault::create(
            &store,
            "bench passphrase",
            &seed,
            KdfParams::DEFAULT,
            &mut rng,
        )
        .await
        .expect("create vault");
        let mut times = Vec::new();
        for _ in 0..5 {
            let start = Instant::now();
            let vault = Vault::unlock(&store, "bench passphrase")
                .await
                .expect("unlock");
            times.push(start.elapsed().as_secs_f64() * 1000.0);
            drop(vault);
        }
        times.sort_by(f64::total_cmp);
        println!("native_unlock_ms={:.1}", times[times.len() / 2]);
    });
}
