//! `actok._actok._Constraint` and `_ConstraintBatch`: the core's constraint automata (wrapped by
//! `actok.Constraint` / `actok.ConstraintBatch`, which bring ids and outputs to the types taken
//! here). A step of one sequence is too short to be worth releasing the GIL; building a table
//! and writing a batch's masks release it.

use actok::{Constraint, ConstraintBatch};
use numpy::{PyArray1, PyReadonlyArray1, PyReadwriteArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;

use crate::errors::to_py;
use crate::floats::slice;

/// One constrained sequence.
#[pyclass(module = "actok._actok", name = "_Constraint")]
pub(crate) struct PyConstraint {
    inner: Constraint,
}

impl PyConstraint {
    pub(crate) fn wrap(inner: Constraint) -> Self {
        Self { inner }
    }
}

#[pymethods]
impl PyConstraint {
    /// A new `(vocab_len,)` bool array of the ids allowed next.
    fn mask<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<bool>> {
        PyArray1::from_slice(py, self.inner.mask())
    }

    /// Writes the mask into a writeable, C-contiguous 1-D bool array.
    fn mask_into(&self, mut out: PyReadwriteArrayDyn<'_, bool>) -> PyResult<()> {
        let out = out.as_slice_mut().map_err(PyErr::from)?;
        self.inner.mask_into(out).map_err(to_py)
    }

    /// Appends one id (a Python int the wrapper brought within `i128`).
    fn advance(&mut self, id: i128) -> PyResult<()> {
        self.inner.advance(id).map_err(to_py)
    }

    #[getter]
    fn is_complete(&self) -> bool {
        self.inner.is_complete()
    }

    fn reset(&mut self) {
        self.inner.reset()
    }

    #[getter]
    fn count(&self) -> usize {
        self.inner.count()
    }

    #[getter]
    fn position(&self) -> usize {
        self.inner.position()
    }

    #[getter]
    fn time_horizon(&self) -> usize {
        self.inner.table().horizon()
    }

    #[getter]
    fn action_dim(&self) -> usize {
        self.inner.table().dim()
    }

    #[getter]
    fn vocab_len(&self) -> usize {
        self.inner.table().vocab_len()
    }
}

/// A batch of constrained sequences.
#[pyclass(module = "actok._actok", name = "_ConstraintBatch")]
pub(crate) struct PyConstraintBatch {
    inner: ConstraintBatch,
}

impl PyConstraintBatch {
    pub(crate) fn wrap(inner: ConstraintBatch) -> Self {
        Self { inner }
    }
}

/// A `(batch,)` id array: int64, or uint64 (whose ids beyond `i64` the core reports with their
/// value).
#[derive(FromPyObject)]
enum BatchIds<'py> {
    Signed(PyReadonlyArray1<'py, i64>),
    Unsigned(PyReadonlyArray1<'py, u64>),
}

#[pymethods]
impl PyConstraintBatch {
    /// Writes the `(batch, width)` masks into a writeable, C-contiguous bool array, the GIL
    /// released (the core checks its shape).
    fn mask_into(&self, py: Python<'_>, mut out: PyReadwriteArrayDyn<'_, bool>) -> PyResult<()> {
        let shape = out.shape().to_vec();
        let out = out.as_slice_mut().map_err(PyErr::from)?;
        let inner = &self.inner;
        py.detach(|| inner.mask_into(out, &shape)).map_err(to_py)
    }

    /// Appends one id per row.
    fn advance(&mut self, ids: BatchIds<'_>) -> PyResult<()> {
        match &ids {
            BatchIds::Signed(a) => self.inner.advance(slice(a)?),
            BatchIds::Unsigned(a) => self.inner.advance(slice(a)?),
        }
        .map_err(to_py)
    }

    #[getter]
    fn is_complete<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<bool>> {
        PyArray1::from_vec(py, self.inner.is_complete())
    }

    #[getter]
    fn finished<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<bool>> {
        PyArray1::from_vec(py, self.inner.finished())
    }

    fn reset(&mut self) {
        self.inner.reset()
    }

    #[getter]
    fn batch(&self) -> usize {
        self.inner.batch()
    }

    #[getter]
    fn width(&self) -> usize {
        self.inner.width()
    }

    #[getter]
    fn end_id(&self) -> Option<usize> {
        self.inner.end_id()
    }

    #[getter]
    fn time_horizon(&self) -> usize {
        self.inner.table().horizon()
    }

    #[getter]
    fn action_dim(&self) -> usize {
        self.inner.table().dim()
    }
}

/// openpi's map of action ids into a language model's vocabulary (`actok.openpi_vocab_map`).
#[pyfunction]
pub(crate) fn openpi_vocab_map<'py>(
    py: Python<'py>,
    model_vocab_size: usize,
    vocab_len: usize,
    skip: usize,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let map = actok::openpi_vocab_map(model_vocab_size, vocab_len, skip).map_err(to_py)?;
    Ok(PyArray1::from_vec(py, map))
}
