//! umbra-node
fn main() {}
