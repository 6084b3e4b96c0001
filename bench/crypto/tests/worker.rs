//! The crypto benchmarks as wasm in a Chromium dedicated worker:
//! `cargo test --release --target wasm32-unknown-unknown -- --nocapture` (opt-level "z", like
//! the bundle) or `--profile release-o3`. Timing is `performance.now()` of the worker global;
//! lines go out through `console_log!`, which the test runner prints. Set
//! `UMBRA_BENCH_QUICK=1` at build time for short rounds.
#![cfg(target_arch = "wasm32")]

use umbra_bench_crypto::{Config, run_all};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_dedicated_worker);

#[wasm_bindgen_test]
fn crypto_bench_in_worker() {
    let global: web_sys::WorkerGlobalScope = js_sys::global()
        .dyn_into()
        .expect("the test runs in a dedicated worker");
    let perf = global.performance().expect("performance exists in workers");
    let cfg = if option_env!("UMBRA_BENCH_QUICK").is_some() {
        Config::QUICK
    } else {
        Config::FULL
    };
    let mut now = || perf.now();
    let mut out = |l: &str| console_log!("{l}");
    console_log!("# wasm32 dedicated worker");
    if let Err(e) = run_all(&mut now, cfg, &mut out) {
        panic!("benchmark failed: {e}");
    }
}
