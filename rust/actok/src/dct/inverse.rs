//! FAST's inverse transform, `scipy.fft.idct(c, type=2, norm="ortho")` along time of a chunk of
//! coefficients: a folded matrix product for FAST-sized horizons, pocketfft beyond. Decoding
//! needs agreement with scipy to about `1e-15` relative, not the last bit, so no exact
//! fallback is needed here (unlike [`crate::dct::forward`]). The product reads the coefficient
//! rows in place, skips the rows past the last nonzero coefficient (the decoder knows where that
//! is) and all-zero rows, and writes straight into uninitialized output.

use std::mem::MaybeUninit;
use std::sync::Arc;

use crate::dct::cache::{self, Cache};
use crate::dct::matrix::{ortho_entry, sparse_product, PackedMatrix, COLS, MAX_MATRIX_LEN};
use crate::dct::{DctScratch, DctSpec, Transform};
use crate::error::Result;

/// The decoder's inverse DCT for one horizon: see the module docs.
pub(crate) enum InverseDct {
    /// Horizons up to [`MAX_MATRIX_LEN`].
    Matrix(Arc<InverseMatrix>),
    /// Longer horizons: the exact kernel.
    Exact(Transform),
}

impl InverseDct {
    /// The inverse transform for horizon `len` (≥ 1), its plan shared across calls.
    pub(crate) fn new(len: usize) -> Result<Self> {
        Ok(if (1..=MAX_MATRIX_LEN).contains(&len) {
            Self::Matrix(InverseMatrix::shared(len)?)
        } else {
            Self::Exact(Transform::new(DctSpec::FAST_INVERSE, len)?)
        })
    }

    /// `out (H×dim) = DCT-III-ortho(coefficients (H×dim))` along the first axis, row-major;
    /// returns `out`, every value written. `out` may be uninitialized memory (a decoded batch
    /// is written here first, so that no pass zeroes it before).
    ///
    /// `coefficients` may hold [`ROW_SLACK`] values (of any value) past the `H×dim` that
    /// matter: the product then reads its rows in place (with fewer, it copies them first).
    /// The coefficients from `nonzero_end` on must be zero (pass `H×dim` when unknown).
    pub(crate) fn apply<'o>(
        &self,
        coefficients: &[f64],
        nonzero_end: usize,
        out: &'o mut [MaybeUninit<f64>],
        dim: usize,
        scratch: &mut InverseScratch,
    ) -> &'o mut [f64] {
        match self {
            Self::Matrix(m) => m.apply(coefficients, nonzero_end, out, dim, scratch),
            Self::Exact(t) => {
                let n = out.len();
                let out = zeros(out);
                t.apply_block(&coefficients[..n], out, dim, &mut scratch.dct);
                out
            }
        }
    }
}

/// How many values past a chunk's coefficients [`InverseDct::apply`] reads when they are
/// there: a row is read as whole tiles of [`COLS`] lanes.
pub(crate) const ROW_SLACK: usize = COLS;

/// The orthonormal DCT-III (`scipy.fft.idct(c, type=2, norm="ortho")` along time) of a chunk of
/// quantized coefficients, by folded matrix product.
///
/// With `C` the orthonormal DCT-II matrix, `x[t] = Σ_k C[k][t]·c[k]`, and `C[k][H-1-t] =
/// (-1)^k C[k][t]`, so `x[t] = E[t] + O[t]` and `x[H-1-t] = E[t] - O[t]` with `E` the sum over
/// even `k` and `O` over odd `k` (the middle step of an odd horizon is `E` alone). FAST
/// coefficients are mostly zero at high frequencies, so coefficient rows that are zero in every
/// dimension are skipped.
pub(crate) struct InverseMatrix {
    len: usize,
    /// `even[t][j] = C[2j][t]` for `t, j < ⌈H/2⌉`.
    even: PackedMatrix,
    /// `odd[t][j] = C[2j+1][t]` for `t, j < ⌊H/2⌋`.
    odd: PackedMatrix,
}

