//! actok's own thread pool: sized by the caller or `ACTOK_NUM_THREADS`, and safe after `fork`.
//!
//! actok never uses rayon's global pool, so it neither fights the host application for it nor
//! inherits its size. With one thread, work runs inline on the calling thread (no pool at all).
//! The pool remembers the process id that built it: a child process created by `fork` (as PyTorch
//! `DataLoader` workers are) finds the id changed and builds a fresh pool instead of waiting
//! forever on threads that did not survive the fork.

use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};

use crate::error::{Error, Result};

/// Environment variable that sets the default number of worker threads (`1` disables parallelism).
pub const NUM_THREADS_ENV: &str = "ACTOK_NUM_THREADS";

struct PoolState {
    /// Explicitly requested thread count (`None`: environment or core count).
    requested: Option<usize>,
    /// The pool, with the thread count and process id it was built for.
    pool: Option<(Arc<ThreadPool>, usize, u32)>,
}

static STATE: Mutex<PoolState> = Mutex::new(PoolState {
    requested: None,
    pool: None,
});

fn lock() -> std::sync::MutexGuard<'static, PoolState> {
    STATE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn default_threads() -> Result<usize> {
    match std::env::var(NUM_THREADS_ENV) {
        Ok(text) => match text.trim().parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(Error::InvalidArgument(format!(
                "{NUM_THREADS_ENV}={text:?} is not a positive integer"
            ))),
        },
        Err(_) => Ok(available_cores()),
    }
}

/// `available_parallelism`, read once: on Linux it parses cgroup files, about 50 µs, which every
/// batch call paid before.
fn available_cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The number of threads actok's batch functions use.
pub fn num_threads() -> Result<usize> {
    match lock().requested {
        Some(n) => Ok(n),
        None => default_threads(),
    }
}

/// Sets the number of threads for all later calls; `None` restores the default
/// (`ACTOK_NUM_THREADS`, else the number of available cores).
pub fn set_num_threads(threads: Option<usize>) -> Result<()> {
    if threads == Some(0) {
        return Err(Error::InvalidArgument(
            "the number of threads must be at least 1".into(),
        ));
    }
    lock().requested = threads;
    Ok(())
}

/// The pool to run on, or `None` to run inline.
fn pool() -> Result<Option<Arc<ThreadPool>>> {
    let mut state = lock();
    let threads = match state.requested {
        Some(n) => n,
        None => default_threads()?,
    };
    if threads <= 1 {
        return Ok(None);
    }
    let pid = std::process::id();
    if let Some((pool, built_threads, built_pid)) = &state.pool {
        if *built_threads == threads && *built_pid == pid {
            return Ok(Some(pool.clone()));
        }
    }
    let pool = ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("actok-{i}"))
        .build()
        .map_err(|e| Error::InvalidArgument(format!("cannot start {threads} threads: {e}")))?;
    let pool = Arc::new(pool);
    // After a fork the old pool's threads do not exist in this process; dropping the handle would
    // try to join them, so it is leaked instead.
    if let Some((old, _, old_pid)) = state.pool.take() {
        if old_pid != pid {
            std::mem::forget(old);
        }
    }
    state.pool = Some((pool.clone(), threads, pid));
    Ok(Some(pool))
}

/// Items per rayon job in [`map_init`]: about four jobs per thread. Every job makes its own
/// `state` (buffers that then grow on first use), so letting rayon split down to single items
/// made small batches slower on two threads than on one.
fn min_len(n: usize, threads: usize) -> usize {
    (n / (4 * threads.max(1))).max(1)
}

/// Fewer values than this in a batch (chunks × H × D) are processed on the calling thread:
/// waking the pool and splitting the work costs tens of microseconds, more than a small batch
/// takes (64 chunks of 10×2 encoded 3× slower on two threads than on one).
pub(crate) const MIN_PARALLEL_VALUES: usize = 1 << 15;

/// The smallest number of items of `values_per_item` values each worth spreading over threads.
pub(crate) fn min_parallel_items(values_per_item: usize) -> usize {
    (MIN_PARALLEL_VALUES / values_per_item.max(1)).max(2)
}

