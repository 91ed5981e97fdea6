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
use crate::dct::matrix::{
    matrix_product, narrow_product, ortho_entry, PackedMatrix, COLS, MAX_MATRIX_LEN,
};
use crate::dct::pairs::{pair_product, PairMatrix, MAX_PAIR_LEN};
use crate::dct::{DctScratch, DctSpec, Transform};
use crate::error::Result;
use crate::sample::Sample;

/// `u`: the unit roundoff of `f64`.
const UNIT_ROUNDOFF: f64 = f64::EPSILON / 2.0;

/// Chunks of up to this many dimensions use [`Product::Narrow`].
const NARROW_MAX_DIM: usize = 3;
/// Horizons from which chunks of up to [`NARROW_MAX_DIM`] dimensions use pocketfft instead.
const NARROW_EXACT_FROM: usize = 200;

/// The two forms of the folded product ([`ForwardDct::product_for`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Product {
    /// [`matrix_product`]: vectors across the dimensions of a time step, rows padded to [`COLS`].
    Wide,
    /// [`narrow_product`]: vectors across output rows, for chunks of 1 to 3 dimensions, whose
    /// rows would be mostly padding in the wide form.
    Narrow,
}

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
    /// The same halves interleaved for 2-dimensional chunks ([`pair_product`]), for horizons
    /// up to [`MAX_PAIR_LEN`].
    pair_rows: Option<PairMatrix>,
    /// The largest magnitude of a matrix entry.
    max_entry: f64,
    exact: Transform,
}

/// Reusable buffers for [`ForwardDct`]. They only grow, and no call clears them (a `memset` of
/// every buffer cost a tenth of the transform): the padding lanes of a row keep whatever an
/// earlier chunk left there, finite or not. They only ever meet padding lanes of the product's
/// output (its columns are independent), which nothing reads as coefficients.
#[derive(Default)]
pub(crate) struct ForwardScratch {
    /// The folded chunk, `x[n] + x[H-1-n]` and `x[n] - x[H-1-n]`, in rows of [`Folded::width`]
    /// values.
    sums: Vec<f64>,
    diffs: Vec<f64>,
    /// The even and odd coefficients, rows padded the same way.
    even_out: Vec<f64>,
    odd_out: Vec<f64>,
    /// Per column (zero in the padding lanes), the sum of the absolute input values.
    abs_sums: Vec<f64>,
    column: Vec<f64>,
    dct: DctScratch,
}

/// The folded product's result for one chunk ([`ForwardDct::transform`]): coefficient `k`'s
/// row is row `k / 2` of `even` (even `k`) or of `odd` (odd `k`), `width` values of which the
/// first `dim` are the coefficients and the others padding (any value, finite or not).
pub(crate) struct Folded<'s> {
    /// The even coefficients' rows.
    pub(crate) even: &'s mut [f64],
    /// The odd coefficients' rows, likewise.
    pub(crate) odd: &'s mut [f64],
    /// Values per row: the dimension rounded up to [`COLS`] ([`Product::Wide`]) or to 4
    /// ([`Product::Narrow`]; the rounding reads rows as 4-lane vectors).
    pub(crate) width: usize,
    /// Per column, the sum of the absolute input values ([`ForwardDct::error_bound`]); `width`
    /// values, zero in the padding lanes.
    pub(crate) abs_sums: &'s mut [f64],
}

