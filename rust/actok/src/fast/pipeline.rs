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
        // The bad value is only looked for when there is one.
        if !all_finite(chunk) {
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

/// Whether every value of `chunk` is finite, in lanes that vectorize: `x - x` is 0 for a finite
/// `x` and NaN otherwise, and a sum with a NaN is NaN. (A search stopping at the first bad value
/// cost five instructions per value, a fold of `is_finite` four: neither vectorized.)
fn all_finite<T: Sample>(chunk: &[T]) -> bool {
    const LANES: usize = 8;
    let mut sums = [0.0f64; LANES];
    let mut groups = chunk.chunks_exact(LANES);
    for group in &mut groups {
        for (sum, v) in sums.iter_mut().zip(group) {
            let v = v.to_f64();
            // Deliberately `v - v`: it is what tells a finite value from the others.
            #[allow(clippy::eq_op)]
            let zero_if_finite = v - v;
            *sum += zero_if_finite;
        }
    }
    let rest = groups.remainder().iter().all(|v| v.to_f64().is_finite());
    rest && sums.iter().all(|&s| s == 0.0)
}

#[cfg(test)]
mod tests {
    use super::all_finite;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = f64> {
        prop_oneof![
            8 => -1e3f64..1e3,
            1 => prop::sample::select(vec![
                f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MAX, f64::MIN, -0.0, 1e308,
            ]),
        ]
    }

    proptest! {
        /// The lane sums decide as `is_finite` on every value does, in f64 and f32 (where
        /// values past f32's range are infinite), whatever the length (lanes and remainder).
        #[test]
        fn all_finite_is_every_value_finite(values in prop::collection::vec(value(), 0..40)) {
            prop_assert_eq!(all_finite(&values), values.iter().all(|v| v.is_finite()));
            let narrow: Vec<f32> = values.iter().map(|&v| v as f32).collect();
            prop_assert_eq!(all_finite(&narrow), narrow.iter().all(|v| v.is_finite()));
        }
    }
}
