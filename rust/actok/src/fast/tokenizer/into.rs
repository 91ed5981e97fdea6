//! Encoding and decoding into buffers the caller owns: the entry points of embedders (the C ABI)
//! and of real-time loops.
//!
//! Same semantics, checks and messages as [`FastTokenizer::encode`] and
//! [`FastTokenizer::decode_padded`]; what differs is where results go and what is allocated.
//! A batch too small for the pool (always a batch of one) runs on the calling thread, and every
//! per-thread buffer is first reserved to the worst case of the call's shape, so that after one
//! call with a given tokenizer and shape on a thread, later successful calls with that shape on
//! that thread allocate nothing, whatever the values or ids (a failing call allocates its error
//! message). Larger batches run on actok's pool, whose bookkeeping allocates.

use super::{DecodeBuffers, EncodeBuffers, DECODE_BUFFERS};
use super::{FastTokenizer, ENCODE_BUFFERS};
use crate::bpe::reserve_total;
use crate::dct::inverse::{as_uninit, InverseDct};
use crate::error::{Error, Result};
use crate::fast::pipeline::ChunkPipeline;
use crate::options::{OnDecodeError, Overflow};
use crate::parallel;
use crate::sample::Sample;
use crate::token_id::{InputId, TokenId};

use super::EncodeOptions;

impl FastTokenizer {
    /// A row width that always suffices for the ids of one `(horizon, dim)` chunk
    /// ([`FastTokenizer::encode_into`]'s `stride`): every id stands for at least one byte, and a
    /// coefficient's character has at most as many UTF-8 bytes as the vocabulary's longest lead
    /// byte allows (2 for FAST's usual vocabularies, at most 4). `None` when the product
    /// overflows `usize`.
    pub fn max_tokens(&self, horizon: usize, dim: usize) -> Option<usize> {
        horizon
            .checked_mul(dim)?
            .checked_mul(self.range.max_char_bytes())
    }

    /// [`FastTokenizer::encode_counted`] into rows the caller owns: chunk `b`'s ids go to
    /// `ids[b·stride ..]` and their count to `lengths[b]`; returns how many values the
    /// normalizer clipped (0 unless its policy is [`crate::OutOfRange::Clip`]).
    ///
    /// `ids` must hold `B·stride` values and `lengths` `B`. A chunk with more than `stride` ids
    /// is an [`Error::InvalidArgument`] naming it (never written past its row);
    /// [`FastTokenizer::max_tokens`] is a width that always suffices. On failure the rows before
    /// the failing chunk are written and the others unspecified. Allocation: see the module docs
    /// (after one call with this shape on the thread, a batch below the pool's threshold — any
    /// batch of one — allocates nothing).
    pub fn encode_into<T: Sample>(
        &self,
        actions: &[T],
        shape: [usize; 3],
        options: impl Into<EncodeOptions>,
        ids: &mut [TokenId],
        stride: usize,
        lengths: &mut [usize],
    ) -> Result<u64> {
        let options = options.into();
        let [batch, horizon, dim] = shape;
        let chunk_len = self.check_encode(actions.len(), shape, options)?;
        if lengths.len() != batch {
            return Err(Error::InvalidArgument(format!(
                "lengths holds {} entries for a batch of {batch} chunks",
                lengths.len()
            )));
        }
        if batch.checked_mul(stride) != Some(ids.len()) {
            return Err(Error::InvalidArgument(format!(
                "ids holds {} values, not {batch} rows of {stride} (batch × stride)",
                ids.len()
            )));
        }
        if batch == 0 {
            return Ok(0);
        }
        let pipeline =
            ChunkPipeline::new(horizon, dim, self.config.scale, self.normalizer.as_ref())?;
        let encode_row = |buffers: &mut EncodeBuffers,
                          b: usize,
                          row: &mut [TokenId],
                          length: &mut usize|
         -> Result<u64> {
            self.prepare_encode(buffers, horizon, dim, options.overflow);
            let chunk = &actions[b * chunk_len..(b + 1) * chunk_len];
            let mut out = std::mem::take(&mut buffers.ids);
            out.clear();
            let done = self.encode_chunk(chunk, b, &pipeline, options.overflow, buffers, &mut out);
            let count = out.len();
            if done.is_ok() && count <= row.len() {
                row[..count].copy_from_slice(&out);
                *length = count;
            }
            buffers.ids = out;
            done?;
            if count > row.len() {
                return Err(Error::InvalidArgument(format!(
                    "chunk {b} encodes to {count} ids, more than the {stride} its row holds \
                     (ids are never truncated; a row of max_tokens({horizon}, {dim}) = {} ids \
                     always suffices)",
                    self.max_tokens(horizon, dim).unwrap_or(usize::MAX)
                )));
            }
            Ok(buffers.chunk.clipped.iter().sum())
        };
        if batch < parallel::min_parallel_items(chunk_len) {
            return ENCODE_BUFFERS.with_borrow_mut(|buffers| {
                let mut clipped = 0;
                for (b, length) in lengths.iter_mut().enumerate() {
                    let row = &mut ids[b * stride..(b + 1) * stride];
                    clipped += encode_row(buffers, b, row, length)?;
                }
                Ok(clipped)
            });
        }
        let mut slots: Vec<(&mut [TokenId], &mut usize, Result<u64>)> = ids
            .chunks_mut(stride.max(1))
            .chain(std::iter::repeat_with(|| &mut [][..]))
            .zip(lengths.iter_mut())
            .map(|(row, length)| (row, length, Ok(0)))
            .collect();
        parallel::for_each_block(
            &mut slots,
            1,
            2,
            || (),
            |_, b, slot| {
                let (row, length, result) = &mut slot[0];
                *result = ENCODE_BUFFERS
                    .with_borrow_mut(|buffers| encode_row(buffers, b, &mut row[..stride], length));
            },
        )?;
        let mut clipped = 0;
        for (_, _, result) in slots {
            clipped += result?;
        }
        Ok(clipped)
    }

