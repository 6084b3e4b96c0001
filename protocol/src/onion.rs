//! TODO(skeleton): onion layer.
