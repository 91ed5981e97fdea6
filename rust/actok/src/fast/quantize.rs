//! FAST's forward step, `round_half_even(scale · DCT-II-ortho(chunk))` along time, fast and still
//! exactly scipy's integers.
//!
//! The exact pocketfft port ([`crate::dct`]) transforms one column at a time. Here the transform
//! is a product with the precomputed `H×H` DCT matrix, computed for a whole `(H, D)` chunk at once
//! with the `D` actions of a time step contiguous (the layout vectorizes over dimensions, and on
//! x86-64 with AVX2 uses 4-lane vectors, chosen at run time).
//!
//! The product and pocketfft round differently in the last bits, and FAST rounds the scaled
//! coefficients: a coefficient sitting on a `.5` tie (binary gripper signals produce exact ties)
//! could round the other way. So every scaled coefficient `v` is checked against a bound on the
//! difference between the two computations: when `|frac(v) - 0.5|` is within the bound, the
//! column is recomputed with the exact pocketfft kernel and rounded from that. The bound is a
//! forward error bound of both computations (see [`Quantizer::tolerance`]), so a coefficient
//! outside it rounds to the same integer either way. For data that are not on ties this
//! fallback essentially never runs (the band is about `1e-11` wide).

use crate::dct::matrix::{matrix_product, ortho_entry, COLS, ROWS};
use crate::dct::{DctScratch, DctSpec, Transform};
use crate::error::Result;
use crate::sample::Sample;

/// Longest horizon computed by matrix product (the matrix is `H²` doubles, the work `H²·D`
/// against pocketfft's `O(H log H · D)`). FAST chunks are 10–100 steps.
const MAX_MATRIX_LEN: usize = 256;

/// Quantizes chunks of one horizon with one scale: see the module docs.
pub(crate) struct Quantizer {
    len: usize,
    /// Row `k` of the orthonormal DCT-II matrix `C` is symmetric in time for even `k` and
    /// antisymmetric for odd `k` (`C[k][H-1-n] = (-1)^k C[k][n]`), so the product folds in half:
    /// even coefficients are `C[k][..⌈H/2⌉]` times the sums `x[n] + x[H-1-n]` (the middle step
    /// unpaired when `H` is odd), odd ones `C[k][..⌊H/2⌋]` times the differences.
    /// `even` holds the even rows (`⌈H/2⌉` columns), `odd` the odd rows (`⌊H/2⌋` columns),
    /// row-major, each with zero rows appended up to a multiple of [`ROWS`]. Both empty when
    /// `len > MAX_MATRIX_LEN` (then every column uses the exact kernel).
    even: Vec<f64>,
    odd: Vec<f64>,
    /// The largest magnitude of a matrix entry.
    max_entry: f64,
    exact: Transform,
}

/// Reusable buffers for [`Quantizer::quantize`].
#[derive(Default)]
pub(crate) struct QuantizeScratch {
    /// The folded chunk, `x[n] + x[H-1-n]` and `x[n] - x[H-1-n]`, rows padded with zeros to a
    /// multiple of [`COLS`] values.
    sums: Vec<f64>,
    diffs: Vec<f64>,
    /// The even and odd coefficients, same padded layout, rows up to a multiple of [`ROWS`].
    even_out: Vec<f64>,
    odd_out: Vec<f64>,
    column: Vec<f64>,
    abs_sums: Vec<f64>,
    redo: Vec<bool>,
    dct: DctScratch,
}

/// `u`: the unit roundoff of `f64`.
const UNIT_ROUNDOFF: f64 = f64::EPSILON / 2.0;

impl Quantizer {
    /// The quantizer for horizon `len` (≥ 1), built once per horizon and shared.
    pub(crate) fn shared(len: usize) -> Result<std::sync::Arc<Self>> {
        type Cache = std::sync::Mutex<std::collections::HashMap<usize, std::sync::Arc<Quantizer>>>;
        static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
        crate::dct::matrix::cached(&CACHE, len, || Self::new(len))
    }

    /// Plans the transform for horizon `len` (≥ 1).
    pub(crate) fn new(len: usize) -> Result<Self> {
        let exact = Transform::new(DctSpec::FAST_FORWARD, len)?;
        let (mut even, mut odd) = (Vec::new(), Vec::new());
        if len <= MAX_MATRIX_LEN {
            let (half, pairs) = (len.div_ceil(2), len / 2);
            for k in 0..len {
                let (target, columns) = if k % 2 == 0 {
                    (&mut even, half)
                } else {
                    (&mut odd, pairs)
                };
                target.extend((0..columns).map(|i| ortho_entry(k, i, len)));
            }
            even.resize(half.next_multiple_of(ROWS) * half, 0.0);
            odd.resize(pairs.next_multiple_of(ROWS) * pairs, 0.0);
        }
        let max_entry = if len == 1 {
            1.0
        } else {
            (2.0 / len as f64).sqrt()
        };
        Ok(Self {
            len,
            even,
            odd,
            max_entry,
            exact,
        })
    }