    /// Reserves this thread's encode buffers for `(horizon, dim)` chunks (module docs).
    fn prepare_encode(
        &self,
        buffers: &mut EncodeBuffers,
        horizon: usize,
        dim: usize,
        overflow: Overflow,
    ) {
        let bytes = self.max_tokens(horizon, dim).unwrap_or(0);
        buffers.chunk.reserve(horizon, dim);
        self.bpe.reserve(&mut buffers.bpe, bytes);
        reserve_total(&mut buffers.ids, bytes);
        if overflow == Overflow::Clip {
            self.range.prepare_nearest();
        }
    }

    /// [`FastTokenizer::decode_padded`] into actions the caller owns (`f32` or `f64`): row `b`
    /// of `ids` starts at `b·stride` and holds `lengths[b]` ids; chunk `b` goes to
    /// `actions[b·H·D ..]` and, when `valid` is given, whether it decoded without repair to
    /// `valid[b]`.
    ///
    /// `ids` must hold `B·stride` values, `actions` `B·H·D` and `valid` `B`, with `B =
    /// lengths.len()`; a length above `stride` is an [`Error::InvalidArgument`]. Under
    /// [`OnDecodeError::Raise`] the first sequence that does not decode fails the call
    /// ([`Error::Decode`]); `actions` is then unspecified. Allocation: see the module docs.
    #[allow(clippy::too_many_arguments)]
    pub fn decode_into<I: InputId, O: Sample>(
        &self,
        ids: &[I],
        stride: usize,
        lengths: &[usize],
        horizon: usize,
        dim: usize,
        on_error: OnDecodeError,
        actions: &mut [O],
        mut valid: Option<&mut [bool]>,
    ) -> Result<()> {
        let batch = lengths.len();
        let chunk_len = decode_chunk_len(horizon, dim, batch)?;
        self.check_decode_dim(dim)?;
        if batch.checked_mul(stride) != Some(ids.len()) {
            return Err(Error::InvalidArgument(format!(
                "{} ids do not form {batch} rows of width {stride} (one row per entry of lengths)",
                ids.len()
            )));
        }
        if actions.len() != batch * chunk_len {
            return Err(Error::InvalidArgument(format!(
                "actions holds {} values, not {batch} chunks of ({horizon}, {dim})",
                actions.len()
            )));
        }
        if let Some(valid) = &valid {
            if valid.len() != batch {
                return Err(Error::InvalidArgument(format!(
                    "valid holds {} entries for a batch of {batch} sequences",
                    valid.len()
                )));
            }
        }
        if let Some((b, &len)) = lengths.iter().enumerate().find(|(_, &len)| len > stride) {
            return Err(Error::InvalidArgument(format!(
                "lengths[{b}] = {len} is outside 0 to {stride}, inclusive (the ids' width)"
            )));
        }
        if batch == 0 {
            return Ok(());
        }
        let inverse = InverseDct::new(horizon)?;
        // Decodes sequence `b` into `out`; returns whether it decoded without repair.
        let decode_row = |buffers: &mut DecodeBuffers, b: usize, out: &mut [O]| -> Result<bool> {
            self.prepare_decode(buffers, horizon, dim, stride);
            let seq = &ids[b * stride..b * stride + lengths[b]];
            // `f64` straight into the caller's row; other types through a buffer.
            let issue = if let Some(out) = as_f64(out) {
                self.decode_chunk(seq, as_uninit(out), dim, &inverse, on_error, buffers)
            } else {
                let mut decoded = std::mem::take(&mut buffers.actions);
                decoded.resize(chunk_len, 0.0);
                let target = as_uninit(&mut decoded);
                let issue = self.decode_chunk(seq, target, dim, &inverse, on_error, buffers);
                for (slot, &v) in out.iter_mut().zip(&decoded) {
                    *slot = O::from_f64(v);
                }
                buffers.actions = decoded;
                issue
            };
            match issue {
                Some(reason) if on_error == OnDecodeError::Raise => {
                    Err(Error::Decode { chunk: b, reason })
                }
                issue => Ok(issue.is_none()),
            }
        };
        if batch < parallel::min_parallel_items(chunk_len) {
            return DECODE_BUFFERS.with_borrow_mut(|buffers| {
                for (b, out) in actions.chunks_mut(chunk_len).enumerate() {
                    let ok = decode_row(buffers, b, out)?;
                    if let Some(valid) = valid.as_deref_mut() {
                        valid[b] = ok;
                    }
                }
                Ok(())
            });
        }
        let mut slots: Vec<(&mut [O], Result<bool>)> = actions
            .chunks_mut(chunk_len)
            .map(|out| (out, Ok(true)))
            .collect();
        parallel::for_each_block(
            &mut slots,
            1,
            2,
            || (),
            |_, b, slot| {
                let (out, result) = &mut slot[0];
                *result = DECODE_BUFFERS.with_borrow_mut(|buffers| decode_row(buffers, b, out));
            },
        )?;
        for (b, (_, result)) in slots.into_iter().enumerate() {
            let ok = result?;
            if let Some(valid) = valid.as_deref_mut() {
                valid[b] = ok;
            }
        }
        Ok(())
    }