/// Where [`ForwardDct::transform`] left a chunk's coefficients.
pub(crate) enum Transformed<'s> {
    /// The wide product: in the rows of [`Folded`].
    Rows(Folded<'s>),
    /// The narrow product: in `out`, `(H, dim)` row-major; these are the columns' sums of
    /// absolute input values ([`ForwardDct::error_bound`]), `dim` of them.
    InPlace(&'s mut [f64]),
    /// pocketfft: `out` holds scipy's exact values.
    Exact,
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
        let pair_rows = (len <= MAX_PAIR_LEN).then(|| {
            let even = |r: usize, i: usize| ortho_entry(2 * r, i, len);
            let odd = |r: usize, i: usize| ortho_entry(2 * r + 1, i, len);
            PairMatrix::new(len, even, odd)
        });
        let max_entry = if len == 1 {
            1.0
        } else {
            (2.0 / len as f64).sqrt()
        };
        Ok(Self {
            len,
            halves,
            pair_rows,
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

    /// The kernel for chunks of `dim` dimensions, by instruction counts of
    /// `benches/workload.rs shape` (per value, a tokenizer fitted on 50×14):
    /// - 4 dimensions or more: [`Product::Wide`] up to [`MAX_MATRIX_LEN`] steps (160×14 chunks
    ///   165 against pocketfft's 217, 250×14 184 against 217, 10×5 231 against 278);
    /// - 1 to 3: [`Product::Narrow`] below [`NARROW_EXACT_FROM`] steps (10×2 266 against 309,
    ///   50×2 232 against 282, 160×2 250 against 266), beyond it pocketfft (250×2 242 against
    ///   261: the product's `O(H)` work per value overtakes the FFT's `O(log H)`);
    /// - `None`: pocketfft.
    #[inline]
    fn product_for(&self, dim: usize) -> Option<Product> {
        self.halves.as_ref()?;
        if dim > NARROW_MAX_DIM {
            Some(Product::Wide)
        } else if self.len < NARROW_EXACT_FROM {
            Some(Product::Narrow)
        } else {
            None
        }
    }

    /// The transform of `chunk` (`(H, dim)`, row-major) by the kernel of
    /// [`ForwardDct::product_for`]: see [`Transformed`] for where each leaves the coefficients
    /// (`out` holds `H·dim` values). Non-finite inputs give non-finite outputs.
    ///
    /// Inlined so that a caller compiled for AVX2 gets the folding loops vectorized for it too.
    #[inline(always)]
    pub(crate) fn transform<'s, T: Sample>(
        &self,
        chunk: &[T],
        dim: usize,
        out: &mut [f64],
        scratch: &'s mut ForwardScratch,
    ) -> Transformed<'s> {
        let h = self.len;
        debug_assert_eq!(chunk.len(), h * dim);
        debug_assert_eq!(out.len(), h * dim);
        let (Some(product), Some((even, odd))) = (self.product_for(dim), self.halves.as_ref())
        else {
            self.exact_block(chunk, dim, out, scratch);
            return Transformed::Exact;
        };
        let ForwardScratch {
            sums,
            diffs,
            even_out,
            odd_out,
            abs_sums,
            ..
        } = scratch;
        let (half, pairs) = (h.div_ceil(2), h / 2);
        // The narrow product reads only the first `dim` lanes of a row; the wide one reads whole
        // tiles of `COLS`.
        let width = match product {
            Product::Narrow => dim,
            Product::Wide => dim.next_multiple_of(COLS),
        };
        let sums = grown(sums, half * width);
        let diffs = grown(diffs, pairs * width);
        let abs_sums = grown(abs_sums, width);
        // Row `n` pairs the early step `n` with the late step `H-1-n`. The padding lanes past
        // `dim` are left as the last chunk left them: they only feed output lanes that nothing
        // reads as coefficients (columns of the product are independent).
        match dim {
            // The narrow product's rows are `dim` wide: `fold` writes all of `abs_sums`.
            1 => fold::<1, T>(chunk, width, sums, diffs, abs_sums),
            2 => fold::<2, T>(chunk, width, sums, diffs, abs_sums),
            3 => fold::<3, T>(chunk, width, sums, diffs, abs_sums),
            _ => {
                // Accumulated into, and zero in the padding lanes.
                abs_sums.fill(0.0);
                fold_rows(chunk, dim, width, sums, diffs, abs_sums);
            }
        }
        if product == Product::Narrow {
            // Coefficient `2r` is row `r` of the even half, `2r + 1` row `r` of the odd one: each
            // half writes every other row of `out`.
            let stride = 2 * dim;
            match dim {
                1 => {
                    narrow_product::<1>(even, sums, width, out, stride);
                    narrow_product::<1>(odd, diffs, width, &mut out[dim..], stride);
                }
                2 => {
                    // Short horizons in the chunk's own layout, when the CPU has the vectors.
                    let paired = (self.pair_rows.as_ref())
                        .is_some_and(|pair_rows| pair_product(pair_rows, sums, diffs, out));
                    if !paired {
                        narrow_product::<2>(even, sums, width, out, stride);
                        narrow_product::<2>(odd, diffs, width, &mut out[dim..], stride);
                    }
                }
                _ => {
                    narrow_product::<3>(even, sums, width, out, stride);
                    narrow_product::<3>(odd, diffs, width, &mut out[dim..], stride);
                }
            }
            return Transformed::InPlace(abs_sums);
        }
        let even_out = grown(even_out, even.rows() * width);
        let odd_out = grown(odd_out, odd.rows() * width);
        matrix_product(even, sums, even_out, width);
        matrix_product(odd, diffs, odd_out, width);
        Transformed::Rows(Folded {
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

/// Folds `chunk` (`(H, dim)` row-major) into `sums` and `diffs` (rows of `width` lanes, the first
/// `dim` written) and adds each column's absolute values into `abs_sums`: row `n` of `sums` is
/// `x[n] + x[H-1-n]` (the middle step alone for odd `H`), of `diffs` `x[n] - x[H-1-n]`.
#[inline(always)]
fn fold_rows<T: Sample>(
    chunk: &[T],
    dim: usize,
    width: usize,
    sums: &mut [f64],
    diffs: &mut [f64],
    abs_sums: &mut [f64],
) {
    let h = chunk.len() / dim;
    let (half, pairs) = (h.div_ceil(2), h / 2);
    let (early_rows, late_rows) = chunk.split_at(half * dim);
    for (n, (early, sum_row)) in early_rows
        .chunks_exact(dim)
        .zip(sums.chunks_exact_mut(width))
        .enumerate()
    {
        let sum_row = &mut sum_row[..dim];
        if n < pairs {
            let late = &late_rows[(pairs - 1 - n) * dim..(pairs - n) * dim];
            let diff_row = &mut diffs[n * width..n * width + dim];
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
}

/// [`fold_rows`] for a constant `D` of 1 to 3 dimensions: a row's values unrolled (the loops
/// of the general version, sized at run time, cost more than their few values).
#[inline(always)]
fn fold<const D: usize, T: Sample>(
    chunk: &[T],
    width: usize,
    sums: &mut [f64],
    diffs: &mut [f64],
    abs_sums: &mut [f64],
) {
    let h = chunk.len() / D;
    let (half, pairs) = (h.div_ceil(2), h / 2);
    // Rows, not indices: the iterators carry the bounds, so the loop has no checks of its own
    // (indexing cost 17 instructions per value of a 10x2 chunk).
    let (early, late) = chunk.split_at(half * D);
    let mut acc = [0.0f64; D];
    // Step `n` pairs with step `H-1-n`: the late rows from the last.
    let steps = early.chunks_exact(D).zip(late.chunks_exact(D).rev());
    let outputs = sums
        .chunks_exact_mut(width)
        .zip(diffs.chunks_exact_mut(width));
    for ((a, b), (s, df)) in steps.zip(outputs) {
        for d in 0..D {
            let (a, b) = (a[d].to_f64(), b[d].to_f64());
            s[d] = a + b;
            df[d] = a - b;
            acc[d] += a.abs() + b.abs();
        }
    }
    if half > pairs {
        // The middle step of an odd horizon.
        let a = &early[pairs * D..];
        let s = &mut sums[pairs * width..pairs * width + D];
        for d in 0..D {
            let a = a[d].to_f64();
            s[d] = a;
            acc[d] += a.abs();
        }
    }
    abs_sums[..D].copy_from_slice(&acc);
}

/// The first `n` values of `buffer`, grown (never shrunk) to hold them: callers overwrite every
/// value they read.
fn grown(buffer: &mut Vec<f64>, n: usize) -> &mut [f64] {
    if buffer.len() < n {
        buffer.resize(n, 0.0);
    }
    &mut buffer[..n]
}
