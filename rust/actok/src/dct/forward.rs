//! The orthonormal DCT-II along time of whole `(H, D)` chunks (FAST's forward transform), by a
//! folded matrix product, with a bound on its distance from scipy's result and scipy's exact
//! kernel per column for when that bound is not enough.
//!
//! The exact pocketfft port ([`crate::dct::pocketfft`]) transforms one column at a time. Here the
//! transform is a product with the precomputed `H×H` DCT matrix, computed for a whole chunk at
//! once with the `D` actions of a time step contiguous (the layout vectorizes over dimensions,
//! and on x86-64 with AVX2 uses 4-lane vectors, chosen at run time). The product and pocketfft
//! round differently in the last bits; [`ForwardDct::error_bound`] bounds the difference, and
//! [`ForwardDct::exact_column`] gives scipy's bits when a caller needs them (the quantizer, for
//! coefficients near a rounding tie).

use std::sync::Arc;

use crate::dct::cache::{self, Cache};
use crate::dct::matrix::{matrix_product, ortho_entry, COLS, MAX_MATRIX_LEN, ROWS};
use crate::dct::{DctScratch, DctSpec, Transform};
use crate::error::Result;
use crate::sample::Sample;

/// `u`: the unit roundoff of `f64`.
const UNIT_ROUNDOFF: f64 = f64::EPSILON / 2.0;

/// FAST's forward DCT for one horizon: see the module docs.
pub(crate) struct ForwardDct {
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

/// Reusable buffers for [`ForwardDct`].
#[derive(Default)]
pub(crate) struct ForwardScratch {
    /// The folded chunk, `x[n] + x[H-1-n]` and `x[n] - x[H-1-n]`, rows padded with zeros to a
    /// multiple of [`COLS`] values.
    sums: Vec<f64>,
    diffs: Vec<f64>,
    /// The even and odd coefficients, same padded layout, rows up to a multiple of [`ROWS`].
    even_out: Vec<f64>,
    odd_out: Vec<f64>,
    /// Per column, the sum of the absolute input values.
    abs_sums: Vec<f64>,
    column: Vec<f64>,
    dct: DctScratch,
}

impl ForwardScratch {
    /// Reserves what the exact fallback ([`ForwardDct::exact_column`]) needs for horizon `len`:
    /// the other buffers are sized by the shape on every call, this one only on a near-tie.
    pub(crate) fn reserve(&mut self, len: usize) {
        crate::bpe::reserve_total(&mut self.column, len);
        self.dct.reserve(len);
    }
}

impl ForwardDct {
    /// The transform for horizon `len` (≥ 1), planned once per horizon and shared.
    pub(crate) fn shared(len: usize) -> Result<Arc<Self>> {
        static CACHE: Cache<usize, ForwardDct> = Cache::new();
        cache::shared(&CACHE, len, || Self::new(len))
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

    /// Bound on `|folded − exact|` plus `|pocketfft − exact|` for a coefficient of a column whose
    /// absolute values sum to `abs_sum`, times `scale`.
    ///
    /// Every coefficient is `Σ_n C[k][n]·x[n]` with `|C| ≤ max_entry`, so its terms sum in
    /// magnitude to at most `max_entry·abs_sum`. The folded product (one rounding per sum or
    /// difference of two inputs, entries rounded to within two ulps, then at most `H` products
    /// and additions) is within `(H + 4)·u` of that magnitude (the standard bound for recursive
    /// summation); pocketfft's FFT error grows like `log H·u`, well inside the same figure.
    /// Doubling the sum of both and adding the error of the multiplication by `scale` gives the
    /// bound used, about 4·(H+8)·u relative.
    #[inline]
    pub(crate) fn error_bound(&self, abs_sum: f64, scale: f64) -> f64 {
        let terms = self.max_entry * abs_sum * scale;
        4.0 * (self.len as f64 + 8.0) * UNIT_ROUNDOFF * terms
    }

    /// Whether the exact kernel (pocketfft, `O(log H)` work per value) is cheaper than the folded
    /// product (`O(H)` per value, on rows padded to [`COLS`] values): with 1 to 3 dimensions the
    /// padding multiplies the product's work by 2.7 to 8, and from 128 steps on the FFT wins
    /// anyway (instruction counts of `benches/workload.rs shape`: 160×2 chunks 661 → 314 per
    /// value, 50×2 322 → 215, 160×14 232 → 203; 50×14 stays on the product, 180 against 203).
    #[inline]
    fn prefers_exact(&self, dim: usize) -> bool {
        5 * dim < 2 * COLS || self.len >= 128
    }

    /// `out[t·dim + d] = DCT-II-ortho(chunk[:, d])[t]`.
    ///
    /// Returns the per-column sums of absolute input values (for [`ForwardDct::error_bound`])
    /// when the folded product computed `out`, or `None` when the exact kernel did (a horizon too
    /// long for a matrix, or [`ForwardDct::prefers_exact`]) and `out` holds scipy's exact
    /// values. Non-finite inputs give non-finite outputs.
    pub(crate) fn transform<'s, T: Sample>(
        &self,
        chunk: &[T],
        dim: usize,
        out: &mut [f64],
        scratch: &'s mut ForwardScratch,
    ) -> Option<&'s mut [f64]> {
        let h = self.len;
        debug_assert_eq!(chunk.len(), h * dim);
        debug_assert_eq!(out.len(), h * dim);
        let ForwardScratch {
            sums,
            diffs,
            even_out,
            odd_out,
            abs_sums,
            dct,
            ..
        } = scratch;
        if self.even.is_empty() || self.prefers_exact(dim) {
            self.exact.apply_block(chunk, out, dim, dct);
            return None;
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
        Some(abs_sums)
    }

    /// Column `d` of the transform of `chunk`, exactly as scipy computes it (pocketfft).
    pub(crate) fn exact_column<'s, T: Sample>(
        &self,
        chunk: &[T],
        dim: usize,
        d: usize,
        scratch: &'s mut ForwardScratch,
    ) -> &'s [f64] {
        let ForwardScratch { column, dct, .. } = scratch;
        column.resize(self.len, 0.0);
        for (t, slot) in column.iter_mut().enumerate() {
            *slot = chunk[t * dim + d].to_f64();
        }
        self.exact.apply_column(column, dct);
        column
    }
}
