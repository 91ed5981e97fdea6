//! Bindings for the data-preparation half of the core: normalizers and episode chunking.
//!
//! The Python package (`python/actok/_normalizer.py`, `_chunking.py`) converts inputs to
//! C-contiguous float32/float64 arrays of one dtype; here they become slices and the work runs with
//! the GIL released.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use actok::{ChunkPad, Normalizer, NormalizerKind};
use numpy::ndarray::IxDyn;
use numpy::{PyArray, PyArray1, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;

use crate::{to_py, ActokError, PyFastTokenizer};

/// Float arrays of one dtype, borrowed from numpy.
enum Arrays<'py> {
    F32(Vec<PyReadonlyArrayDyn<'py, f32>>),
    F64(Vec<PyReadonlyArrayDyn<'py, f64>>),
}

impl<'py> Arrays<'py> {
    /// Extracts a list of C-contiguous arrays that all have the dtype of the first one.
    fn extract(items: &[Bound<'py, PyAny>], what: &str) -> PyResult<Self> {
        let first_is_f32 = items
            .first()
            .is_some_and(|x| x.extract::<PyReadonlyArrayDyn<'py, f32>>().is_ok());
        let wrong = |i: usize| {
            ActokError::new_err(format!(
                "{what} {i} is not a float{} numpy array ({what}s must share one float dtype)",
                if first_is_f32 { "32" } else { "64" }
            ))
        };
        if first_is_f32 {
            let arrays = items
                .iter()
                .enumerate()
                .map(|(i, x)| x.extract().map_err(|_| wrong(i)))
                .collect::<PyResult<_>>()?;
            Ok(Self::F32(arrays))
        } else {
            let arrays = items
                .iter()
                .enumerate()
                .map(|(i, x)| x.extract().map_err(|_| wrong(i)))
                .collect::<PyResult<_>>()?;
            Ok(Self::F64(arrays))
        }
    }
}

/// Checks that every array is 2-D `(T_i, D)` with one `D`; returns `D`.
fn common_dim(shapes: &[&[usize]], what: &str) -> PyResult<usize> {
    let mut dim = None;
    for (i, shape) in shapes.iter().enumerate() {
        if shape.len() != 2 {
            return Err(ActokError::new_err(format!(
                "{what} {i} must have shape (T, D), got {} dimensions",
                shape.len()
            )));
        }
        match dim {
            None => dim = Some(shape[1]),
            Some(d) if d != shape[1] => {
                return Err(ActokError::new_err(format!(
                    "{what} {i} has {} action dimensions, {what} 0 has {d}",
                    shape[1]
                )))
            }
            Some(_) => {}
        }
    }
    dim.ok_or_else(|| ActokError::new_err(format!("need at least one {what}")))
}

/// The arrays' elements as slices, and their common `D`.
fn slices<'a, 'py, T: numpy::Element>(
    arrays: &'a [PyReadonlyArrayDyn<'py, T>],
) -> PyResult<(Vec<&'a [T]>, usize)> {
    let shapes: Vec<&[usize]> = arrays.iter().map(|x| x.shape()).collect();
    let dim = common_dim(&shapes, "episode")?;
    let slices = arrays
        .iter()
        .map(|x| x.as_slice().map_err(|e| ActokError::new_err(e.to_string())))
        .collect::<PyResult<Vec<&[T]>>>()?;
    Ok((slices, dim))
}

fn fit_typed<T: actok::Sample + numpy::Element>(
    py: Python<'_>,
    arrays: &[PyReadonlyArrayDyn<'_, T>],
    kind: NormalizerKind,
) -> PyResult<Normalizer> {
    let (slices, dim) = slices(arrays)?;
    py.detach(|| Normalizer::fit(kind, &slices, dim))
        .map_err(to_py)
}

fn chunk_typed<'py, T: numpy::Element + Copy + Send + Sync>(
    py: Python<'py>,
    arrays: &[PyReadonlyArrayDyn<'py, T>],
    horizon: usize,
    stride: usize,
    pad: ChunkPad,
) -> PyResult<Bound<'py, PyAny>> {
    let (slices, dim) = slices(arrays)?;
    let (chunks, n) = py
        .detach(|| actok::chunk_episodes(&slices, dim, horizon, stride, pad))
        .map_err(to_py)?;
    Ok(PyArray::from_vec(py, chunks)
        .reshape([n, horizon, dim])?
        .into_any())
}

/// The core normalizer (wrapped by `actok.Normalizer`).
#[pyclass(frozen, module = "actok._actok", name = "_Normalizer")]
pub(crate) struct PyNormalizer {
    pub(crate) inner: Arc<Normalizer>,
}

impl PyNormalizer {
    fn wrap(inner: Normalizer) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    fn map<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        inverse: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        fn run<'py, T: actok::Sample + numpy::Element>(
            py: Python<'py>,
            norm: &Normalizer,
            x: PyReadonlyArrayDyn<'py, T>,
            inverse: bool,
        ) -> PyResult<Bound<'py, PyAny>> {
            let shape = x.shape().to_vec();
            if shape.last() != Some(&norm.dim()) {
                return Err(ActokError::new_err(format!(
                    "the last axis must have the normalizer's dimension {}, got shape {shape:?}",
                    norm.dim()
                )));
            }
            let input = x
                .as_slice()
                .map_err(|e| ActokError::new_err(e.to_string()))?;
            let mut output = vec![T::from_f64(0.0); input.len()];
            py.detach(|| {
                if inverse {
                    norm.inverse_into(input, &mut output)
                } else {
                    norm.apply_into(input, &mut output)
                }
            })
            .map_err(to_py)?;
            Ok(PyArray::from_vec(py, output)
                .reshape(IxDyn(&shape))?
                .into_any())
        }
        if let Ok(a) = x.extract::<PyReadonlyArrayDyn<'py, f64>>() {
            run(py, &self.inner, a, inverse)
        } else if let Ok(a) = x.extract::<PyReadonlyArrayDyn<'py, f32>>() {
            run(py, &self.inner, a, inverse)
        } else {
            Err(ActokError::new_err(
                "expected a float32 or float64 numpy array",
            ))
        }
    }
}

