//! `encode`'s id lists, built while the rest of the batch is still being encoded.
//!
//! The lists are Python objects, so they are built with the GIL held, on one thread. Built after
//! the whole encode, that was serial time the pool sat idle through: about a tenth of a 50×14
//! batch's single-thread time, a quarter of a 10×2 batch's, which capped the speed-up from
//! threads well below their count. On more than one thread a large batch is therefore encoded in
//! slices, in order, by a helper thread (which runs each slice on the pool), while this thread
//! turns each finished slice into lists. The ids, errors (the lowest failing chunk, named by its
//! index in the batch) and clipping counts are those of one call
//! ([`FastTokenizer::encode_rows_in`]).

use std::sync::mpsc;

use actok::{EncodeOptions, EncodedRows, FastTokenizer, Sample};
use pyo3::prelude::*;
use pyo3::types::{PyInt, PyList};

use crate::errors::to_py;
use crate::gc_pause::{without_gc, MIN_LISTS};

/// Slices per batch when encoding overlaps list building: the first slice's encode and the
/// last one's lists are not overlapped, an eighth each.
const SLICES: usize = 8;
/// The fewest chunks in a slice: each slice costs a wake-up of the pool (tens of µs), and a
/// batch of fewer than two such slices has little list building to hide.
const MIN_SLICE: usize = 128;

/// The chunks per slice for a batch of `batch` chunks of `chunk_len` values on `threads`
/// threads, or `None` to encode it in one call (one thread: the caller asked for one core; or a
/// small batch). A slice is never too small for the pool
/// ([`actok::min_parallel_items`]): a smaller one would run on the helper thread, a new thread
/// every call, whose buffers and pair memo start cold.
fn slice_len(batch: usize, chunk_len: usize, threads: usize) -> Option<usize> {
    let min_slice = MIN_SLICE.max(actok::min_parallel_items(chunk_len));
    if threads < 2 || batch < 2 * min_slice {
        return None;
    }
    Some(batch.div_ceil(SLICES).max(min_slice))
}

/// Encodes the `shape` batch `data` into one list of ids per chunk (`ints[id]` is the Python int
/// of each id), and the values the normalizer clipped per dimension.
pub(crate) fn encode_to_lists<'py, T: Sample + Sync>(
    py: Python<'py>,
    tok: &FastTokenizer,
    ints: &[Py<PyInt>],
    data: &[T],
    shape: [usize; 3],
    options: EncodeOptions,
) -> PyResult<(Bound<'py, PyList>, Vec<u64>)> {
    let threads = actok::num_threads().map_err(to_py)?;
    let Some(slice) = slice_len(shape[0], shape[1] * shape[2], threads) else {
        let encoded = py
            .detach(|| tok.encode_rows(data, shape, options))
            .map_err(to_py)?;
        let mut lists = Vec::with_capacity(encoded.rows.len());
        let pause = encoded.rows.len() >= MIN_LISTS;
        append_lists(py, ints, &encoded, pause, &mut lists)?;
        return Ok((PyList::new(py, lists)?, encoded.clipped));
    };
    let batch = shape[0];
    std::thread::scope(|scope| {
        // One slice ahead: the helper encodes the next slice while this thread builds lists.
        let (done, finished) = mpsc::sync_channel(1);
        scope.spawn(move || {
            for start in (0..batch).step_by(slice) {
                let part =
                    tok.encode_rows_in(data, shape, start..(start + slice).min(batch), options);
                let failed = part.is_err();
                // A closed channel: this thread stopped early (an error); nothing more is wanted.
                if done.send(part).is_err() || failed {
                    return;
                }
            }
        });
        let mut lists = Vec::with_capacity(batch);
        let mut clipped = Vec::new();
        let mut finished = finished;
        loop {
            // Waiting without the GIL: other Python threads run meanwhile. (The receiver moves
            // in and back out: it may be used by one thread at a time, not shared.) The
            // channel closes when the helper has sent every slice.
            let (next, receiver) = py.detach(move || (finished.recv(), finished));
            finished = receiver;
            let Ok(part) = next else { break };
            let part = part.map_err(to_py)?;
            add_counts(&mut clipped, &part.clipped);
            // Paused per slice, whatever its size: the collector must run normally while the
            // GIL is released between slices (other threads' garbage), so at most one
            // collection starts after each slice, which walks that slice's lists once.
            append_lists(py, ints, &part, true, &mut lists)?;
        }
        Ok((PyList::new(py, lists)?, clipped))
    })
}

/// Appends one list per row of `encoded` to `lists`, with the collector paused if `pause`
/// ([`without_gc`]).
fn append_lists<'py>(
    py: Python<'py>,
    ints: &[Py<PyInt>],
    encoded: &EncodedRows,
    pause: bool,
    lists: &mut Vec<Bound<'py, PyList>>,
) -> PyResult<()> {
    let mut build = || {
        for row in encoded.rows.iter() {
            // Every id the encoder emits is below vocab_len, the length of `ints`.
            lists.push(PyList::new(
                py,
                row.iter().map(|&id| ints[id as usize].bind(py)),
            )?);
        }
        Ok(())
    };
    if pause {
        without_gc(py, build)
    } else {
        build()
    }
}

/// Adds per-dimension clipping `counts` (empty: none) into `totals`, which stay empty until
/// something was clipped.
fn add_counts(totals: &mut Vec<u64>, counts: &[u64]) {
    if counts.is_empty() {
        return;
    }
    totals.resize(counts.len(), 0);
    for (total, n) in totals.iter_mut().zip(counts) {
        *total += n;
    }
}
