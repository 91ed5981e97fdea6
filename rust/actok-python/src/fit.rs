//! Bindings for `FastTokenizer.fit`: argument conversion, the GIL released during the fit, and a
//! progress bar on stderr driven by the core's progress callback.

use std::io::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actok::{FastTokenizer, FitAlphabet, FitOptions, FitProgress, FitStage};
use numpy::{PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;

use crate::{to_py, ActokError, PyFastTokenizer};

/// A text progress bar on stderr, redrawn at most ten times a second.
struct Bar {
    state: Mutex<(Option<FitStage>, Instant)>,
    start: Instant,
}

impl Bar {
    fn new() -> Self {
        let start = Instant::now();
        Self {
            state: Mutex::new((None, start)),
            start,
        }
    }

    fn update(&self, p: FitProgress) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let new_stage = state.0 != Some(p.stage);
        let finished = p.done >= p.total;
        if !new_stage && !finished && now.duration_since(state.1) < Duration::from_millis(100) {
            return;
        }
        if new_stage && state.0.is_some() {
            eprintln!();
        }
        *state = (Some(p.stage), now);
        let label = match p.stage {
            FitStage::Range => "range  ",
            FitStage::Pieces => "pieces ",
            FitStage::Merges => "merges ",
        };
        let width = 30usize;
        let filled = if p.total == 0 {
            width
        } else {
            ((p.done.min(p.total) as f64 / p.total as f64) * width as f64) as usize
        };
        eprint!(
            "\ractok fit {label}[{}{}] {}/{} {:.1}s",
            "#".repeat(filled),
            " ".repeat(width - filled),
            p.done,
            p.total,
            self.start.elapsed().as_secs_f64()
        );
        let _ = std::io::stderr().flush();
    }
}

/// Fits a FAST tokenizer to `chunks`, a C-contiguous float32/float64 `(N, H, D)` array.
#[pyfunction]
#[pyo3(signature = (chunks, scale, vocab_size, alphabet, min_frequency, max_token_length, progress))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn _fit(
    py: Python<'_>,
    chunks: &Bound<'_, PyAny>,
    scale: f64,
    vocab_size: usize,
    alphabet: &str,
    min_frequency: u64,
    max_token_length: usize,
    progress: bool,
) -> PyResult<PyFastTokenizer> {
    let alphabet = match alphabet {
        "lossless" => FitAlphabet::Lossless,
        "reference" => FitAlphabet::Reference,
        other => {
            return Err(ActokError::new_err(format!(
                "alphabet must be \"lossless\" or \"reference\", got {other:?}"
            )))
        }
    };
    let options = FitOptions {
        scale,
        vocab_size,
        alphabet,
        min_frequency,
        max_token_length,
    };
    let bar = progress.then(Bar::new);
    let report = |p: FitProgress| {
        if let Some(bar) = &bar {
            bar.update(p)
        }
    };
    let callback: Option<&(dyn Fn(FitProgress) + Sync)> =
        if progress { Some(&report) } else { None };
    let shape_of = |s: &[usize]| -> PyResult<[usize; 3]> {
        s.try_into().map_err(|_| {
            ActokError::new_err(format!(
                "chunks must have shape (N, H, D), got {} dimensions",
                s.len()
            ))
        })
    };
    let result = if let Ok(a) = chunks.extract::<PyReadonlyArrayDyn<'_, f64>>() {
        let shape = shape_of(a.shape())?;
        let data = a
            .as_slice()
            .map_err(|e| ActokError::new_err(e.to_string()))?;
        py.detach(|| FastTokenizer::fit(data, shape, &options, callback))
    } else if let Ok(a) = chunks.extract::<PyReadonlyArrayDyn<'_, f32>>() {
        let shape = shape_of(a.shape())?;
        let data = a
            .as_slice()
            .map_err(|e| ActokError::new_err(e.to_string()))?;
        py.detach(|| FastTokenizer::fit(data, shape, &options, callback))
    } else {
        return Err(ActokError::new_err(
            "chunks must be a float32 or float64 numpy array",
        ));
    };
    if progress {
        eprintln!();
    }
    Ok(PyFastTokenizer::wrap(result.map_err(to_py)?))
}
