//! Token ids from Python: lists (or any sequences) of ints, converted without per-id objects.

use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyInt, PyList, PySequence, PyString, PyTuple};

/// Id lists as the core takes them: `i64` (every realistic input), or `i128` when some Python
/// int does not fit `i64` (the core reports such an id, with its value, as not in the
/// vocabulary).
pub(crate) enum IdLists {
    /// A list of lists of exact ints, all fitting `i64` (what `encode` returns), read into one
    /// buffer.
    Flat(FlatIds),
    /// Every id fits `i64`.
    Narrow(Vec<Vec<i64>>),
    /// Some id needs more than 64 bits.
    Wide(Vec<Vec<i128>>),
}

/// Rows of ids in one buffer: row `b` is `ids[ends[b - 1]..ends[b]]`.
pub(crate) struct FlatIds {
    ids: Vec<i64>,
    ends: Vec<usize>,
}

impl FlatIds {
    /// The rows, as the core's decoders take them.
    pub(crate) fn rows(&self) -> Vec<&[i64]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .map(|(start, &end)| &self.ids[start..end])
            .collect()
    }
}

/// A sequence of sequences of int ids. `bool`s are refused (`True` is an `int` to Python, but
/// never a token id), and so are strings. A `TypeError`, or an `OverflowError` for an int beyond
/// `i128`, sends the Python wrapper to its slow path, which names the offending position.
pub(crate) fn id_lists(tokens: &Bound<'_, PyAny>) -> PyResult<IdLists> {
    if let Some(flat) = flat_int_lists(tokens) {
        return Ok(IdLists::Flat(flat));
    }
    match rows::<i64>(tokens) {
        Ok(lists) => Ok(IdLists::Narrow(lists)),
        Err(err) if err.is_instance_of::<PyOverflowError>(tokens.py()) => {
            rows::<i128>(tokens).map(IdLists::Wide)
        }
        Err(err) => Err(err),
    }
}

/// The common input, a `list` of `list`s of `int`s (exact types, no subclasses) that fit `i64`,
/// read through the C API: one call to fetch each item and one to convert it, with no reference
/// counting, per-row allocation or error object per id (together about half the cost of a
/// decode from lists). `None` for anything else, which [`rows`] then reads (or refuses).
fn flat_int_lists(tokens: &Bound<'_, PyAny>) -> Option<FlatIds> {
    use pyo3::ffi;
    let outer = tokens.as_ptr();
    // SAFETY: the GIL is held (a `Bound` exists) and no Python code runs until this returns:
    // only list reads and int conversions of exact `int`s (which call no `__index__`). So the
    // lists cannot change, their items stay alive while borrowed, and every index is in range.
    unsafe {
        if ffi::Py_TYPE(outer) != std::ptr::addr_of_mut!(ffi::PyList_Type) {
            return None;
        }
        let rows = usize::try_from(ffi::PyList_Size(outer)).ok()?;
        let mut flat = FlatIds {
            ids: Vec::new(),
            ends: Vec::with_capacity(rows),
        };
        for b in 0..rows {
            let row = ffi::PyList_GetItem(outer, b as ffi::Py_ssize_t);
            if row.is_null() || ffi::Py_TYPE(row) != std::ptr::addr_of_mut!(ffi::PyList_Type) {
                return None;
            }
            let len = usize::try_from(ffi::PyList_Size(row)).ok()?;
            flat.ids.reserve(len);
            for j in 0..len {
                let item = ffi::PyList_GetItem(row, j as ffi::Py_ssize_t);
                if item.is_null() || ffi::Py_TYPE(item) != std::ptr::addr_of_mut!(ffi::PyLong_Type)
                {
                    return None;
                }
                let mut overflow = 0;
                let id = ffi::PyLong_AsLongLongAndOverflow(item, &mut overflow);
                // An exact int either fits or overflows: no error is possible.
                if overflow != 0 {
                    return None;
                }
                flat.ids.push(id);
            }
            flat.ends.push(flat.ids.len());
        }
        Some(flat)
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