/// Reusable buffers for [`InverseDct::apply`] (and [`InverseMatrix::apply`]). They only grow.
#[derive(Default)]
pub(crate) struct InverseScratch {
    /// The coefficients with [`ROW_SLACK`] values after them, when the caller's have none.
    padded: Vec<f64>,
    columns: Vec<u32>,
    even_out: Vec<f64>,
    odd_out: Vec<f64>,
    dct: DctScratch,
}

impl InverseScratch {
    /// Reserves what [`InverseDct::apply`] needs for horizon `len` beyond what every call sizes
    /// from the shape (the list of nonzero rows, the exact kernel's buffers).
    pub(crate) fn reserve(&mut self, len: usize) {
        crate::bpe::reserve_total(&mut self.columns, len.div_ceil(2));
        self.dct.reserve(len);
    }
}

impl InverseMatrix {
    /// The matrices for horizon `len` (`1 ≤ len ≤ MAX_MATRIX_LEN`), built once per horizon and
    /// shared.
    pub(crate) fn shared(len: usize) -> Result<Arc<Self>> {
        static CACHE: Cache<usize, InverseMatrix> = Cache::new();
        cache::shared(&CACHE, len, || Ok(Self::new(len)))
    }

    /// The matrices for horizon `len` (`1 ≤ len ≤ MAX_MATRIX_LEN`).
    pub(crate) fn new(len: usize) -> Self {
        debug_assert!((1..=MAX_MATRIX_LEN).contains(&len));
        let (half, pairs) = (len.div_ceil(2), len / 2);
        Self {
            len,
            even: PackedMatrix::new(half, half, |t, j| ortho_entry(2 * j, t, len)),
            odd: PackedMatrix::new(pairs, pairs, |t, j| ortho_entry(2 * j + 1, t, len)),
        }
    }

    /// `out (H×dim) = DCT-III-ortho(coefficients (H×dim))` along the first axis, row-major
    /// (`coefficients` and `nonzero_end` as [`InverseDct::apply`] takes them).
    pub(crate) fn apply<'o>(
        &self,
        coefficients: &[f64],
        nonzero_end: usize,
        out: &'o mut [MaybeUninit<f64>],
        dim: usize,
        scratch: &mut InverseScratch,
    ) -> &'o mut [f64] {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above.
                unsafe { self.apply_avx2(coefficients, nonzero_end, out, dim, scratch) };
                // SAFETY: the combination writes every value of `out`.
                return unsafe { assume_init(out) };
            }
        }
        self.apply_with(coefficients, nonzero_end, out, dim, scratch, combine);
        // SAFETY: as above.
        unsafe { assume_init(out) }
    }

    /// [`InverseMatrix::apply`] compiled for AVX2, with the halves combined on 4-lane vectors
    /// ([`combine_avx2`]); the product dispatches on its own.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn apply_avx2(
        &self,
        coefficients: &[f64],
        nonzero_end: usize,
        out: &mut [MaybeUninit<f64>],
        dim: usize,
        scratch: &mut InverseScratch,
    ) {
        self.apply_with(
            coefficients,
            nonzero_end,
            out,
            dim,
            scratch,
            |halves, out| {
                // SAFETY: only reached on a CPU with AVX2 (see `apply`).
                unsafe { combine_avx2(halves, out) }
            },
        );
    }

    /// [`InverseMatrix::apply`] with `combine` ([`combine`] or a vector version of it).
    #[inline(always)]
    fn apply_with(
        &self,
        coefficients: &[f64],
        nonzero_end: usize,
        out: &mut [MaybeUninit<f64>],
        dim: usize,
        scratch: &mut InverseScratch,
        combine: impl FnOnce(&Halves<'_>, &mut [MaybeUninit<f64>]),
    ) {
        let h = self.len;
        let n = h * dim;
        debug_assert!(coefficients.len() >= n);
        debug_assert_eq!(out.len(), n);
        let (half, pairs) = (h.div_ceil(2), h / 2);
        let width = dim.next_multiple_of(COLS);
        let InverseScratch {
            padded,
            columns,
            even_out,
            odd_out,
            ..
        } = scratch;
        // Every row is read as `width` lanes from its start: the last needs `width - dim`
        // values after the chunk.
        let coefficients = if coefficients.len() >= n + (width - dim) {
            coefficients
        } else {
            padded.clear();
            padded.extend_from_slice(&coefficients[..n]);
            padded.resize(n + ROW_SLACK, 0.0);
            &padded[..]
        };
        // Rows from this one on are zero (FAST's high frequencies usually are).
        let live_rows = nonzero_end.min(n).div_ceil(dim);
        // E from the even rows, then O from the odd rows, each over its nonzero rows only,
        // read in place (row `2j + parity` starts at `(2j + parity)·dim`).
        for (parity, count, matrix, result) in [
            (0usize, half, &self.even, &mut *even_out),
            (1usize, pairs, &self.odd, &mut *odd_out),
        ] {
            columns.clear();
            for j in 0..count.min(live_rows.saturating_sub(parity).div_ceil(2)) {
                let at = (2 * j + parity) * dim;
                if coefficients[at..at + dim].iter().any(|&c| c != 0.0) {
                    columns.push(j as u32);
                }
            }
            let rows = matrix.rows() * width;
            if result.len() < rows {
                result.resize(rows, 0.0);
            }
            // Writes every row of the result (zeros when no column is listed).
            let row = move |j: usize| (2 * j + parity) * dim;
            sparse_product(matrix, columns, row, coefficients, result, width);
        }
        let halves = Halves {
            even: even_out,
            odd: odd_out,
            width,
            dim,
        };
        combine(&halves, out);
    }
}