    /// Bound on `|fast − exact|` plus `|pocketfft − exact|` for a coefficient of a column whose
    /// absolute values sum to `abs_sum`, times `scale`.
    ///
    /// Every coefficient is `Σ_n C[k][n]·x[n]` with `|C| ≤ max_entry`, so its terms sum in
    /// magnitude to at most `max_entry·abs_sum`. The folded product (one rounding per sum or
    /// difference of two inputs, entries rounded to within two ulps, then at most `H` products
    /// and additions) is within `(H + 4)·u` of that magnitude (the standard bound for recursive
    /// summation); pocketfft's FFT error grows like `log H·u`, well inside the same figure. Doubling the sum of both and adding the error of
    /// the multiplication by `scale` gives the bound used, about 4·(H+8)·u relative.
    fn tolerance(&self, abs_sum: f64, scale: f64) -> f64 {
        let terms = self.max_entry * abs_sum * scale;
        4.0 * (self.len as f64 + 8.0) * UNIT_ROUNDOFF * terms
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
        let h = self.len;
        debug_assert_eq!(chunk.len(), h * dim);
        debug_assert_eq!(out.len(), h * dim);
        let QuantizeScratch {
            sums,
            diffs,
            even_out,
            odd_out,
            column,
            abs_sums,
            redo,
            dct,
        } = scratch;
        if self.even.is_empty() {
            self.exact.apply_block(chunk, out, dim, dct);
            for v in out.iter_mut() {
                *v = round_half_even(*v * scale);
            }
            return;
        }
        let (half, pairs) = (h.div_ceil(2), h / 2);
        let width = dim.next_multiple_of(COLS);
        sums.clear();
        sums.resize(half * width, 0.0);
        diffs.clear();
        diffs.resize(pairs * width, 0.0);
        abs_sums.clear();
        abs_sums.resize(dim, 0.0);
        for n in 0..half {
            let early = &chunk[n * dim..(n + 1) * dim];
            let sum_row = &mut sums[n * width..n * width + dim];
            if n < pairs {
                let late = &chunk[(h - 1 - n) * dim..(h - n) * dim];
                let diff_row = &mut diffs[n * width..n * width + dim];
                for d in 0..dim {
                    let (a, b) = (early[d].to_f64(), late[d].to_f64());
                    sum_row[d] = a + b;
                    diff_row[d] = a - b;
                    abs_sums[d] += a.abs() + b.abs();
                }
            } else {
                // The middle step of an odd horizon.
                for d in 0..dim {
                    let a = early[d].to_f64();
                    sum_row[d] = a;
                    abs_sums[d] += a.abs();
                }
            }
        }
        even_out.clear();
        even_out.resize(self.even.len() / half * width, 0.0);
        matrix_product(&self.even, sums, even_out, half, width);
        if let Some(odd_rows) = self.odd.len().checked_div(pairs) {
            odd_out.clear();
            odd_out.resize(odd_rows * width, 0.0);
            matrix_product(&self.odd, diffs, odd_out, pairs, width);
        }
        for (k, row) in out.chunks_exact_mut(dim).enumerate() {
            let source = if k % 2 == 0 { &even_out } else { &odd_out };
            let at = (k / 2) * width;
            row.copy_from_slice(&source[at..at + dim]);
        }
        // Columns whose rounding the bound cannot vouch for (near ties, or non-finite values).
        for s in abs_sums.iter_mut() {
            *s = self.tolerance(*s, scale);
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
        column.resize(h, 0.0);
        for d in 0..dim {
            if !redo[d] {
                continue;
            }
            for (t, slot) in column.iter_mut().enumerate() {
                *slot = chunk[t * dim + d].to_f64();
            }
            self.exact.apply_column(column, dct);
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
        // Step signals (grippers) give exact .5 ties at several scales.
        for h in [2usize, 4, 8, 10, 16, 20, 50] {
            for step in 0..h {
                let chunk: Vec<f64> = (0..h).map(|t| if t < step { -1.0 } else { 1.0 }).collect();
                for scale in [1.0, 2.0, 5.0, 10.0, 12.5, 50.0] {
                    assert_eq!(fast(&chunk, h, 1, scale), exact(&chunk, h, 1, scale));
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
