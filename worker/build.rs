//! The worker's wasm tests are debug builds: their futures' poll frames keep every temporary
//! apart, and the conversation-features test runs past the default 1 MiB stack of a wasm
//! module (a stack overflow shows as "memory access out of bounds"). Test binaries only get
//! 4 MiB; the release bundle keeps the default.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-tests=-zstack-size=4194304");
    }
}
