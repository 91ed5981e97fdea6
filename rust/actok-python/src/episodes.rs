//! `chunk_episodes`: a list of episode arrays converted, the chunking done by the core.

use actok::ChunkPad;
use pyo3::prelude::*;

use crate::errors::to_py;
use crate::floats::{dispatch, slices, to_numpy, FloatArrays};
use crate::options::Opt;

/// Cuts a list of `(T_i, D)` arrays of one float dtype into `(N, H, D)` chunks.
#[pyfunction]
#[pyo3(signature = (episodes, horizon, stride, pad))]
fn chunk_episodes<'py>(
    py: Python<'py>,
    episodes: Vec<Bound<'py, PyAny>>,
    horizon: usize,
    stride: usize,
    pad: Opt<ChunkPad>,
) -> PyResult<Bound<'py, PyAny>> {
    let arrays = FloatArrays::extract_all(&episodes)?;
    dispatch!(&arrays, |a| {
        let (data, shapes) = slices(a)?;
        let (chunks, dim, n) = py
            .detach(|| {
                let dim = actok::episodes_dim(&shapes)?;
                actok::chunk_episodes(&data, dim, horizon, stride, pad.0).map(|(c, n)| (c, dim, n))
            })
            .map_err(to_py)?;
        to_numpy(py, chunks, &[n, horizon, dim])
    })
}

/// Adds `chunk_episodes` to the extension module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(chunk_episodes, m)?)
}
