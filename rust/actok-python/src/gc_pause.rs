//! Building many id lists without Python's cyclic garbage collector running over them.
//!
//! `encode` returns one list per chunk. Each new list is a container the collector tracks, and
//! every 700 of them (CPython's default threshold) start a collection that walks all the young
//! containers: the lists just built, which hold only ints and so can never be part of a cycle.
//! Lists that survive young collections are promoted, and once enough objects have been promoted
//! a full collection walks every container of the process. For 10×2 chunks (a list of about 10
//! ids per 20 values) that was about a sixth of `encode` (CPython 3.11).
//!
//! So the collector is paused while the lists are built (the GIL is held throughout, so no other
//! Python code runs in the pause) and resumed before returning. Nothing is skipped for good: the
//! lists still count as allocations, so if the caller keeps them, the next collection walks them
//! once, as it would have; if the caller drops them first (a data loader turning ids into
//! tensors), no collection ever walks them. A collector the caller has disabled stays disabled.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

/// Below this many lists the pause is not worth its three calls into the `gc` module (about
/// 0.2 µs): fewer lists than one collection threshold start at most one collection.
pub(crate) const MIN_LISTS: usize = 700;

/// `gc.isenabled`, `gc.disable` and `gc.enable`, looked up once.
struct GcFunctions {
    isenabled: Py<PyAny>,
    disable: Py<PyAny>,
    enable: Py<PyAny>,
}

static GC: PyOnceLock<GcFunctions> = PyOnceLock::new();

fn gc_functions(py: Python<'_>) -> PyResult<&GcFunctions> {
    GC.get_or_try_init(py, || {
        let gc = py.import("gc")?;
        Ok(GcFunctions {
            isenabled: gc.getattr("isenabled")?.unbind(),
            disable: gc.getattr("disable")?.unbind(),
            enable: gc.getattr("enable")?.unbind(),
        })
    })
}

/// Runs `build` (which must not release the GIL or run Python code) with the cyclic garbage
/// collector paused, and restores it after, also when `build` fails.
pub(crate) fn without_gc<T>(py: Python<'_>, build: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    let gc = gc_functions(py)?;
    let was_enabled: bool = gc.isenabled.call0(py)?.extract(py)?;
    if !was_enabled {
        return build();
    }
    gc.disable.call0(py)?;
    let built = build();
    // Resumed before anything else can fail: a lost `enable` would leave the process without
    // cycle collection.
    gc.enable.call0(py)?;
    built
}
