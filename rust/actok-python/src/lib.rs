//! PyO3 bindings for the actok core: argument conversion only.
//!
//! The Python package (`python/actok`) normalizes inputs (dtype, byte order, contiguity, shape)
//! before calling in here; this crate turns buffers into slices, releases the GIL around every
//! call into the core, and maps [`actok::Error`] onto the Python exception hierarchy.
#![deny(missing_docs)]

mod data;

use std::path::PathBuf;
use std::sync::Arc;

use actok::dct::{DctSpec, DctType, Norm};
use actok::{FastTokenizer, OnDecodeError, Overflow};
use numpy::ndarray::IxDyn;
use numpy::{
    PyArray, PyArray1, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyReadonlyArrayDyn,
    PyUntypedArrayMethods,
};
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

mod fit;

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

/// Maps a core error onto the Python exception of the same meaning.
fn to_py(err: actok::Error) -> PyErr {
    let message = err.to_string();
    match err {
        actok::Error::Encode { .. } => EncodeError::new_err(message),
        actok::Error::Decode { .. } => DecodeError::new_err(message),
        actok::Error::Format { .. } | actok::Error::Io { .. } => LoadError::new_err(message),
        _ => ActokError::new_err(message),
    }
}

fn parse_norm(norm: &str) -> PyResult<Norm> {
    match norm {
        "backward" => Ok(Norm::Backward),
        "ortho" => Ok(Norm::Ortho),
        "forward" => Ok(Norm::Forward),
        other => Err(ActokError::new_err(format!(
            "norm must be None, \"backward\", \"ortho\" or \"forward\", got {other:?}"
        ))),
    }
}

fn transform_typed<'py, T: actok::Sample + numpy::Element>(
    py: Python<'py>,
    x: PyReadonlyArrayDyn<'py, T>,
    axis: usize,
    spec: DctSpec,
) -> PyResult<Bound<'py, PyAny>> {
    let shape = x.shape().to_vec();
    if axis >= shape.len() {
        return Err(ActokError::new_err(format!(
            "axis {axis} is out of range for an array of {} dimensions",
            shape.len()
        )));
    }
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let input = x
        .as_slice()
        .map_err(|e| ActokError::new_err(e.to_string()))?;
    let mut output: Vec<T> = vec![T::from_f64(0.0); input.len()];
    py.detach(|| actok::dct::transform_axis(spec, input, &mut output, [outer, shape[axis], inner]))
        .map_err(to_py)?;
    Ok(PyArray::from_vec(py, output)
        .reshape(IxDyn(&shape))?
        .into_any())
}

/// `scipy.fft.dct`/`idct` of types 2 and 3 along `axis` of a C-contiguous float32/float64 array.
#[pyfunction]
#[pyo3(signature = (x, axis, kind, norm, orthogonalize, inverse))]
fn transform<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    axis: usize,
    kind: u8,
    norm: &str,
    orthogonalize: Option<bool>,
    inverse: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let kind = match kind {
        2 => DctType::Two,
        3 => DctType::Three,
        other => {
            return Err(ActokError::new_err(format!(
                "type must be 2 or 3, got {other} (types 1 and 4 are not implemented)"
            )))
        }
    };
    let norm = parse_norm(norm)?;
    let spec = if inverse {
        DctSpec::idct(kind, norm, orthogonalize)
    } else {
        DctSpec::dct(kind, norm, orthogonalize)
    };
    if let Ok(x) = x.extract::<PyReadonlyArrayDyn<'py, f64>>() {
        transform_typed(py, x, axis, spec)
    } else if let Ok(x) = x.extract::<PyReadonlyArrayDyn<'py, f32>>() {
        transform_typed(py, x, axis, spec)
    } else {
        Err(ActokError::new_err(
            "expected a float32 or float64 numpy array",
        ))
    }
}

fn parse_overflow(on_overflow: &str) -> PyResult<Overflow> {
    match on_overflow {
        "raise" => Ok(Overflow::Raise),
        "clip" => Ok(Overflow::Clip),
        other => Err(ActokError::new_err(format!(
            "on_overflow must be \"raise\" or \"clip\", got {other:?}"
        ))),
    }
}

