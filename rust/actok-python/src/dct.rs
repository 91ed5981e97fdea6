//! `scipy.fft.dct` / `idct` along one axis: the array converted, the transform run by the core.

use actok::dct::{DctSpec, DctType, Norm};
use numpy::PyUntypedArrayMethods;
use pyo3::prelude::*;

use crate::errors::to_py;
use crate::floats::{dispatch, slice, to_numpy, FloatArray};
use crate::options::Opt;

/// `scipy.fft.dct`/`idct` of types 2 and 3 along `axis` (negative counts from the end) of a
/// C-contiguous float32/float64 array; `norm=None` is `"backward"`, as in scipy.
#[pyfunction]
#[pyo3(signature = (x, axis, kind, norm, orthogonalize, inverse))]
fn transform<'py>(
    py: Python<'py>,
    x: FloatArray<'py>,
    axis: isize,
    kind: i64,
    norm: Option<Opt<Norm>>,
    orthogonalize: Option<bool>,
    inverse: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let kind = DctType::from_number(kind).map_err(to_py)?;
    let norm = norm.map_or(Norm::Backward, |n| n.0);
    let spec = if inverse {
        DctSpec::idct(kind, norm, orthogonalize)
    } else {
        DctSpec::dct(kind, norm, orthogonalize)
    };
    dispatch!(&x, |a| {
        let shape = a.shape().to_vec();
        let input = slice(a)?;
        let mut output = input.to_vec();
        py.detach(|| actok::dct::transform_along(spec, input, &mut output, &shape, axis))
            .map_err(to_py)?;
        to_numpy(py, output, &shape)
    })
}

/// Adds the transform to the extension module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(transform, m)?)
}
