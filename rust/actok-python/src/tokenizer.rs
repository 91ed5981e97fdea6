//! `actok._actok._FastTokenizer`: the core tokenizer behind `actok.FastTokenizer`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use actok::{
    ConstraintBatch, EncodeOptions, FastTokenizer, FitAlphabet, FitOptions, FitProgress,
    OnDecodeError, Overflow, Placement, VocabMapping,
};
use numpy::{
    PyArray, PyArray1, PyArrayDescrMethods, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2,
    PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyInt, PyList, PyString};

use crate::constraint::{PyConstraint, PyConstraintBatch};
use crate::errors::to_py;
use crate::floats::{batch_shape, dispatch, slice, FloatArray};
use crate::gc_pause::{without_gc, MIN_LISTS};
use crate::ids::{id_lists, IdLists};
use crate::normalizer::PyNormalizer;
use crate::options::Opt;

/// `(ids (B, L) int32, lengths (B,) int32, values clipped per dimension)`.
type PaddedArrays<'py> = (Bound<'py, PyAny>, Bound<'py, PyArray1<i32>>, Vec<u64>);

/// A padded `(B, L)` id array: int32 (what `encode_padded` returns, taken without a copy),
/// int64, or uint64 (whose ids beyond `i64` the core reports with their value).
enum PaddedIds<'py> {
    Narrow(PyReadonlyArray2<'py, i32>),
    Signed(PyReadonlyArray2<'py, i64>),
    Unsigned(PyReadonlyArray2<'py, u64>),
}

impl<'a, 'py> FromPyObject<'a, 'py> for PaddedIds<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        // The variant is chosen by dtype: trying each in turn would build (and format) an
        // error per miss, several microseconds, more than decoding a chunk.
        if has_dtype::<i32>(obj) {
            Ok(Self::Narrow(obj.extract()?))
        } else if has_dtype::<u64>(obj) {
            Ok(Self::Unsigned(obj.extract()?))
        } else {
            Ok(Self::Signed(obj.extract()?))
        }
    }
}

/// The `(B,)` lengths of padded rows: int32 (as `encode_padded` returns them) or int64.
enum PaddedLengths<'py> {
    Narrow(PyReadonlyArray1<'py, i32>),
    Wide(PyReadonlyArray1<'py, i64>),
}

impl<'a, 'py> FromPyObject<'a, 'py> for PaddedLengths<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if has_dtype::<i32>(obj) {
            Ok(Self::Narrow(obj.extract()?))
        } else {
            Ok(Self::Wide(obj.extract()?))
        }
    }
}

/// Whether `obj` is a numpy array of element type `T`.
fn has_dtype<T: numpy::Element>(obj: Borrowed<'_, '_, PyAny>) -> bool {
    obj.cast::<numpy::PyUntypedArray>()
        .is_ok_and(|a| a.dtype().is_equiv_to(&numpy::dtype::<T>(obj.py())))
}

/// Runs `$body` with `$ids` and `$lengths` bound to the elements of a [`PaddedIds`] and a
/// [`PaddedLengths`], and `$width` to the row width, whatever their integer types.
macro_rules! with_padded {
    ($ids_arg:expr, $lengths_arg:expr, |$width:ident, $ids:ident, $lengths:ident| $body:expr) => {
        match ($ids_arg, $lengths_arg) {
            (PaddedIds::Narrow(a), PaddedLengths::Narrow(l)) => {
                let (($width, $ids), $lengths) = (padded_rows(a)?, slice(l)?);
                $body
            }
            (PaddedIds::Narrow(a), PaddedLengths::Wide(l)) => {
                let (($width, $ids), $lengths) = (padded_rows(a)?, slice(l)?);
                $body
            }
            (PaddedIds::Signed(a), PaddedLengths::Narrow(l)) => {
                let (($width, $ids), $lengths) = (padded_rows(a)?, slice(l)?);
                $body
            }
            (PaddedIds::Signed(a), PaddedLengths::Wide(l)) => {
                let (($width, $ids), $lengths) = (padded_rows(a)?, slice(l)?);
                $body
            }
            (PaddedIds::Unsigned(a), PaddedLengths::Narrow(l)) => {
                let (($width, $ids), $lengths) = (padded_rows(a)?, slice(l)?);
                $body
            }
            (PaddedIds::Unsigned(a), PaddedLengths::Wide(l)) => {
                let (($width, $ids), $lengths) = (padded_rows(a)?, slice(l)?);
                $body
            }
        }
    };
}

/// A fit's `placement`: `"auto"`, `"reference"` (through the core's table) or an `int` min_token.
struct PlacementArg(Placement);

