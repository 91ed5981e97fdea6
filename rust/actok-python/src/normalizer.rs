//! `actok._actok._Normalizer`: the core normalizer behind `actok.Normalizer`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use actok::{Normalizer, NormalizerKind, OutOfRange, Statistics};
use numpy::PyArray1;
use numpy::PyUntypedArrayMethods;
use pyo3::prelude::*;

use crate::errors::to_py;
use crate::floats::{batch_shape, dispatch, slice, slices, to_numpy, FloatArray, FloatArrays};
use crate::options::Opt;

/// The core normalizer (wrapped by `actok.Normalizer`).
#[pyclass(frozen, module = "actok._actok", name = "_Normalizer")]
pub(crate) struct PyNormalizer {
    inner: Arc<Normalizer>,
}

impl PyNormalizer {
    pub(crate) fn wrap(inner: Normalizer) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    pub(crate) fn inner(&self) -> &Normalizer {
        &self.inner
    }

    /// `apply` or `inverse` over the last axis, dtype and shape kept; with the values clipped
    /// per dimension (always zero for `inverse`).
    fn map<'py>(
        &self,
        py: Python<'py>,
        x: FloatArray<'py>,
        inverse: bool,
    ) -> PyResult<(Bound<'py, PyAny>, Vec<u64>)> {
        let norm = &self.inner;
        dispatch!(&x, |a| {
            let shape = a.shape().to_vec();
            let input = slice(a)?;
            let mut output = input.to_vec();
            let clipped = py
                .detach(|| {
                    norm.check_last_axis(&shape)?;
                    if inverse {
                        norm.inverse_into(input, &mut output)?;
                        Ok(Vec::new())
                    } else {
                        norm.apply_into(input, &mut output)
                    }
                })
                .map_err(to_py)?;
            Ok((to_numpy(py, output, &shape)?, clipped))
        })
    }
}

fn vector<'py>(py: Python<'py>, values: Option<&[f64]>) -> Option<Bound<'py, PyArray1<f64>>> {
    values.map(|v| PyArray1::from_slice(py, v))
}

#[pymethods]
impl PyNormalizer {
    /// Fits to the pooled rows of a list of `(T_i, D)` arrays of one float dtype.
    #[staticmethod]
    fn fit(
        py: Python<'_>,
        parts: Vec<Bound<'_, PyAny>>,
        kind: Opt<NormalizerKind>,
        out_of_range: Opt<OutOfRange>,
    ) -> PyResult<Self> {
        let arrays = FloatArrays::extract_all(&parts)?;
        let norm = dispatch!(&arrays, |a| {
            let (data, shapes) = slices(a)?;
            py.detach(|| {
                let dim = actok::episodes_dim(&shapes)?;
                Normalizer::fit(kind.0, &data, dim)?.with_out_of_range(out_of_range.0)
            })
        });
        norm.map(Self::wrap).map_err(to_py)
    }

    /// Fits to the rows of an `(N, H, D)` float32/float64 array of chunks.
    #[staticmethod]
    fn fit_chunks(
        py: Python<'_>,
        chunks: FloatArray<'_>,
        kind: Opt<NormalizerKind>,
        out_of_range: Opt<OutOfRange>,
    ) -> PyResult<Self> {
        let norm = dispatch!(&chunks, |a| {
            let shape = batch_shape(a.shape(), "chunks", "(N, H, D)")?;
            let data = slice(a)?;
            py.detach(|| {
                Normalizer::fit_chunks(kind.0, data, shape)?.with_out_of_range(out_of_range.0)
            })
        });
        norm.map(Self::wrap).map_err(to_py)
    }

    /// Builds one from named statistics (see `Normalizer::from_statistics` in the core).
    #[staticmethod]
    #[allow(clippy::too_many_arguments)] // one per named statistic, as Python passes them
    #[pyo3(signature = (kind, low, high, mean, std, min, max, dim, out_of_range))]
    fn from_statistics(
        kind: Opt<NormalizerKind>,
        low: Option<Vec<f64>>,
        high: Option<Vec<f64>>,
        mean: Option<Vec<f64>>,
        std: Option<Vec<f64>>,
        min: Option<Vec<f64>>,
        max: Option<Vec<f64>>,
        dim: Option<usize>,
        out_of_range: Opt<OutOfRange>,
    ) -> PyResult<Self> {
        let stats = Statistics {
            low,
            high,
            mean,
            std,
            min,
            max,
        };
        Normalizer::from_statistics(kind.0, stats, dim)
            .and_then(|n| n.with_out_of_range(out_of_range.0))
            .map(Self::wrap)
            .map_err(to_py)
    }

    /// A copy with another out-of-range policy.
    fn with_out_of_range(&self, policy: Opt<OutOfRange>) -> PyResult<Self> {
        Normalizer::clone(&self.inner)
            .with_out_of_range(policy.0)
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
    fn kind(&self) -> String {
        self.inner.kind().to_string()
    }

    #[getter]
    fn dim(&self) -> usize {
        self.inner.dim()
    }

    #[getter]
    fn out_of_range(&self) -> &'static str {
        actok::Choice::name(self.inner.out_of_range())
    }

    #[getter]
    fn min<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        vector(py, self.inner.seen().map(|r| r.0))
    }

    #[getter]
    fn max<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        vector(py, self.inner.seen().map(|r| r.1))
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

    /// Normalizes a float32/float64 array over its last axis (dtype and shape kept); with the
    /// values clipped per dimension.
    fn apply<'py>(
        &self,
        py: Python<'py>,
        x: FloatArray<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, Vec<u64>)> {
        self.map(py, x, false)
    }

    /// Inverts `apply`.
    fn inverse<'py>(&self, py: Python<'py>, x: FloatArray<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.map(py, x, true)?.0)
    }

    /// Values outside the fitted range per dimension, over the last axis.
    fn count_outside(&self, py: Python<'_>, x: FloatArray<'_>) -> PyResult<Vec<u64>> {
        let norm = &self.inner;
        dispatch!(&x, |a| {
            let shape = a.shape().to_vec();
            let input = slice(a)?;
            py.detach(|| {
                norm.check_last_axis(&shape)?;
                norm.count_outside(input)
            })
            .map_err(to_py)
        })
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.inner == other.inner
    }
}