fn parse_on_error(on_error: &str) -> PyResult<OnDecodeError> {
    match on_error {
        "raise" => Ok(OnDecodeError::Raise),
        "pad" => Ok(OnDecodeError::Pad),
        "zeros" => Ok(OnDecodeError::Zeros),
        other => Err(ActokError::new_err(format!(
            "on_error must be \"raise\", \"pad\" or \"zeros\", got {other:?}"
        ))),
    }
}

/// A `(B, H, D)` C-contiguous float32 or float64 batch, borrowed from numpy.
enum Actions<'py> {
    F32(PyReadonlyArrayDyn<'py, f32>),
    F64(PyReadonlyArrayDyn<'py, f64>),
}

impl<'py> Actions<'py> {
    fn extract(x: &Bound<'py, PyAny>) -> PyResult<(Self, [usize; 3])> {
        let actions = if let Ok(a) = x.extract::<PyReadonlyArrayDyn<'py, f64>>() {
            Actions::F64(a)
        } else if let Ok(a) = x.extract::<PyReadonlyArrayDyn<'py, f32>>() {
            Actions::F32(a)
        } else {
            return Err(ActokError::new_err(
                "actions must be a float32 or float64 numpy array",
            ));
        };
        let shape = match &actions {
            Actions::F32(a) => a.shape().to_vec(),
            Actions::F64(a) => a.shape().to_vec(),
        };
        let shape: [usize; 3] = shape.try_into().map_err(|s: Vec<usize>| {
            ActokError::new_err(format!(
                "actions must have shape (B, H, D), got {} dimensions",
                s.len()
            ))
        })?;
        Ok((actions, shape))
    }
}

/// Runs `f` on the batch's elements with the GIL released.
macro_rules! with_actions {
    ($py:expr, $actions:expr, |$slice:ident| $body:expr) => {
        match &$actions {
            Actions::F32(a) => {
                let $slice = a
                    .as_slice()
                    .map_err(|e| ActokError::new_err(e.to_string()))?;
                $py.detach(|| $body)
            }
            Actions::F64(a) => {
                let $slice = a
                    .as_slice()
                    .map_err(|e| ActokError::new_err(e.to_string()))?;
                $py.detach(|| $body)
            }
        }
    };
}

/// A sequence of sequences of int64 ids, as `Vec<Vec<i64>>` extraction would give, except that
/// `bool`s are refused (`True` is an `int` to Python, but never a token id). Any `TypeError` or
/// `OverflowError` sends the Python wrapper to its slow path, which names the offending position.
fn id_lists(tokens: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<i64>>> {
    use pyo3::types::{PyBool, PyBytes, PyInt, PyList, PySequence, PyString, PyTuple};

    fn id(item: Bound<'_, PyAny>) -> PyResult<i64> {
        if item.is_exact_instance_of::<PyInt>() || !item.is_instance_of::<PyBool>() {
            item.extract()
        } else {
            Err(pyo3::exceptions::PyTypeError::new_err(
                "a bool is not a token id",
            ))
        }
    }
    fn ids(row: &Bound<'_, PyAny>) -> PyResult<Vec<i64>> {
        if let Ok(list) = row.cast::<PyList>() {
            let mut out = Vec::with_capacity(list.len());
            for item in list.iter() {
                out.push(id(item)?);
            }
            Ok(out)
        } else if let Ok(tuple) = row.cast::<PyTuple>() {
            tuple.iter().map(id).collect()
        } else if row.is_instance_of::<PyString>() || row.is_instance_of::<PyBytes>() {
            Err(pyo3::exceptions::PyTypeError::new_err(
                "a string is not a list of ids",
            ))
        } else {
            row.cast::<PySequence>()?
                .try_iter()?
                .map(|i| id(i?))
                .collect()
        }
    }
    if let Ok(list) = tokens.cast::<PyList>() {
        return list.iter().map(|row| ids(&row)).collect();
    }
    if tokens.is_instance_of::<PyString>() {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "a string is not a list of id lists",
        ));
    }
    tokens
        .cast::<PySequence>()?
        .try_iter()?
        .map(|row| ids(&row?))
        .collect()
}