impl<'a, 'py> FromPyObject<'a, 'py> for PlacementArg {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() {
            let min_token: i64 = obj.extract().map_err(|_| {
                to_py(actok::Error::InvalidArgument(
                    "placement min_token does not fit in a 64-bit integer".into(),
                ))
            })?;
            return Ok(Self(Placement::MinToken(min_token)));
        }
        let text = obj.cast::<PyString>()?;
        Placement::parse(&text.to_cow()?).map(Self).map_err(to_py)
    }
}

/// The core FAST tokenizer (wrapped by `actok.FastTokenizer`).
#[pyclass(frozen, module = "actok._actok", name = "_FastTokenizer")]
pub(crate) struct PyFastTokenizer {
    inner: Arc<FastTokenizer>,
    /// One Python int per token id, made on first use: `encode` then fills its lists with
    /// references instead of allocating an int per token (about 15% of a whole encode call).
    ids: PyOnceLock<Vec<Py<PyInt>>>,
}

impl PyFastTokenizer {
    fn wrap(inner: FastTokenizer) -> Self {
        Self {
            inner: Arc::new(inner),
            ids: PyOnceLock::new(),
        }
    }

    /// The Python ints `0..vocab_len`.
    fn id_objects(&self, py: Python<'_>) -> PyResult<&[Py<PyInt>]> {
        let ids = self.ids.get_or_try_init(py, || {
            (0..self.inner.bpe().vocab_len() as u32)
                .map(|i| Ok(i.into_pyobject(py)?.unbind()))
                .collect::<PyResult<Vec<_>>>()
        })?;
        Ok(ids)
    }
}

/// A Python callable `progress(stage: str, done: int, total: int)` called from the core's
/// progress reports (from any worker thread, the GIL taken for the call). The first exception it
/// raises stops further calls and is raised once the fit returns.
struct Progress<'a> {
    callback: &'a Py<PyAny>,
    failure: Mutex<Option<PyErr>>,
}

