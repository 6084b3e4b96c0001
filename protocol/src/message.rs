//! TODO(skeleton): message layer.