/// The core FAST tokenizer (wrapped by `actok.FastTokenizer`).
#[pyclass(frozen, module = "actok._actok", name = "_FastTokenizer")]
struct PyFastTokenizer {
    inner: Arc<FastTokenizer>,
    /// One Python int per token id, made on first use: `encode` then fills its lists with
    /// references instead of allocating an int per token (about 15% of a whole encode call).
    ids: pyo3::sync::PyOnceLock<Vec<Py<pyo3::types::PyInt>>>,
}

impl PyFastTokenizer {
    fn wrap(inner: FastTokenizer) -> Self {
        Self {
            inner: Arc::new(inner),
            ids: pyo3::sync::PyOnceLock::new(),
        }
    }

    /// The Python ints `0..vocab_len`.
    fn id_objects(&self, py: Python<'_>) -> PyResult<&[Py<pyo3::types::PyInt>]> {
        let ids = self.ids.get_or_try_init(py, || {
            (0..self.inner.bpe().vocab_len() as u32)
                .map(|i| Ok(i.into_pyobject(py)?.unbind()))
                .collect::<PyResult<Vec<_>>>()
        })?;
        Ok(ids)
    }
}

#[pymethods]
impl PyFastTokenizer {
    /// Loads a FAST directory.
    #[staticmethod]
    fn from_pretrained(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let inner = py
            .detach(|| FastTokenizer::from_pretrained(&path))
            .map_err(to_py)?;
        Ok(Self::wrap(inner))
    }

    /// Builds a tokenizer from the texts of `tokenizer.json` and `processor_config.json`.
    #[staticmethod]
    fn from_json(
        py: Python<'_>,
        tokenizer_json: &str,
        processor_config_json: &str,
    ) -> PyResult<Self> {
        let inner = py
            .detach(|| FastTokenizer::from_json(tokenizer_json, processor_config_json))
            .map_err(to_py)?;
        Ok(Self::wrap(inner))
    }