impl Progress<'_> {
    fn report(&self, p: FitProgress) {
        Python::attach(|py| {
            let mut failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
            if failure.is_none() {
                if let Err(err) = self.callback.call1(py, (p.stage.name(), p.done, p.total)) {
                    *failure = Some(err);
                }
            }
        })
    }

    fn finish(self) -> PyResult<()> {
        match self.failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(err) => Err(err),
            None => Ok(()),
        }
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

    /// Builds a tokenizer from the texts of `tokenizer.json`, `processor_config.json` and,
    /// when it has one, `actok_normalizer.json`.
    #[staticmethod]
    #[pyo3(signature = (tokenizer_json, processor_config_json, normalizer_json=None))]
    fn from_json(
        py: Python<'_>,
        tokenizer_json: &str,
        processor_config_json: &str,
        normalizer_json: Option<&str>,
    ) -> PyResult<Self> {
        let inner = py
            .detach(|| {
                FastTokenizer::from_json_with_normalizer(
                    tokenizer_json,
                    processor_config_json,
                    normalizer_json,
                )
            })
            .map_err(to_py)?;
        Ok(Self::wrap(inner))
    }

    /// Fits a tokenizer to `(N, H, D)` chunks (raw, normalized by `normalizer` on the way, when
    /// given), the GIL released; `progress(stage, done, total)` is called as the fit advances.
    #[staticmethod]
    #[pyo3(signature = (chunks, scale, vocab_size, alphabet, min_frequency, max_token_length, normalizer, progress, placement, target_rmse))]
    #[allow(clippy::too_many_arguments)]
    fn fit(
        py: Python<'_>,
        chunks: FloatArray<'_>,
        scale: f64,
        vocab_size: usize,
        alphabet: Opt<FitAlphabet>,
        min_frequency: Option<u64>,
        max_token_length: usize,
        normalizer: Option<&PyNormalizer>,
        progress: Option<Py<PyAny>>,
        placement: PlacementArg,
        target_rmse: Option<f64>,
    ) -> PyResult<Self> {
        let options = FitOptions {
            scale,
            vocab_size,
            alphabet: alphabet.0,
            min_frequency,
            max_token_length,
            placement: placement.0,
            target_rmse,
        };
        let progress = progress.as_ref().map(|callback| Progress {
            callback,
            failure: Mutex::new(None),
        });
        let report = |p: FitProgress| {
            if let Some(progress) = &progress {
                progress.report(p)
            }
        };
        let callback: Option<&(dyn Fn(FitProgress) + Sync)> =
            progress.as_ref().map(|_| &report as _);
        let fitted = dispatch!(&chunks, |a| {
            let shape = batch_shape(a.shape(), "chunks", "(N, H, D)")?;
            let data = slice(a)?;
            py.detach(|| match normalizer {
                Some(n) => {
                    FastTokenizer::fit_normalized(data, shape, &options, n.inner(), callback)
                }
                None => FastTokenizer::fit(data, shape, &options, callback),
            })
        });
        if let Some(progress) = progress {
            progress.finish()?;
        }
        Ok(Self::wrap(fitted.map_err(to_py)?))
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

    /// A copy carrying `normalizer` (`None` removes it).
    #[pyo3(signature = (normalizer))]
    fn with_normalizer(&self, normalizer: Option<&PyNormalizer>) -> Self {
        let inner = (*self.inner)
            .clone()
            .with_normalizer(normalizer.map(|n| n.inner().clone()));
        Self::wrap(inner)
    }

    /// The attached normalizer, if any.
    #[getter]
    fn normalizer(&self) -> Option<PyNormalizer> {
        self.inner.normalizer().cloned().map(PyNormalizer::wrap)
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

    /// Encodes a `(B, H, D)` batch to one id list per chunk, and the values the normalizer
    /// clipped per dimension (empty when none).
    fn encode<'py>(
        &self,
        py: Python<'py>,
        actions: FloatArray<'py>,
        on_overflow: Opt<Overflow>,
        check_shape: bool,
    ) -> PyResult<(Bound<'py, PyList>, Vec<u64>)> {
        let tok = &self.inner;
        let options = EncodeOptions {
            overflow: on_overflow.0,
            check_shape,
        };
        let encoded = dispatch!(&actions, |a| {
            let shape = batch_shape(a.shape(), "actions", "(B, H, D)")?;
            let data = slice(a)?;
            py.detach(|| tok.encode_rows(data, shape, options))
        })
        .map_err(to_py)?;
        let ints = self.id_objects(py)?;
        let build = || {
            let rows = encoded
                .rows
                .iter()
                // Every id the encoder emits is below vocab_len.
                .map(|seq| PyList::new(py, seq.iter().map(|&id| ints[id as usize].bind(py))))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, rows)
        };
        let lists = if encoded.rows.len() >= MIN_LISTS {
            without_gc(py, build)?
        } else {
            build()?
        };
        Ok((lists, encoded.clipped))
    }

    /// Encodes a `(B, H, D)` batch to padded `(B, L)` int32 ids and `(B,)` int32 lengths, and
    /// the values the normalizer clipped per dimension (empty when none).
    #[pyo3(signature = (actions, on_overflow, check_shape, max_length, pad_id))]
    fn encode_padded<'py>(
        &self,
        py: Python<'py>,
        actions: FloatArray<'py>,
        on_overflow: Opt<Overflow>,
        check_shape: bool,
        max_length: Option<usize>,
        pad_id: i32,
    ) -> PyResult<PaddedArrays<'py>> {
        let tok = &self.inner;
        let options = EncodeOptions {
            overflow: on_overflow.0,
            check_shape,
        };
        let padded = dispatch!(&actions, |a| {
            let shape = batch_shape(a.shape(), "actions", "(B, H, D)")?;
            let data = slice(a)?;
            py.detach(|| tok.encode_padded(data, shape, options, max_length, pad_id))
        })
        .map_err(to_py)?;
        let rows = padded.lengths.len();
        let ids = PyArray::from_vec(py, padded.ids)
            .reshape([rows, padded.width])?
            .into_any();
        Ok((ids, PyArray::from_vec(py, padded.lengths), padded.clipped))
    }

    /// Decodes id lists to `(B, H, D)` float64 actions and a `(B,)` validity mask.
    fn decode<'py>(
        &self,
        py: Python<'py>,
        sequences: &Bound<'py, PyAny>,
        time_horizon: Option<usize>,
        action_dim: Option<usize>,
        on_error: Opt<OnDecodeError>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyArray1<bool>>)> {
        let (h, d) = self
            .inner
            .decode_shape(time_horizon, action_dim)
            .map_err(to_py)?;
        let tok = &self.inner;
        let (rows, decoded) = match id_lists(sequences)? {
            IdLists::Flat(flat) => {
                let ids = flat.rows();
                (ids.len(), py.detach(|| tok.decode(&ids, h, d, on_error.0)))
            }
            IdLists::Narrow(ids) => (ids.len(), py.detach(|| tok.decode(&ids, h, d, on_error.0))),
            IdLists::Wide(ids) => (ids.len(), py.detach(|| tok.decode(&ids, h, d, on_error.0))),
        };
        decoded_arrays(py, decoded.map_err(to_py)?, [rows, h, d])
    }

    /// Decodes padded `(B, L)` ids with `(B,)` lengths.
    fn decode_padded<'py>(
        &self,
        py: Python<'py>,
        ids: PaddedIds<'py>,
        lengths: PaddedLengths<'py>,
        time_horizon: Option<usize>,
        action_dim: Option<usize>,
        on_error: Opt<OnDecodeError>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyArray1<bool>>)> {
        let (h, d) = self
            .inner
            .decode_shape(time_horizon, action_dim)
            .map_err(to_py)?;
        let tok = &self.inner;
        let (rows, decoded) = with_padded!(&ids, &lengths, |width, ids, lengths| {
            let decoded = py.detach(|| tok.decode_padded(ids, width, lengths, h, d, on_error.0));
            (lengths.len(), decoded)
        });
        decoded_arrays(py, decoded.map_err(to_py)?, [rows, h, d])
    }

    /// Decodes prefixes of id lists (anytime decoding): `(B, H, D)` actions and a `(B,)` mask
    /// of the complete ones.
    fn decode_prefix<'py>(
        &self,
        py: Python<'py>,
        sequences: &Bound<'py, PyAny>,
        time_horizon: Option<usize>,
        action_dim: Option<usize>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyArray1<bool>>)> {
        let (h, d) = self
            .inner
            .decode_shape(time_horizon, action_dim)
            .map_err(to_py)?;
        let tok = &self.inner;
        let (rows, decoded) = match id_lists(sequences)? {
            IdLists::Flat(flat) => {
                let ids = flat.rows();
                (ids.len(), py.detach(|| tok.decode_prefix(&ids, h, d)))
            }
            IdLists::Narrow(ids) => (ids.len(), py.detach(|| tok.decode_prefix(&ids, h, d))),
            IdLists::Wide(ids) => (ids.len(), py.detach(|| tok.decode_prefix(&ids, h, d))),
        };
        decoded_arrays(py, decoded.map_err(to_py)?, [rows, h, d])
    }

    /// Decodes prefixes given as padded `(B, L)` ids with `(B,)` lengths.
    fn decode_prefix_padded<'py>(
        &self,
        py: Python<'py>,
        ids: PaddedIds<'py>,
        lengths: PaddedLengths<'py>,
        time_horizon: Option<usize>,
        action_dim: Option<usize>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyArray1<bool>>)> {
        let (h, d) = self
            .inner
            .decode_shape(time_horizon, action_dim)
            .map_err(to_py)?;
        let tok = &self.inner;
        let (rows, decoded) = with_padded!(&ids, &lengths, |width, ids, lengths| {
            let decoded = py.detach(|| tok.decode_prefix_padded(ids, width, lengths, h, d));
            (lengths.len(), decoded)
        });
        decoded_arrays(py, decoded.map_err(to_py)?, [rows, h, d])
    }

    /// A constraint for one sequence of chunks of the given shape (else the config's), the
    /// GIL released while the automaton is solved.
    fn constraint(
        &self,
        py: Python<'_>,
        time_horizon: Option<usize>,
        action_dim: Option<usize>,
    ) -> PyResult<PyConstraint> {
        let (h, d) = self
            .inner
            .decode_shape(time_horizon, action_dim)
            .map_err(to_py)?;
        let tok = &self.inner;
        let inner = py.detach(|| tok.constraint(h, d)).map_err(to_py)?;
        Ok(PyConstraint::wrap(inner))
    }

    /// A batch of constraints, masks in the model's vocabulary when a map is given.
    #[pyo3(signature = (batch, time_horizon, action_dim, vocab_map, model_vocab_size, end_id))]
    #[allow(clippy::too_many_arguments)]
    fn constraint_batch(
        &self,
        py: Python<'_>,
        batch: usize,
        time_horizon: Option<usize>,
        action_dim: Option<usize>,
        vocab_map: Option<PyReadonlyArray1<'_, i64>>,
        model_vocab_size: Option<usize>,
        end_id: Option<i64>,
    ) -> PyResult<PyConstraintBatch> {
        let (h, d) = self
            .inner
            .decode_shape(time_horizon, action_dim)
            .map_err(to_py)?;
        let mapping = VocabMapping {
            map: vocab_map
                .as_ref()
                .map(slice)
                .transpose()?
                .map(<[i64]>::to_vec),
            model_vocab_size,
            end_id,
        };
        let tok = &self.inner;
        let inner = py
            .detach(|| {
                let table = tok.constraint_table(h, d)?;
                ConstraintBatch::new(table, batch, &mapping)
            })
            .map_err(to_py)?;
        Ok(PyConstraintBatch::wrap(inner))
    }
}

/// The width and the elements of a padded `(B, L)` id array.
fn padded_rows<'a, T: numpy::Element>(
    ids: &'a PyReadonlyArray2<'_, T>,
) -> PyResult<(usize, &'a [T])> {
    Ok((ids.shape()[1], slice(ids)?))
}

/// The decoded `(B, H, D)` actions and `(B,)` validity mask as numpy arrays.
fn decoded_arrays<'py>(
    py: Python<'py>,
    decoded: actok::Decoded,
    shape: [usize; 3],
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyArray1<bool>>)> {
    let actions = PyArray::from_vec(py, decoded.actions)
        .reshape(shape)?
        .into_any();
    Ok((actions, PyArray::from_vec(py, decoded.valid)))
}