/// `out` with every value zero.
pub(crate) fn zeros(out: &mut [MaybeUninit<f64>]) -> &mut [f64] {
    for slot in out.iter_mut() {
        slot.write(0.0);
    }
    // SAFETY: every value was just written.
    unsafe { assume_init(out) }
}

/// `out` as the `f64`s it holds.
///
/// # Safety
/// Every value of `out` must have been written.
pub(crate) unsafe fn assume_init(out: &mut [MaybeUninit<f64>]) -> &mut [f64] {
    // SAFETY: `MaybeUninit<f64>` has `f64`'s layout, and the caller vouches for the values.
    unsafe { &mut *(out as *mut [MaybeUninit<f64>] as *mut [f64]) }
}

/// `out` viewed as possibly uninitialized, for the functions that write it (they only ever
/// store initialized values, so it stays valid).
pub(crate) fn as_uninit(out: &mut [f64]) -> &mut [MaybeUninit<f64>] {
    // SAFETY: same layout; nothing writes an uninitialized value through the result.
    unsafe { &mut *(out as *mut [f64] as *mut [MaybeUninit<f64>]) }
}

/// The two halves of the inverse of one chunk: row `t` of `even` is `E[t]`, of `odd` `O[t]`,
/// `width` values apart, the first `dim` of each row meaningful.
struct Halves<'a> {
    even: &'a [f64],
    odd: &'a [f64],
    width: usize,
    dim: usize,
}

/// `x[t] = E[t] + O[t]` and `x[H-1-t] = E[t] - O[t]` (the middle step of an odd horizon `E`
/// alone) into `out`, `(H, dim)` row-major: every value of `out` is written.
fn combine(halves: &Halves<'_>, out: &mut [MaybeUninit<f64>]) {
    let Halves {
        even,
        odd,
        width,
        dim,
    } = *halves;
    let h = out.len() / dim;
    let (half, pairs) = (h.div_ceil(2), h / 2);
    for t in 0..half {
        let e = &even[t * width..t * width + dim];
        if t < pairs {
            let o = &odd[t * width..t * width + dim];
            let (early, late) = out.split_at_mut((h - 1 - t) * dim);
            let early = &mut early[t * dim..(t + 1) * dim];
            let late = &mut late[..dim];
            for (((early, late), &e), &o) in early.iter_mut().zip(late).zip(e).zip(o) {
                early.write(e + o);
                late.write(e - o);
            }
        } else {
            for (slot, &e) in out[t * dim..(t + 1) * dim].iter_mut().zip(e) {
                slot.write(e);
            }
        }
    }
}

