//! Umbra's worker: owns keys, crypto, network and IndexedDB.
