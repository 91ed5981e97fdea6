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
use crate::dct::matrix::{matrix_product, ortho_entry, PackedMatrix, COLS, MAX_MATRIX_LEN};
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
    /// `even` holds the even rows (`⌈H/2⌉` columns), `odd` the odd rows (`⌊H/2⌋` columns).
    /// `None` when `len > MAX_MATRIX_LEN` (then every column uses the exact kernel).
    halves: Option<(PackedMatrix, PackedMatrix)>,
    /// The largest magnitude of a matrix entry.
    max_entry: f64,
    exact: Transform,
}

/// Reusable buffers for [`ForwardDct`]. They only grow: the padding lanes are rewritten by
/// every call, so no call clears them (a `memset` of every buffer cost a tenth of the transform).
#[derive(Default)]
pub(crate) struct ForwardScratch {
    /// The folded chunk, `x[n] + x[H-1-n]` and `x[n] - x[H-1-n]`, rows padded with zeros to a
    /// multiple of [`COLS`] values.
    sums: Vec<f64>,
    diffs: Vec<f64>,
    /// The even and odd coefficients, rows padded the same way.
    even_out: Vec<f64>,
    odd_out: Vec<f64>,
    /// Per column (padded to the row width with zeros), the sum of the absolute input values.
    abs_sums: Vec<f64>,
    column: Vec<f64>,
    dct: DctScratch,
}

/// The folded product's result for one chunk ([`ForwardDct::transform`]): coefficient `k`'s
/// row is row `k / 2` of `even` (even `k`) or of `odd` (odd `k`), `width` values of which the
/// first `dim` are the coefficients and the others zero.
pub(crate) struct Folded<'s> {
    /// The even coefficients' rows.
    pub(crate) even: &'s mut [f64],
    /// The odd coefficients' rows, likewise.
    pub(crate) odd: &'s mut [f64],
    /// Values per row: the dimension rounded up to [`COLS`].
    pub(crate) width: usize,
    /// Per column, the sum of the absolute input values ([`ForwardDct::error_bound`]); `width`
    /// values, zero in the padding lanes.
    pub(crate) abs_sums: &'s mut [f64],
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
        let halves = (len <= MAX_MATRIX_LEN).then(|| {
            let (half, pairs) = (len.div_ceil(2), len / 2);
            (
                PackedMatrix::new(half, half, |r, i| ortho_entry(2 * r, i, len)),
                PackedMatrix::new(pairs, pairs, |r, i| ortho_entry(2 * r + 1, i, len)),
            )
        });
        let max_entry = if len == 1 {
            1.0
        } else {
            (2.0 / len as f64).sqrt()
        };
        Ok(Self {
            len,
            halves,
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

    /// The transform of `chunk` by the folded product ([`Folded`]), or `None` when the exact
    /// kernel is the one to use (a horizon too long for a matrix, or
    /// [`ForwardDct::prefers_exact`]): then [`ForwardDct::exact_block`]. Non-finite inputs give
    /// non-finite outputs.
    ///
    /// Inlined so that a caller compiled for AVX2 gets the folding loops vectorized for it too.
    #[inline(always)]
    pub(crate) fn transform<'s, T: Sample>(
        &self,
        chunk: &[T],
        dim: usize,
        scratch: &'s mut ForwardScratch,
    ) -> Option<Folded<'s>> {
        let h = self.len;
        debug_assert_eq!(chunk.len(), h * dim);
        let (even, odd) = self.halves.as_ref()?;
        if self.prefers_exact(dim) {
            return None;
        }
        let ForwardScratch {
            sums,
            diffs,
            even_out,
            odd_out,
            abs_sums,
            ..
        } = scratch;
        let (half, pairs) = (h.div_ceil(2), h / 2);
        let width = dim.next_multiple_of(COLS);
        let sums = grown(sums, half * width);
        let diffs = grown(diffs, pairs * width);
        let abs_sums = grown(abs_sums, width);
        abs_sums.fill(0.0);
        // Row `n` pairs the early step `n` with the late step `H-1-n`.
        let (early_rows, late_rows) = chunk.split_at(half * dim);
        for (n, (early, sum_row)) in early_rows
            .chunks_exact(dim)
            .zip(sums.chunks_exact_mut(width))
            .enumerate()
        {
            let (sum_row, sum_pad) = sum_row.split_at_mut(dim);
            sum_pad.fill(0.0);
            if n < pairs {
                let late = &late_rows[(pairs - 1 - n) * dim..(pairs - n) * dim];
                let (diff_row, diff_pad) = diffs[n * width..(n + 1) * width].split_at_mut(dim);
                diff_pad.fill(0.0);
                for ((((s, df), acc), a), b) in sum_row
                    .iter_mut()
                    .zip(diff_row.iter_mut())
                    .zip(abs_sums.iter_mut())
                    .zip(early)
                    .zip(late)
                {
                    let (a, b) = (a.to_f64(), b.to_f64());
                    *s = a + b;
                    *df = a - b;
                    *acc += a.abs() + b.abs();
                }
            } else {
                // The middle step of an odd horizon.
                for ((s, acc), a) in sum_row.iter_mut().zip(abs_sums.iter_mut()).zip(early) {
                    let a = a.to_f64();
                    *s = a;
                    *acc += a.abs();
                }
            }
        }
        let even_out = grown(even_out, even.rows() * width);
        matrix_product(even, sums, even_out, width);
        let odd_out = grown(odd_out, odd.rows() * width);
        matrix_product(odd, diffs, odd_out, width);
        Some(Folded {
            even: even_out,
            odd: odd_out,
            width,
            abs_sums,
        })
    }

    /// `out[t·dim + d] = DCT-II-ortho(chunk[:, d])[t]` by the exact kernel: scipy's values.
    pub(crate) fn exact_block<T: Sample>(
        &self,
        chunk: &[T],
        dim: usize,
        out: &mut [f64],
        scratch: &mut ForwardScratch,
    ) {
        self.exact.apply_block(chunk, out, dim, &mut scratch.dct);
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

/// The first `n` values of `buffer`, grown (never shrunk) to hold them: callers overwrite every
/// value they read.
fn grown(buffer: &mut Vec<f64>, n: usize) -> &mut [f64] {
    if buffer.len() < n {
        buffer.resize(n, 0.0);
    }
    &mut buffer[..n]
}
