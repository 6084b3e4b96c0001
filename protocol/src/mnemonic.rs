//! TODO(skeleton): mnemonic layer.
