//! TODO(skeleton): identity layer.
