//! TODO(skeleton): rpc layer.