    /// Writes the directory.
    fn save_pretrained(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| self.inner.save_pretrained(&path))
            .map_err(to_py)
    }

    /// The `tokenizer.json` text.
    fn tokenizer_json(&self) -> String {
        self.inner.tokenizer_json()
    }

    /// The `processor_config.json` text.
    fn processor_config_json(&self) -> String {
        self.inner.config().to_json()
    }

    #[getter]
    fn scale(&self) -> f64 {
        self.inner.config().scale
    }

    #[getter]
    fn min_token(&self) -> i64 {
        self.inner.config().min_token
    }

    #[getter]
    fn vocab_size(&self) -> usize {
        self.inner.config().vocab_size
    }

    #[getter]
    fn time_horizon(&self) -> Option<usize> {
        self.inner.config().time_horizon
    }

    #[getter]
    fn action_dim(&self) -> Option<usize> {
        self.inner.config().action_dim
    }

    /// Number of ids in the vocabulary.
    #[getter]
    fn vocab_len(&self) -> usize {
        self.inner.bpe().vocab_len()
    }

    /// Encodes a `(B, H, D)` batch to one id list per chunk.
    fn encode<'py>(
        &self,
        py: Python<'py>,
        actions: &Bound<'py, PyAny>,
        on_overflow: &str,
    ) -> PyResult<Bound<'py, pyo3::types::PyList>> {
        let overflow = parse_overflow(on_overflow)?;
        let (actions, shape) = Actions::extract(actions)?;
        let tok = &self.inner;
        let sequences =
            with_actions!(py, actions, |data| tok.encode(data, shape, overflow)).map_err(to_py)?;
        let ints = self.id_objects(py)?;
        let rows = sequences
            .iter()
            .map(|seq| {
                // Every id the encoder emits is below vocab_len.
                pyo3::types::PyList::new(py, seq.iter().map(|&id| ints[id as usize].bind(py)))
            })
            .collect::<PyResult<Vec<_>>>()?;
        pyo3::types::PyList::new(py, rows)
    }

    /// Encodes a `(B, H, D)` batch to padded `(B, L)` int32 ids and `(B,)` int32 lengths.
    #[pyo3(signature = (actions, on_overflow, max_length, pad_id))]
    fn encode_padded<'py>(
        &self,
        py: Python<'py>,
        actions: &Bound<'py, PyAny>,
        on_overflow: &str,
        max_length: Option<usize>,
        pad_id: i32,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyArray1<i32>>)> {
        let overflow = parse_overflow(on_overflow)?;
        let (actions, shape) = Actions::extract(actions)?;
        let tok = &self.inner;
        let padded = with_actions!(py, actions, |data| tok
            .encode_padded(data, shape, overflow, max_length, pad_id))
        .map_err(to_py)?;
        let rows = padded.lengths.len();
        let ids = PyArray::from_vec(py, padded.ids)
            .reshape([rows, padded.width])?
            .into_any();
        Ok((ids, PyArray::from_vec(py, padded.lengths)))
    }

    /// Decodes id lists to `(B, H, D)` float64 actions and a `(B,)` validity mask.
    fn decode<'py>(
        &self,
        py: Python<'py>,
        sequences: &Bound<'py, PyAny>,
        time_horizon: Option<usize>,
        action_dim: Option<usize>,
        on_error: &str,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyArray1<bool>>)> {
        let on_error = parse_on_error(on_error)?;
        let (h, d) = self
            .inner
            .decode_shape(time_horizon, action_dim)
            .map_err(to_py)?;
        let sequences = id_lists(sequences)?;
        let decoded = py
            .detach(|| self.inner.decode(&sequences, h, d, on_error))
            .map_err(to_py)?;
        let actions = PyArray::from_vec(py, decoded.actions)
            .reshape([sequences.len(), h, d])?
            .into_any();
        Ok((actions, PyArray::from_vec(py, decoded.valid)))
    }

    /// Decodes padded `(B, L)` int64 ids with `(B,)` int64 lengths.
    fn decode_padded<'py>(
        &self,
        py: Python<'py>,
        ids: PyReadonlyArray2<'py, i64>,
        lengths: PyReadonlyArray1<'py, i64>,
        time_horizon: Option<usize>,
        action_dim: Option<usize>,
        on_error: &str,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyArray1<bool>>)> {
        let on_error = parse_on_error(on_error)?;
        let (h, d) = self
            .inner
            .decode_shape(time_horizon, action_dim)
            .map_err(to_py)?;
        let width = ids.shape()[1];
        let ids = ids
            .as_slice()
            .map_err(|e| ActokError::new_err(e.to_string()))?;
        let lengths = lengths
            .as_slice()
            .map_err(|e| ActokError::new_err(e.to_string()))?;
        let rows = lengths.len();
        let decoded = py
            .detach(|| {
                self.inner
                    .decode_padded(ids, width, lengths, h, d, on_error)
            })
            .map_err(to_py)?;
        let actions = PyArray::from_vec(py, decoded.actions)
            .reshape([rows, h, d])?
            .into_any();
        Ok((actions, PyArray::from_vec(py, decoded.valid)))
    }
}

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
    actok::num_threads().map_err(to_py)
}

/// Sets the number of threads batch calls use (`None`: `ACTOK_NUM_THREADS` or all cores).
#[pyfunction]
#[pyo3(signature = (n))]
fn set_num_threads(n: Option<usize>) -> PyResult<()> {
    actok::set_num_threads(n).map_err(to_py)
}

/// The compiled half of the `actok` package.
#[pymodule]
fn _actok(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("ActokError", py.get_type::<ActokError>())?;
    m.add("EncodeError", py.get_type::<EncodeError>())?;
    m.add("DecodeError", py.get_type::<DecodeError>())?;
    m.add("LoadError", py.get_type::<LoadError>())?;
    m.add_class::<PyFastTokenizer>()?;
    m.add_function(wrap_pyfunction!(transform, m)?)?;
    m.add_function(wrap_pyfunction!(_pretokenize, m)?)?;
    m.add_function(wrap_pyfunction!(get_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(set_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(fit::_fit, m)?)?;
    data::register(m)?;
    Ok(())
}
