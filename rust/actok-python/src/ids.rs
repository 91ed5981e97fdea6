//! Token ids from Python: lists (or any sequences) of ints, converted without per-id objects.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyInt, PyList, PySequence, PyString, PyTuple};

/// A sequence of sequences of int64 ids, as `Vec<Vec<i64>>` extraction would give, except that
/// `bool`s are refused (`True` is an `int` to Python, but never a token id). A `TypeError` or
/// `OverflowError` sends the Python wrapper to its slow path, which names the offending position.
pub(crate) fn id_lists(tokens: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<i64>>> {
    if let Ok(list) = tokens.cast::<PyList>() {
        return list.iter().map(|row| ids(&row)).collect();
    }
    if tokens.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err("a string is not a list of id lists"));
    }
    tokens
        .cast::<PySequence>()?
        .try_iter()?
        .map(|row| ids(&row?))
        .collect()
}

fn ids(row: &Bound<'_, PyAny>) -> PyResult<Vec<i64>> {
    if let Ok(list) = row.cast::<PyList>() {
        // Known length: one allocation, the speed of PyO3's own `Vec<i64>` extraction.
        let mut out = Vec::with_capacity(list.len());
        for item in list.iter() {
            out.push(id(item)?);
        }
        Ok(out)
    } else if let Ok(tuple) = row.cast::<PyTuple>() {
        tuple.iter().map(id).collect()
    } else if row.is_instance_of::<PyString>() || row.is_instance_of::<PyBytes>() {
        Err(PyTypeError::new_err("a string is not a list of ids"))
    } else {
        row.cast::<PySequence>()?
            .try_iter()?
            .map(|i| id(i?))
            .collect()
    }
}

fn id(item: Bound<'_, PyAny>) -> PyResult<i64> {
    if item.is_exact_instance_of::<PyInt>() || !item.is_instance_of::<PyBool>() {
        item.extract()
    } else {
        Err(PyTypeError::new_err("a bool is not a token id"))
    }
}