/// [`combine`] on 4-lane AVX2 vectors, a group of 4 columns at a time (the last one masked):
/// the element loop ran scalar, with a bounds check per value, and cost more than the product.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn combine_avx2(halves: &Halves<'_>, out: &mut [MaybeUninit<f64>]) {
    use std::arch::x86_64::*;
    let Halves {
        even,
        odd,
        width,
        dim,
    } = *halves;
    let h = out.len() / dim;
    let (half, pairs) = (h.div_ceil(2), h / 2);
    // Every access below is within these (a group starts below `dim ≤ width`, and `width` is a
    // multiple of 4).
    assert!(width % 4 == 0 && dim <= width && out.len() == h * dim);
    assert!(even.len() >= half * width && odd.len() >= pairs * width);
    for g in (0..dim).step_by(4) {
        let lanes = (dim - g).min(4);
        // Lane `i` stored when `i < lanes`.
        let mask = _mm256_cmpgt_epi64(
            _mm256_set1_epi64x(lanes as i64),
            _mm256_setr_epi64x(0, 1, 2, 3),
        );
        let store = |target: *mut f64, value: __m256d| {
            if lanes == 4 {
                _mm256_storeu_pd(target, value);
            } else {
                _mm256_maskstore_pd(target, mask, value);
            }
        };
        let (even, odd) = (even.as_ptr().add(g), odd.as_ptr().add(g));
        let out = out.as_mut_ptr() as *mut f64;
        for t in 0..pairs {
            let e = _mm256_loadu_pd(even.add(t * width));
            let o = _mm256_loadu_pd(odd.add(t * width));
            store(out.add(t * dim + g), _mm256_add_pd(e, o));
            store(out.add((h - 1 - t) * dim + g), _mm256_sub_pd(e, o));
        }
        if half > pairs {
            store(
                out.add(pairs * dim + g),
                _mm256_loadu_pd(even.add(pairs * width)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_matches_the_exact_kernel() {
        let mut s = 12345u64;
        for h in 1..=70usize {
            for dim in [1usize, 2, 7, 8, 9, 14, 17] {
                let c: Vec<f64> = (0..h * dim)
                    .map(|i| {
                        s = s
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        // Sparse rows: about half the coefficients (and some whole rows) zero.
                        // For odd dims, the last third of the rows all zero too (FAST's high
                        // frequencies), which `nonzero_end` lets the scan skip.
                        let tail = dim % 2 == 1 && (i / dim) * 3 >= h * 2;
                        if (s >> 60) < 8 || (i / dim) % 3 == 2 || tail {
                            0.0
                        } else {
                            ((s >> 40) as f64 / (1u64 << 24) as f64 - 0.5) * 30.0
                        }
                    })
                    .collect();
                let mut want = vec![0.0; h * dim];
                Transform::new(DctSpec::FAST_INVERSE, h)
                    .unwrap()
                    .apply_block(&c, &mut want, dim, &mut DctScratch::default());
                // NaN first: every value must be written.
                let mut got = vec![f64::NAN; h * dim];
                let m = InverseMatrix::new(h);
                let nonzero_end = c.iter().rposition(|&v| v != 0.0).map_or(0, |i| i + 1);
                let out = as_uninit(&mut got);
                m.apply(&c, nonzero_end, out, dim, &mut InverseScratch::default());
                // The portable path (CPUs without AVX2), and the whole chunk scanned.
                let mut portable = vec![f64::NAN; h * dim];
                let mut scratch = InverseScratch::default();
                let out = as_uninit(&mut portable);
                m.apply_with(&c, h * dim, out, dim, &mut scratch, combine);
                assert_eq!(got, portable, "h={h} dim={dim}");
                let scale = c.iter().fold(1.0f64, |m, v| m.max(v.abs()));
                for (a, b) in got.iter().zip(&want) {
                    assert!(
                        (a - b).abs() <= 1e-13 * scale * h as f64,
                        "h={h} dim={dim}: {a} vs {b}"
                    );
                }
            }
        }
    }
}
