//! Umbra's UI entry point.
fn main() {}
