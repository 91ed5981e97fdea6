//! The one cache of planned transforms: pocketfft plans and the dense matrices, built once per
//! key and shared by every thread.
//!
//! Planning costs more than transforming one chunk (a matrix is `H²` cosines, tens of
//! microseconds at FAST's horizons), and a process sees few distinct horizons, so entries are
//! kept for the life of the process (no eviction).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, OnceLock};

/// A process-wide map from a key (a length, or a kind and a length) to a shared plan.
pub(crate) type Cache<K, T> = OnceLock<Mutex<HashMap<K, Arc<T>>>>;

/// The plan for `key` in `cache`, built by `make` the first time it is asked for (a failed
/// build is not cached).
pub(crate) fn shared<K: Eq + Hash, T, E>(
    cache: &'static Cache<K, T>,
    key: K,
    make: impl FnOnce() -> Result<T, E>,
) -> Result<Arc<T>, E> {
    let cache = cache.get_or_init(Default::default);
    // A poisoned lock only means another thread panicked while planning; the map is still valid.
    let mut map = cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(found) = map.get(&key) {
        return Ok(found.clone());
    }
    let built = Arc::new(make()?);
    map.insert(key, built.clone());
    Ok(built)
}