/// Calls `f(state, i)` for `i in 0..n`, in parallel when `n >= min_parallel` (and more than one
/// thread is configured), and returns the results in order; each worker thread gets its own
/// `state` made by `init` (reusable buffers).
pub(crate) fn map_init<R, S, I, F>(n: usize, min_parallel: usize, init: I, f: F) -> Result<Vec<R>>
where
    R: Send,
    I: Fn() -> S + Sync + Send,
    F: Fn(&mut S, usize) -> R + Sync + Send,
{
    match if n > 1 && n >= min_parallel {
        pool()?
    } else {
        None
    } {
        None => {
            let mut state = init();
            Ok((0..n).map(|i| f(&mut state, i)).collect())
        }
        Some(pool) => Ok(pool.install(|| {
            (0..n)
                .into_par_iter()
                .with_min_len(min_len(n, pool.current_num_threads()))
                .map_init(&init, &f)
                .collect()
        })),
    }
}

/// Calls `f(state, range)` for consecutive ranges covering `0..n` and returns the results in
/// order: one range on the calling thread when `n < min_parallel` (or one thread is configured),
/// else ranges of [`min_len`] items spread over the pool, each worker thread with its own `state`
/// made by `init`. For work whose results are best gathered per range (one buffer for many
/// items) rather than per item.
pub(crate) fn map_ranges<R, S, I, F>(n: usize, min_parallel: usize, init: I, f: F) -> Result<Vec<R>>
where
    R: Send,
    I: Fn() -> S + Sync + Send,
    F: Fn(&mut S, std::ops::Range<usize>) -> R + Sync + Send,
{
    match if n > 1 && n >= min_parallel {
        pool()?
    } else {
        None
    } {
        None => Ok(vec![f(&mut init(), 0..n)]),
        Some(pool) => {
            let len = min_len(n, pool.current_num_threads());
            Ok(pool.install(|| {
                (0..n.div_ceil(len))
                    .into_par_iter()
                    .map_init(&init, |state, r| f(state, r * len..((r + 1) * len).min(n)))
                    .collect()
            }))
        }
    }
}

/// Calls `f(state, i, block)` for each consecutive `block_len`-sized block of `out`, in parallel
/// when there are at least `min_parallel` blocks; each worker thread gets its own `state` made by
/// `init` (reusable buffers).
pub(crate) fn for_each_block<U, S, I, F>(
    out: &mut [U],
    block_len: usize,
    min_parallel: usize,
    init: I,
    f: F,
) -> Result<()>
where
    U: Send,
    I: Fn() -> S + Sync + Send,
    F: Fn(&mut S, usize, &mut [U]) + Sync + Send,
{
    if block_len == 0 {
        return Ok(());
    }
    let blocks = out.len() / block_len;
    match if blocks > 1 && blocks >= min_parallel {
        pool()?
    } else {
        None
    } {
        None => {
            let mut state = init();
            out.chunks_mut(block_len)
                .enumerate()
                .for_each(|(i, b)| f(&mut state, i, b))
        }
        Some(pool) => pool.install(|| {
            // No minimum job size here: the trainer's blocks are large and unevenly loaded, so
            // rayon's finest split balances them best.
            out.par_chunks_mut(block_len)
                .enumerate()
                .for_each_init(&init, |state, (i, b)| f(state, i, b))
        }),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_keeps_order_for_any_thread_count() {
        for threads in [Some(1), Some(2), Some(3), None] {
            set_num_threads(threads).unwrap();
            let v = map_init(1000, 2, || 1, |one, i| i * 2 * *one).unwrap();
            assert_eq!(v, (0..1000).map(|i| i * 2).collect::<Vec<_>>());
        }
        set_num_threads(None).unwrap();
    }

    #[test]
    fn ranges_cover_everything_in_order_for_any_thread_count() {
        for threads in [Some(1), Some(2), Some(3), None] {
            set_num_threads(threads).unwrap();
            for n in [0, 1, 2, 7, 1000] {
                let ranges = map_ranges(n, 2, || (), |_, r| r).unwrap();
                let items: Vec<usize> = ranges.iter().flat_map(|r| r.clone()).collect();
                assert_eq!(
                    items,
                    (0..n).collect::<Vec<_>>(),
                    "{threads:?} threads, n={n}"
                );
                assert!(ranges.iter().all(|r| !r.is_empty()) || n == 0);
            }
        }
        set_num_threads(None).unwrap();
    }

    #[test]
    fn zero_threads_rejected() {
        assert!(set_num_threads(Some(0)).is_err());
    }
}
