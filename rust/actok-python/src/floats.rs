//! The two element types the core computes on (`f32`, `f64`), and the one place a numpy array of
//! either is turned into a slice or back.
//!
//! The Python package hands over native C-contiguous float32/float64 arrays; [`dispatch!`] runs
//! one generic body on whichever arrived, so no call site writes the two cases out.

use numpy::ndarray::{Dimension, IxDyn};
use numpy::{
    Element, PyArray, PyArrayDescr, PyArrayDescrMethods, PyArrayMethods, PyReadonlyArray,
    PyReadonlyArrayDyn, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::prelude::*;

use crate::errors::ActokError;

/// A value for each of the two float element types.
pub(crate) enum Floats<A, B> {
    /// float32 data.
    F32(A),
    /// float64 data.
    F64(B),
}

/// A borrowed float32 or float64 numpy array.
pub(crate) type FloatArray<'py> =
    Floats<PyReadonlyArrayDyn<'py, f32>, PyReadonlyArrayDyn<'py, f64>>;

/// Borrowed float arrays that share one element type (episodes).
pub(crate) type FloatArrays<'py> =
    Floats<Vec<PyReadonlyArrayDyn<'py, f32>>, Vec<PyReadonlyArrayDyn<'py, f64>>>;

/// Runs `$body` with `$name` bound to the inner value of a [`Floats`], whichever type it holds.
macro_rules! dispatch {
    ($floats:expr, |$name:ident| $body:expr) => {
        match $floats {
            $crate::floats::Floats::F32($name) => $body,
            $crate::floats::Floats::F64($name) => $body,
        }
    };
}
pub(crate) use dispatch;

impl<'a, 'py> FromPyObject<'a, 'py> for FloatArray<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        // By dtype first: a failed extraction builds an error, which costs about as much as
        // encoding a chunk.
        let dtype = obj.cast::<PyUntypedArray>().map(|a| a.dtype()).ok();
        let is = |d: Bound<'py, PyArrayDescr>| dtype.as_ref().is_some_and(|t| t.is_equiv_to(&d));
        if is(numpy::dtype::<f64>(obj.py())) {
            Ok(Floats::F64(obj.extract()?))
        } else if is(numpy::dtype::<f32>(obj.py())) {
            Ok(Floats::F32(obj.extract()?))
        } else {
            Err(ActokError::new_err(
                "expected a float32 or float64 numpy array",
            ))
        }
    }
}

impl<'py> FloatArrays<'py> {
    /// Arrays that all have the element type of the first (the Python side unified them).
    pub(crate) fn extract_all(items: &[Bound<'py, PyAny>]) -> PyResult<Self> {
        fn all<'py, T: Element>(
            items: &[Bound<'py, PyAny>],
        ) -> PyResult<Vec<PyReadonlyArrayDyn<'py, T>>> {
            items
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    x.extract().map_err(|_| {
                        ActokError::new_err(format!(
                            "episode {i} does not have episode 0's float dtype \
                             (episodes must share one float dtype)"
                        ))
                    })
                })
                .collect()
        }
        let first_is_f32 = items
            .first()
            .is_some_and(|x| x.extract::<PyReadonlyArrayDyn<'py, f32>>().is_ok());
        Ok(if first_is_f32 {
            Floats::F32(all(items)?)
        } else {
            Floats::F64(all(items)?)
        })
    }
}

/// The array's elements as a slice (the Python side passes C-contiguous arrays).
pub(crate) fn slice<'a, T: Element, D: Dimension>(
    a: &'a PyReadonlyArray<'_, T, D>,
) -> PyResult<&'a [T]> {
    a.as_slice().map_err(|e| ActokError::new_err(e.to_string()))
}

/// The elements and the shapes of a list of arrays.
pub(crate) type Parts<'a, T> = (Vec<&'a [T]>, Vec<&'a [usize]>);

/// The slices and shapes of a list of arrays.
pub(crate) fn slices<'a, T: Element>(
    arrays: &'a [PyReadonlyArrayDyn<'_, T>],
) -> PyResult<Parts<'a, T>> {
    let data = arrays.iter().map(slice).collect::<PyResult<Vec<_>>>()?;
    let shapes = arrays.iter().map(|a| a.shape()).collect();
    Ok((data, shapes))
}

/// A new numpy array owning `data`, of shape `shape`.
pub(crate) fn to_numpy<'py, T: Element>(
    py: Python<'py>,
    data: Vec<T>,
    shape: &[usize],
) -> PyResult<Bound<'py, PyAny>> {
    Ok(PyArray::from_vec(py, data)
        .reshape(IxDyn(shape))?
        .into_any())
}

/// The shape of a `(B, H, D)` array, or an error naming how many dimensions it has.
pub(crate) fn batch_shape(shape: &[usize], what: &str, axes: &str) -> PyResult<[usize; 3]> {
    shape.try_into().map_err(|_| {
        ActokError::new_err(format!(
            "{what} must have shape {axes}, got {} dimensions",
            shape.len()
        ))
    })
}