    /// Reserves this thread's decode buffers for `(horizon, dim)` chunks from rows of up to
    /// `stride` ids (module docs): the general path collects the bytes of a whole sequence.
    fn prepare_decode(
        &self,
        buffers: &mut DecodeBuffers,
        horizon: usize,
        dim: usize,
        stride: usize,
    ) {
        let n = horizon * dim;
        reserve_total(
            &mut buffers.coefficients,
            n + crate::dct::inverse::ROW_SLACK,
        );
        reserve_total(&mut buffers.actions, n);
        buffers.inverse.reserve(horizon);
        let bytes = stride.saturating_mul(self.bpe.max_token_bytes());
        // Best effort: a row width far beyond any chunk's needs is not worth failing for.
        if buffers.bytes.capacity() < bytes {
            let _ = buffers
                .bytes
                .try_reserve(bytes.saturating_sub(buffers.bytes.len()));
        }
    }
}

/// `out` as `f64`s, when that is its type.
fn as_f64<O: Sample>(out: &mut [O]) -> Option<&mut [f64]> {
    if std::any::TypeId::of::<O>() == std::any::TypeId::of::<f64>() {
        // SAFETY: `O` is `f64`, so this is the same slice at the same type.
        Some(unsafe { &mut *(out as *mut [O] as *mut [f64]) })
    } else {
        None
    }
}

/// `H×D` for decoding `batch` chunks, or the error [`FastTokenizer::decode`] gives for the shape.
pub(super) fn decode_chunk_len(horizon: usize, dim: usize, batch: usize) -> Result<usize> {
    horizon
        .checked_mul(dim)
        .filter(|&n| n >= 1 && n.checked_mul(batch).is_some())
        .ok_or_else(|| Error::InvalidArgument(format!("invalid chunk shape ({horizon}, {dim})")))
}
