//! TODO(skeleton): swarm layer.
