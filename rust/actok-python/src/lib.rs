//! PyO3 bindings for the actok core: conversion only.
//!
//! The Python package (`python/actok`) brings inputs to native C-contiguous float32/float64 arrays
//! and plain ints and strings; this crate turns them into slices and core types (string options
//! through the core's own tables), releases the GIL around every call into the core, and maps
//! [`actok::Error`] onto the Python exception hierarchy with the core's message unchanged. Every
//! rule (shapes, ranges, option spellings, formats) is the core's; see `ARCHITECTURE.md`.
#![deny(missing_docs)]

mod constraint;
mod dct;
mod episodes;
mod errors;
mod floats;
mod gc_pause;
mod ids;
mod normalizer;
mod options;
mod tokenizer;

use pyo3::prelude::*;

/// The GPT-2 split of `text` (for parity tests against the `tokenizers` library).
#[pyfunction]
fn _pretokenize(text: &str) -> Vec<String> {
    actok::pretokenize(text)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// The number of threads batch calls use.
#[pyfunction]
fn get_num_threads() -> PyResult<usize> {
    actok::num_threads().map_err(errors::to_py)
}

/// Sets the number of threads batch calls use (`None`: `ACTOK_NUM_THREADS` or all cores).
#[pyfunction]
#[pyo3(signature = (n))]
fn set_num_threads(n: Option<usize>) -> PyResult<()> {
    actok::set_num_threads(n).map_err(errors::to_py)
}

/// The compiled half of the `actok` package.
#[pymodule]
fn _actok(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    options::register(m)?;
    m.add_class::<tokenizer::PyFastTokenizer>()?;
    m.add_class::<normalizer::PyNormalizer>()?;
    m.add_class::<constraint::PyConstraint>()?;
    m.add_class::<constraint::PyConstraintBatch>()?;
    m.add_function(wrap_pyfunction!(constraint::openpi_vocab_map, m)?)?;
    m.add_function(wrap_pyfunction!(_pretokenize, m)?)?;
    m.add_function(wrap_pyfunction!(get_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(set_num_threads, m)?)?;
    dct::register(m)?;
    episodes::register(m)?;
    Ok(())
}
