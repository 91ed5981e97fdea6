//! The Python exception hierarchy, and the one mapping from core errors onto it.

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

create_exception!(
    actok,
    ActokError,
    PyValueError,
    "Base class of every error actok raises."
);
create_exception!(
    actok,
    EncodeError,
    ActokError,
    "An action chunk cannot be tokenized losslessly."
);
create_exception!(
    actok,
    DecodeError,
    ActokError,
    "A token sequence does not decode to a valid chunk."
);
create_exception!(
    actok,
    LoadError,
    ActokError,
    "A tokenizer directory or file is missing, unreadable or malformed."
);

/// The Python exception of the same meaning as `err`, carrying the core's message unchanged.
pub(crate) fn to_py(err: actok::Error) -> PyErr {
    let message = err.to_string();
    match err {
        actok::Error::Encode { .. } | actok::Error::OutOfRange { .. } => {
            EncodeError::new_err(message)
        }
        actok::Error::Decode { .. } | actok::Error::NotAllowed { .. } => {
            DecodeError::new_err(message)
        }
        actok::Error::Format { .. } | actok::Error::Io { .. } => LoadError::new_err(message),
        _ => ActokError::new_err(message),
    }
}

/// Adds the exception classes to the extension module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("ActokError", py.get_type::<ActokError>())?;
    m.add("EncodeError", py.get_type::<EncodeError>())?;
    m.add("DecodeError", py.get_type::<DecodeError>())?;
    m.add("LoadError", py.get_type::<LoadError>())?;
    Ok(())
}
