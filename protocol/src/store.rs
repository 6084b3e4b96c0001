//! TODO(skeleton): store layer.
