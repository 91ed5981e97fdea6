//! FAST's forward step, `round_half_even(scale · DCT-II-ortho(chunk))` along time, fast and still
//! exactly scipy's integers.
//!
//! The transform is [`ForwardDct`]'s folded matrix product, which rounds differently from
//! scipy's pocketfft in the last bits, and FAST rounds the scaled coefficients: a coefficient
//! sitting on a `.5` tie (binary gripper signals produce exact ties) could round the other way.
//! So every scaled coefficient `v` is checked against [`ForwardDct::error_bound`]: when
//! `|frac(v) - 0.5|` is within the bound, the column is recomputed with the exact kernel
//! ([`ForwardDct::exact_column`]) and rounded from that. The bound is a forward error bound of
//! both computations, so a coefficient outside it rounds to the same integer either way. For
//! data that are not on ties this fallback essentially never runs (the band is about `1e-11`
//! wide).

use std::sync::Arc;

use crate::dct::forward::{ForwardDct, ForwardScratch};
use crate::error::Result;
use crate::sample::Sample;

/// Quantizes chunks of one horizon: see the module docs.
pub(crate) struct Quantizer {
    dct: Arc<ForwardDct>,
}

/// Reusable buffers for [`Quantizer::quantize`].
#[derive(Default)]
pub(crate) struct QuantizeScratch {
    /// Per column, whether the exact kernel must redo it.
    redo: Vec<bool>,
    dct: ForwardScratch,
}

impl QuantizeScratch {
    /// Reserves every buffer for `(len, dim)` chunks (see [`ForwardScratch::reserve`]).
    pub(crate) fn reserve(&mut self, len: usize, dim: usize) {
        crate::bpe::reserve_total(&mut self.redo, dim);
        self.dct.reserve(len);
    }
}

impl Quantizer {
    /// The quantizer for horizon `len` (≥ 1), on the shared transform of that horizon.
    pub(crate) fn new(len: usize) -> Result<Self> {
        Ok(Self {
            dct: ForwardDct::shared(len)?,
        })
    }

    /// `out[t·dim + d] = round_half_even(scale · DCT-II-ortho(chunk[:, d])[t])`, the integers
    /// scipy's `np.around(dct(chunk, axis=0, norm="ortho") * scale)` gives. Non-finite results
    /// (only possible for values near `f64::MAX`) are left as computed by the exact kernel, for the
    /// caller to report.
    pub(crate) fn quantize<T: Sample>(
        &self,
        chunk: &[T],
        dim: usize,
        scale: f64,
        out: &mut [f64],
        scratch: &mut QuantizeScratch,
    ) {
        let QuantizeScratch { redo, dct } = scratch;
        let Some(abs_sums) = self.dct.transform(chunk, dim, out, dct) else {
            // Already scipy's exact values.
            for v in out.iter_mut() {
                *v = round_half_even(*v * scale);
            }
            return;
        };
        // Columns whose rounding the bound cannot vouch for (near ties, or non-finite values).
        for s in abs_sums.iter_mut() {
            *s = self.dct.error_bound(*s, scale);
        }
        redo.clear();
        redo.resize(dim, false);
        let mut redo_any = false;
        for row in out.chunks_exact_mut(dim) {
            for ((v, &tol), flag) in row.iter_mut().zip(abs_sums.iter()).zip(redo.iter_mut()) {
                let scaled = *v * scale;
                let rounded = round_half_even(scaled);
                // |scaled - rounded| ≤ 0.5; a tie is where it equals 0.5. Written so that NaN
                // (from a non-finite value or bound) also redoes the column.
                if !(0.5 - (scaled - rounded).abs() > tol && scaled.is_finite()) {
                    *flag = true;
                    redo_any = true;
                }
                *v = rounded;
            }
        }
        if !redo_any {
            return;
        }
        for d in 0..dim {
            if !redo[d] {
                continue;
            }
            let column = self.dct.exact_column(chunk, dim, d, dct);
            for (t, c) in column.iter().enumerate() {
                out[t * dim + d] = round_half_even(*c * scale);
            }
        }
    }
}

