//! Native run of the crypto benchmarks: `cargo run --release` (opt-level "z", like the bundle)
//! or `cargo run --profile release-o3`. Prints one `BENCH|…` line per operation.
//! `UMBRA_BENCH_QUICK=1` shortens the rounds for a smoke run.

use std::time::Instant;

use umbra_bench_crypto::{Config, run_all};

fn main() -> std::process::ExitCode {
    let cfg = if std::env::var_os("UMBRA_BENCH_QUICK").is_some() {
        Config::QUICK
    } else {
        Config::FULL
    };
    // The native bench is the one place that reads the wall clock; it passes it in as `now`.
    #[allow(clippy::disallowed_methods)]
    let start = Instant::now();
    let mut now = || start.elapsed().as_secs_f64() * 1000.0;
    let mut out = |l: &str| println!("{l}");
    println!("# native {}", std::env::consts::ARCH);
    match run_all(&mut now, cfg, &mut out) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("benchmark failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
