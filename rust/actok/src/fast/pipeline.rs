//! The per-chunk pipeline shared by encoding and fitting: (normalize) → DCT → quantize →
//! characters → GPT-2 pieces. Encoding then runs the BPE on each piece; fitting counts them.

use crate::bpe::pretokenize::split_pieces;
use crate::error::{RangeIssue, Result};
use crate::fast::normalizer::Normalizer;
use crate::fast::quantize::{QuantizeScratch, Quantizer};
use crate::sample::Sample;

/// One chunk's intermediate results, kept per thread and reused across chunks.
#[derive(Default)]
pub(crate) struct ChunkBuffers {
    /// The quantized coefficients, row-major `(H, D)`.
    pub(crate) coefficients: Vec<f64>,
    /// Their characters.
    pub(crate) chars: Vec<char>,
    /// End (in characters) of each GPT-2 piece.
    ends: Vec<usize>,
    normalized: Vec<f64>,
    /// Values the normalizer clipped in the last chunk, per dimension (empty if none).
    pub(crate) clipped: Vec<u64>,
    quantize: QuantizeScratch,
}

/// Why a chunk's value cannot be quantized: `at` is its flattened index in the chunk.
#[derive(Debug)]
pub(crate) enum ValueFault {
    /// NaN or infinite.
    NotFinite {
        /// Flattened index.
        at: usize,
        /// The value.
        value: f64,
    },
    /// Refused by the normalizer.
    OutOfRange {
        /// Flattened index.
        at: usize,
        /// The value.
        value: f64,
        /// Why.
        issue: RangeIssue,
    },
}

impl ChunkBuffers {
    /// Reserves every buffer for `(horizon, dim)` chunks, so that quantizing and splitting them
    /// allocates nothing more, whatever the values (the real-time path).
    pub(crate) fn reserve(&mut self, horizon: usize, dim: usize) {
        use crate::bpe::reserve_total;
        let n = horizon * dim;
        reserve_total(&mut self.coefficients, n);
        reserve_total(&mut self.chars, n);
        reserve_total(&mut self.ends, n);
        reserve_total(&mut self.normalized, n);
        reserve_total(&mut self.clipped, dim);
        self.quantize.reserve(horizon, dim);
    }

    /// The number of pieces of the last [`ChunkPipeline::split`].
    pub(crate) fn piece_count(&self) -> usize {
        self.ends.len()
    }

    /// The GPT-2 pieces of the last [`ChunkPipeline::split`], as characters.
    pub(crate) fn pieces(&self) -> impl Iterator<Item = &[char]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .map(|(start, &end)| &self.chars[start..end])
    }
}

/// The pipeline for chunks of one shape and scale.
pub(crate) struct ChunkPipeline<'a> {
    quantizer: Quantizer,
    dim: usize,
    scale: f64,
    /// Raw actions → `[-1, 1]`, applied before the DCT.
    normalizer: Option<&'a Normalizer>,
}

impl<'a> ChunkPipeline<'a> {
    /// The pipeline for `(horizon, dim)` chunks (`horizon` ≥ 1).
    pub(crate) fn new(
        horizon: usize,
        dim: usize,
        scale: f64,
        normalizer: Option<&'a Normalizer>,
    ) -> Result<Self> {
        Ok(Self {
            quantizer: Quantizer::new(horizon)?,
            dim,
            scale,
            normalizer,
        })
    }

    /// Quantizes `chunk` into `buf.coefficients` (counting what the normalizer clipped in
    /// `buf.clipped`), or names the first value that cannot be quantized. Non-finite coefficients
    /// (inputs near `f64::MAX`) are left for the caller to report.
    pub(crate) fn quantize<T: Sample>(
        &self,
        chunk: &[T],
        buf: &mut ChunkBuffers,
    ) -> std::result::Result<(), ValueFault> {
        // Branch-free, so that it vectorizes (a search stopping at the first bad value cost
        // five instructions per value); the bad value is only looked for when there is one.
        if !chunk.iter().fold(true, |ok, v| ok & v.to_f64().is_finite()) {
            let at = chunk.iter().position(|v| !v.to_f64().is_finite());
            let at = at.expect("a value that is not finite");
            let value = chunk[at].to_f64();
            return Err(ValueFault::NotFinite { at, value });
        }
        let ChunkBuffers {
            coefficients,
            normalized,
            clipped,
            quantize,
            ..
        } = buf;
        clipped.clear();
        coefficients.resize(chunk.len(), 0.0);
        let (dim, scale) = (self.dim, self.scale);
        if let Some(norm) = self.normalizer {
            normalized.clear();
            for (row, values) in chunk.chunks_exact(dim).enumerate() {
                for (d, v) in values.iter().enumerate() {
                    let value = v.to_f64();
                    let (y, was_clipped) = norm.apply_value(d, value).map_err(|issue| {
                        let at = row * dim + d;
                        ValueFault::OutOfRange { at, value, issue }
                    })?;
                    if was_clipped {
                        // Allocated on the first clipped value only: most chunks clip nothing.
                        clipped.resize(dim, 0);
                        clipped[d] += 1;
                    }
                    normalized.push(y);
                }
            }
            self.quantizer
                .quantize(&normalized[..], dim, scale, coefficients, quantize);
        } else {
            self.quantizer
                .quantize(chunk, dim, scale, coefficients, quantize);
        }
        Ok(())
    }

    /// Turns `buf.coefficients` into characters with `char_of(index, q)` and splits them into
    /// GPT-2 pieces ([`ChunkBuffers::pieces`]); stops at the first error of `char_of`.
    pub(crate) fn split<E>(
        &self,
        buf: &mut ChunkBuffers,
        char_of: impl FnMut(usize, f64) -> std::result::Result<char, E>,
    ) -> std::result::Result<(), E> {
        self.characters(buf, char_of)?;
        buf.ends.clear();
        split_pieces(&buf.chars, &mut buf.ends);
        Ok(())
    }

    /// Turns `buf.coefficients` into characters (`buf.chars`) with `char_of(index, q)`, without
    /// splitting them (encoding splits and encodes in one pass, [`crate::bpe::Bpe::encode_text`]);
    /// stops at the first error of `char_of`.
    pub(crate) fn characters<E>(
        &self,
        buf: &mut ChunkBuffers,
        mut char_of: impl FnMut(usize, f64) -> std::result::Result<char, E>,
    ) -> std::result::Result<(), E> {
        let ChunkBuffers {
            coefficients,
            chars,
            ..
        } = buf;
        // Written in place rather than pushed: no capacity check per character.
        chars.resize(coefficients.len(), '\0');
        for (at, (slot, &q)) in chars.iter_mut().zip(coefficients.iter()).enumerate() {
            *slot = char_of(at, q)?;
        }
        Ok(())
    }
}