/// `round_ties_even` without a libm call on targets lacking a rounding instruction: adding and
/// subtracting 1.5·2^52 rounds to an integer in the current (round-to-nearest-even) mode for
/// `|x| < 2^51`; larger magnitudes are integers already (or not finite) and pass through.
#[inline]
pub(crate) fn round_half_even(x: f64) -> f64 {
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5 · 2^52
    if x.abs() < 2_251_799_813_685_248.0 {
        // 2^51
        (x + MAGIC) - MAGIC
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dct::matrix::MAX_MATRIX_LEN;
    use crate::dct::{DctScratch, DctSpec, Transform};
    use proptest::prelude::*;

    /// The exact path: pocketfft column by column, then rounding.
    fn exact(chunk: &[f64], h: usize, dim: usize, scale: f64) -> Vec<f64> {
        let t = Transform::new(DctSpec::FAST_FORWARD, h).unwrap();
        let mut out = vec![0.0; h * dim];
        t.apply_block(chunk, &mut out, dim, &mut DctScratch::default());
        out.iter().map(|c| (c * scale).round_ties_even()).collect()
    }

    fn fast(chunk: &[f64], h: usize, dim: usize, scale: f64) -> Vec<f64> {
        let q = Quantizer::new(h).unwrap();
        let mut out = vec![0.0; h * dim];
        q.quantize(chunk, dim, scale, &mut out, &mut QuantizeScratch::default());
        out
    }

    #[test]
    fn round_half_even_matches_std() {
        for &x in &[
            0.5,
            1.5,
            2.5,
            -0.5,
            -1.5,
            -2.5,
            0.49999999999999994,
            1e300,
            -1e300,
            4.5e15,
            0.0,
            -0.0,
            3.7,
            -3.7,
            2f64.powi(51) - 0.5,
            2f64.powi(52) + 1.0,
        ] {
            assert_eq!(round_half_even(x), x.round_ties_even(), "{x}");
        }
        assert!(round_half_even(f64::NAN).is_nan());
        assert_eq!(round_half_even(f64::INFINITY), f64::INFINITY);
    }

    #[test]
    fn binary_steps_hit_ties_and_still_match() {
        // Step signals (grippers) give exact .5 ties at several scales. Four columns (one per
        // step position offset), so that the folded product and its tie check run: one to
        // three columns go to the exact kernel directly.
        const DIM: usize = 4;
        for h in [2usize, 4, 8, 10, 16, 20, 50] {
            for step in 0..h {
                let chunk: Vec<f64> = (0..h * DIM)
                    .map(|i| {
                        if i / DIM < (step + i % DIM) % (h + 1) {
                            -1.0
                        } else {
                            1.0
                        }
                    })
                    .collect();
                for scale in [1.0, 2.0, 5.0, 10.0, 12.5, 50.0] {
                    assert_eq!(fast(&chunk, h, DIM, scale), exact(&chunk, h, DIM, scale));
                }
            }
        }
    }

    #[test]
    fn long_horizons_use_the_exact_kernel() {
        let h = MAX_MATRIX_LEN + 3;
        let chunk: Vec<f64> = (0..h * 2).map(|i| (i as f64 * 0.1).sin()).collect();
        assert_eq!(fast(&chunk, h, 2, 10.0), exact(&chunk, h, 2, 10.0));
    }

    #[test]
    fn non_finite_results_come_from_the_exact_kernel() {
        let chunk = vec![f64::MAX, f64::MAX, -f64::MAX, f64::MAX];
        let got = fast(&chunk, 4, 1, 10.0);
        let want = exact(&chunk, 4, 1, 10.0);
        for (a, b) in got.iter().zip(&want) {
            assert!(a == b || (a.is_nan() && b.is_nan()), "{a} vs {b}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn equals_the_exact_kernel(
            h in 1usize..70,
            dim in 1usize..20,
            seed in any::<u64>(),
            scale in prop::sample::select(vec![1.0, 2.0, 4.5, 10.0, 12.5, 100.0, 1000.0]),
            quantized in any::<bool>(),
        ) {
            // Smooth values, or values on a coarse grid (which make ties likely).
            let mut s = seed | 1;
            let chunk: Vec<f64> = (0..h * dim)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    let u = (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
                    if quantized { (u * 4.0).round() / 4.0 } else { u }
                })
                .collect();
            prop_assert_eq!(fast(&chunk, h, dim, scale), exact(&chunk, h, dim, scale));
        }
    }
}