fn vector<'py>(py: Python<'py>, values: Option<&[f64]>) -> Option<Bound<'py, PyArray1<f64>>> {
    values.map(|v| PyArray1::from_slice(py, v))
}

#[pymethods]
impl PyNormalizer {
    /// Fits to the pooled rows of a list of `(T_i, D)` arrays of one float dtype.
    #[staticmethod]
    fn fit(py: Python<'_>, parts: Vec<Bound<'_, PyAny>>, kind: &str) -> PyResult<Self> {
        let kind = NormalizerKind::from_name(kind).map_err(to_py)?;
        let norm = match Arrays::extract(&parts, "episode")? {
            Arrays::F32(a) => fit_typed(py, &a, kind)?,
            Arrays::F64(a) => fit_typed(py, &a, kind)?,
        };
        Ok(Self::wrap(norm))
    }

    /// Builds one from its parameters (see `Normalizer::from_parameters` in the core).
    #[staticmethod]
    fn from_parameters(
        kind: &str,
        dim: usize,
        first: Vec<f64>,
        second: Vec<f64>,
    ) -> PyResult<Self> {
        let kind = NormalizerKind::from_name(kind).map_err(to_py)?;
        Normalizer::from_parameters(kind, dim, first, second)
            .map(Self::wrap)
            .map_err(to_py)
    }

    /// Parses the JSON text of a normalizer file.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Normalizer::from_json(text, Path::new(actok::NORMALIZER_FILE))
            .map(Self::wrap)
            .map_err(to_py)
    }

    /// Reads a normalizer file.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        py.detach(|| Normalizer::load(&path))
            .map(Self::wrap)
            .map_err(to_py)
    }

    /// Writes a normalizer file.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| self.inner.save(&path)).map_err(to_py)
    }

    /// The JSON text of the normalizer file.
    fn to_json(&self) -> String {
        self.inner.to_json()
    }

    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.kind().name()
    }

    #[getter]
    fn dim(&self) -> usize {
        self.inner.dim()
    }

    #[getter]
    fn low<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        vector(py, self.inner.range().map(|r| r.0))
    }

    #[getter]
    fn high<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        vector(py, self.inner.range().map(|r| r.1))
    }

    #[getter]
    fn mean<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        vector(py, self.inner.mean_std().map(|r| r.0))
    }

    #[getter]
    fn std<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        vector(py, self.inner.mean_std().map(|r| r.1))
    }

    /// Normalizes a float32/float64 array over its last axis (dtype and shape kept).
    fn apply<'py>(&self, py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        self.map(py, x, false)
    }

    /// Inverts `apply`.
    fn inverse<'py>(&self, py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        self.map(py, x, true)
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.inner == other.inner
    }
}

/// Cuts a list of `(T_i, D)` arrays of one float dtype into `(N, H, D)` chunks.
#[pyfunction]
#[pyo3(signature = (episodes, horizon, stride, pad))]
pub(crate) fn chunk_episodes<'py>(
    py: Python<'py>,
    episodes: Vec<Bound<'py, PyAny>>,
    horizon: usize,
    stride: usize,
    pad: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let pad = ChunkPad::from_name(pad).map_err(to_py)?;
    match Arrays::extract(&episodes, "episode")? {
        Arrays::F32(a) => chunk_typed(py, &a, horizon, stride, pad),
        Arrays::F64(a) => chunk_typed(py, &a, horizon, stride, pad),
    }
}

/// The tokenizer `tok` with `normalizer` attached (`None` removes it).
#[pyfunction]
#[pyo3(signature = (tok, normalizer))]
pub(crate) fn _tokenizer_with_normalizer(
    tok: &PyFastTokenizer,
    normalizer: Option<&PyNormalizer>,
) -> PyFastTokenizer {
    let inner = (*tok.inner)
        .clone()
        .with_normalizer(normalizer.map(|n| (*n.inner).clone()));
    PyFastTokenizer::wrap(inner)
}

/// The normalizer attached to `tok`, if any.
#[pyfunction]
pub(crate) fn _tokenizer_normalizer(tok: &PyFastTokenizer) -> Option<PyNormalizer> {
    tok.inner
        .normalizer()
        .map(|n| PyNormalizer::wrap(n.clone()))
}

/// Registers this file's classes and functions on the extension module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyNormalizer>()?;
    m.add_function(wrap_pyfunction!(chunk_episodes, m)?)?;
    m.add_function(wrap_pyfunction!(_tokenizer_with_normalizer, m)?)?;
    m.add_function(wrap_pyfunction!(_tokenizer_normalizer, m)?)?;
    Ok(())
}
