//! Entry point of the module worker built by trunk.
fn main() {}
