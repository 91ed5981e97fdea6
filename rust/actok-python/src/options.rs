//! String options (`on_error="pad"`, `alphabet="reference"`, ...) converted through the core's
//! tables ([`actok::Choice`]): the spellings and the refusal message are the core's own.

use actok::{
    Choice, ChunkPad, FitAlphabet, NormalizerKind, OnDecodeError, OutOfRange, Overflow, Placement,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::errors::to_py;

/// An option value converted from a Python `str` (any other type is a `TypeError`).
pub(crate) struct Opt<T>(pub(crate) T);

impl<'a, 'py, T: Choice> FromPyObject<'a, 'py> for Opt<T> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let text = obj.cast::<PyString>()?;
        let text = text.to_cow()?;
        T::parse(&text).map(Opt).map_err(to_py)
    }
}

/// One string option seen from Python: its name, its spellings, and its parser.
struct Table {
    option: &'static str,
    names: fn() -> Vec<&'static str>,
    check: fn(&str) -> actok::Result<&'static str>,
}

fn table<T: Choice>() -> Table {
    Table {
        option: T::OPTION,
        names: T::names,
        check: |text| T::parse(text).map(Choice::name),
    }
}

/// Every string option the Python package and the CLI take (a fit's placement, a name or an
/// integer, has its own parser: [`parse_placement`]).
fn tables() -> [Table; 7] {
    [
        table::<Overflow>(),
        table::<OnDecodeError>(),
        table::<FitAlphabet>(),
        table::<NormalizerKind>(),
        table::<OutOfRange>(),
        table::<ChunkPad>(),
        table::<actok::dct::Norm>(),
    ]
}

/// The canonical name of `value` for the option named `option`, or the core's `ActokError`
/// refusing it (the CLI checks its arguments with this as they are parsed).
#[pyfunction]
fn check_option(option: &str, value: &str) -> PyResult<&'static str> {
    let table = tables()
        .into_iter()
        .find(|t| t.option == option)
        .ok_or_else(|| pyo3::exceptions::PyKeyError::new_err(option.to_owned()))?;
    (table.check)(value).map_err(to_py)
}

/// A fit's placement spelled as text (the CLI's `--placement`), through the core's parser: the
/// name (`"auto"`, `"reference"`) or the integer `min_token`, else the core's `ActokError`.
#[pyfunction]
fn parse_placement(py: Python<'_>, text: &str) -> PyResult<Py<PyAny>> {
    match Placement::parse(text).map_err(to_py)? {
        Placement::MinToken(m) => Ok(m.into_pyobject(py)?.into_any().unbind()),
        Placement::Auto => Ok(PyString::new(py, "auto").into_any().unbind()),
        Placement::Reference => Ok(PyString::new(py, "reference").into_any().unbind()),
    }
}

/// Adds `OPTIONS` (`{option: [spelling, ...]}`), `check_option` and `parse_placement` to the
/// extension module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let options = PyDict::new(m.py());
    for t in tables() {
        options.set_item(t.option, (t.names)())?;
    }
    m.add("OPTIONS", options)?;
    m.add_function(wrap_pyfunction!(check_option, m)?)?;
    m.add_function(wrap_pyfunction!(parse_placement, m)?)
}
