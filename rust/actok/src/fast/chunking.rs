//! Cutting episodes into fixed-horizon action chunks, never across an episode boundary.
//!
//! A policy predicts `H` future actions at every step of an episode; the tokenizer is trained and
//! evaluated on exactly those `(H, D)` windows. A window that ran past the end of one episode into
//! the start of the next would teach the tokenizer (and the policy) a jump that never happens.

use crate::error::{Error, Result};
use crate::options::ChunkPad;

/// Start times of the chunks of an episode of `len` steps.
fn starts(
    len: usize,
    horizon: usize,
    stride: usize,
    pad: ChunkPad,
) -> std::iter::StepBy<std::ops::Range<usize>> {
    let end = match pad {
        ChunkPad::RepeatLast => len,
        ChunkPad::Drop => (len + 1).saturating_sub(horizon),
    };
    (0..end).step_by(stride)
}

/// Number of chunks [`chunk_episodes`] returns for episodes of the given lengths (in steps).
pub fn chunk_count(
    lengths: &[usize],
    horizon: usize,
    stride: usize,
    pad: ChunkPad,
) -> Result<usize> {
    check(horizon, stride)?;
    Ok(lengths
        .iter()
        .map(|&len| starts(len, horizon, stride, pad).len())
        .sum())
}

fn check(horizon: usize, stride: usize) -> Result<()> {
    for (name, value) in [("horizon", horizon), ("stride", stride)] {
        if value < 1 {
            return Err(Error::InvalidArgument(format!(
                "{name} must be a positive int, got {value}"
            )));
        }
    }
    Ok(())
}

/// Cuts episodes into `(H, D)` chunks; returns the chunks row-major `(N, H, D)` and `N`.
///
/// Each episode is a row-major `(T_i, dim)` buffer. Chunks start at `t = 0, stride, 2·stride, …`
/// of each episode and are ordered episode-major, then by start time. See [`ChunkPad`] for the
/// chunks that reach past an episode's end. Fails on `horizon` or `stride` of 0, `dim` of 0, an
/// empty episode, or an episode whose length is not a whole number of rows (naming it).
pub fn chunk_episodes<T: Copy>(
    episodes: &[&[T]],
    dim: usize,
    horizon: usize,
    stride: usize,
    pad: ChunkPad,
) -> Result<(Vec<T>, usize)> {
    check(horizon, stride)?;
    if dim == 0 {
        return Err(Error::InvalidArgument(
            "episodes must have at least one action dimension".into(),
        ));
    }
    let mut lengths = Vec::with_capacity(episodes.len());
    for (e, episode) in episodes.iter().enumerate() {
        if episode.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "episode {e} is empty (0 steps)"
            )));
        }
        if episode.len() % dim != 0 {
            return Err(Error::InvalidArgument(format!(
                "episode {e} has {} values, not a whole number of steps of dim = {dim}",
                episode.len()
            )));
        }
        lengths.push(episode.len() / dim);
    }
    let count = chunk_count(&lengths, horizon, stride, pad)?;
    let total = count
        .checked_mul(horizon)
        .and_then(|n| n.checked_mul(dim))
        .ok_or_else(|| Error::InvalidArgument("the chunks would not fit in memory".into()))?;
    let mut out = Vec::with_capacity(total);
    for (episode, &len) in episodes.iter().zip(&lengths) {
        let last = &episode[(len - 1) * dim..];
        for t in starts(len, horizon, stride, pad) {
            let inside = horizon.min(len - t);
            out.extend_from_slice(&episode[t * dim..(t + inside) * dim]);
            for _ in inside..horizon {
                out.extend_from_slice(last);
            }
        }
    }
    debug_assert_eq!(out.len(), total);
    Ok((out, count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition, written as plainly as possible.
    fn naive(episodes: &[Vec<u32>], horizon: usize, stride: usize, pad: ChunkPad) -> Vec<u32> {
        let mut out = Vec::new();
        for ep in episodes {
            let len = ep.len();
            let mut t = 0;
            while t < len && (pad == ChunkPad::RepeatLast || t + horizon <= len) {
                for h in 0..horizon {
                    out.push(ep[(t + h).min(len - 1)]);
                }
                t += stride;
            }
        }
        out
    }

    #[test]
    fn small_example() {
        let a = [1, 2, 3];
        let (chunks, n) = chunk_episodes(&[&a[..]], 1, 2, 1, ChunkPad::RepeatLast).unwrap();
        assert_eq!((chunks, n), (vec![1, 2, 2, 3, 3, 3], 3));
        let (chunks, n) = chunk_episodes(&[&a[..]], 1, 2, 1, ChunkPad::Drop).unwrap();
        assert_eq!((chunks, n), (vec![1, 2, 2, 3], 2));
        let (chunks, n) = chunk_episodes(&[&a[..]], 1, 5, 1, ChunkPad::Drop).unwrap();
        assert_eq!((chunks.len(), n), (0, 0));
    }

    #[test]
    fn errors_name_the_episode() {
        let a = [1.0, 2.0];
        let e: [f64; 0] = [];
        let err = chunk_episodes(&[&a[..], &e[..]], 1, 2, 1, ChunkPad::Drop).unwrap_err();
        assert!(err.to_string().contains("episode 1 is empty"), "{err}");
        let err = chunk_episodes(&[&a[..]], 1, 0, 1, ChunkPad::Drop).unwrap_err();
        assert!(err.to_string().contains("horizon"), "{err}");
        let err = chunk_episodes(&[&a[..]], 1, 1, 0, ChunkPad::Drop).unwrap_err();
        assert!(err.to_string().contains("stride"), "{err}");
        let b = [1.0, 2.0, 3.0];
        let err = chunk_episodes(&[&a[..], &b[..]], 2, 1, 1, ChunkPad::Drop).unwrap_err();
        assert!(err.to_string().contains("episode 1 has 3 values"), "{err}");
    }

    proptest! {
        #[test]
        fn matches_the_definition(
            lengths in proptest::collection::vec(1usize..30, 1..6),
            horizon in 1usize..12,
            stride in 1usize..6,
            drop in any::<bool>(),
        ) {
            let pad = if drop { ChunkPad::Drop } else { ChunkPad::RepeatLast };
            let mut next = 0u32;
            let episodes: Vec<Vec<u32>> = lengths
                .iter()
                .map(|&len| (0..len).map(|_| { next += 1; next }).collect())
                .collect();
            let views: Vec<&[u32]> = episodes.iter().map(Vec::as_slice).collect();
            let (chunks, n) = chunk_episodes(&views, 1, horizon, stride, pad).unwrap();
            prop_assert_eq!(chunks.len(), n * horizon);
            prop_assert_eq!(&chunks, &naive(&episodes, horizon, stride, pad));
        }
    }
}
