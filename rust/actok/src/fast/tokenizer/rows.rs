//! Encoded chunks in one buffer: [`FastTokenizer::encode_rows`], the encode the bindings and
//! the padded encode build on.
//!
//! One `Vec` per chunk cost an allocation and a free per chunk, with hundreds of thousands of
//! them alive at once (so the allocator's slow paths), and its capacity guess was wrong both
//! ways (a fifth of it used on smooth 50×14 chunks, too small for short token-heavy ones). Here
//! each range of chunks a thread encodes appends to one buffer.

use super::{EncodeOptions, FastTokenizer, TakenEncodeBuffers};
use crate::error::Result;
use crate::fast::pipeline::ChunkPipeline;
use crate::parallel;
use crate::sample::Sample;
use crate::token_id::TokenId;

/// Token ids of a batch in one buffer: row `b` is `ids[ends[b - 1]..ends[b]]` (from 0 for the
/// first).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenRows {
    ids: Vec<TokenId>,
    ends: Vec<usize>,
}

impl TokenRows {
    /// The number of rows (chunks).
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Row `b`'s ids, or `None` past the last row.
    pub fn get(&self, b: usize) -> Option<&[TokenId]> {
        let end = *self.ends.get(b)?;
        let start = if b == 0 { 0 } else { self.ends[b - 1] };
        Some(&self.ids[start..end])
    }

    /// The rows in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[TokenId]> + '_ {
        (0..self.ends.len()).map(|b| {
            let start = if b == 0 { 0 } else { self.ends[b - 1] };
            &self.ids[start..self.ends[b]]
        })
    }

    /// Every id of every row, rows one after another.
    pub fn ids(&self) -> &[TokenId] {
        &self.ids
    }

    /// One `Vec` per row.
    pub fn to_nested(&self) -> Vec<Vec<TokenId>> {
        self.iter().map(<[TokenId]>::to_vec).collect()
    }

    /// Appends `other`'s rows after these.
    fn append(&mut self, other: TokenRows) {
        let offset = self.ids.len();
        self.ids.extend_from_slice(&other.ids);
        self.ends.extend(other.ends.iter().map(|&end| end + offset));
    }
}

/// [`FastTokenizer::encode_rows`]'s result.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncodedRows {
    /// One row of ids per chunk.
    pub rows: TokenRows,
    /// How many input values the attached normalizer clipped, per action dimension: empty
    /// when none was (always, unless its policy is [`crate::OutOfRange::Clip`]).
    pub clipped: Vec<u64>,
}

impl FastTokenizer {
    /// [`FastTokenizer::encode_counted`] with the ids of all chunks in one buffer
    /// ([`TokenRows`]): the same ids, errors and clipping counts, without a `Vec` per chunk.
    pub fn encode_rows<T: Sample>(
        &self,
        actions: &[T],
        shape: [usize; 3],
        options: impl Into<EncodeOptions>,
    ) -> Result<EncodedRows> {
        let options = options.into();
        let [batch, horizon, dim] = shape;
        let chunk_len = self.check_encode(actions.len(), shape, options)?;
        if batch == 0 {
            return Ok(EncodedRows::default());
        }
        let pipeline =
            ChunkPipeline::new(horizon, dim, self.config.scale, self.normalizer.as_ref())?;
        let min_parallel = parallel::min_parallel_items(chunk_len);
        let parts = parallel::map_ranges(
            batch,
            min_parallel,
            TakenEncodeBuffers::take,
            |taken, range| -> Result<EncodedRows> {
                let buffers = &mut taken.0;
                let mut part = EncodedRows::default();
                part.rows.ends.reserve_exact(range.len());
                for b in range {
                    let chunk = &actions[b * chunk_len..(b + 1) * chunk_len];
                    let ids = &mut part.rows.ids;
                    self.encode_chunk(chunk, b, &pipeline, options.overflow, buffers, ids)?;
                    part.rows.ends.push(part.rows.ids.len());
                    add_counts(&mut part.clipped, &buffers.chunk.clipped, dim);
                }
                Ok(part)
            },
        )?;
        // Ranges are in order and each stops at its first failing chunk, so the first error
        // met is the lowest chunk's, as [`FastTokenizer::encode`] promises.
        let mut parts = parts.into_iter();
        let mut encoded = parts.next().expect("a batch of at least one chunk")?;
        for part in parts {
            let part = part?;
            encoded.rows.append(part.rows);
            add_counts(&mut encoded.clipped, &part.clipped, dim);
        }
        Ok(encoded)
    }
}

/// Adds per-dimension clipping `counts` (empty: none) into `totals`, which stay empty until
/// something was clipped and then hold `dim` counts.
fn add_counts(totals: &mut Vec<u64>, counts: &[u64], dim: usize) {
    if counts.is_empty() {
        return;
    }
    totals.resize(dim, 0);
    for (total, n) in totals.iter_mut().zip(counts) {
        *total += n;
    }
}
