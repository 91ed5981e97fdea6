//! Token ids from Python: lists (or any sequences) of ints, converted without per-id objects.

use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyInt, PyList, PySequence, PyString, PyTuple};

/// Id lists as the core takes them: `i64` (every realistic input), or `i128` when some Python
/// int does not fit `i64` (the core reports such an id, with its value, as not in the
/// vocabulary).
pub(crate) enum IdLists {
    /// Every id fits `i64`.
    Narrow(Vec<Vec<i64>>),
    /// Some id needs more than 64 bits.
    Wide(Vec<Vec<i128>>),
}

/// A sequence of sequences of int ids. `bool`s are refused (`True` is an `int` to Python, but
/// never a token id), and so are strings. A `TypeError`, or an `OverflowError` for an int beyond
/// `i128`, sends the Python wrapper to its slow path, which names the offending position.
pub(crate) fn id_lists(tokens: &Bound<'_, PyAny>) -> PyResult<IdLists> {
    match rows::<i64>(tokens) {
        Ok(lists) => Ok(IdLists::Narrow(lists)),
        Err(err) if err.is_instance_of::<PyOverflowError>(tokens.py()) => {
            rows::<i128>(tokens).map(IdLists::Wide)
        }
        Err(err) => Err(err),
    }
}

fn rows<T: for<'a, 'py> FromPyObject<'a, 'py, Error = PyErr>>(
    tokens: &Bound<'_, PyAny>,
) -> PyResult<Vec<Vec<T>>> {
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

fn ids<T: for<'a, 'py> FromPyObject<'a, 'py, Error = PyErr>>(
    row: &Bound<'_, PyAny>,
) -> PyResult<Vec<T>> {
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

fn id<T: for<'a, 'py> FromPyObject<'a, 'py, Error = PyErr>>(item: Bound<'_, PyAny>) -> PyResult<T> {
    if item.is_exact_instance_of::<PyInt>() || !item.is_instance_of::<PyBool>() {
        item.extract()
    } else {
        Err(PyTypeError::new_err("a bool is not a token id"))
    }
}
