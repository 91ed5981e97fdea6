//! FAST's inverse transform, `scipy.fft.idct(c, type=2, norm="ortho")` along time of a chunk of
//! coefficients: a folded matrix product for FAST-sized horizons, pocketfft beyond. Decoding
//! needs agreement with scipy to about `1e-15` relative, not the last bit, so no exact
//! fallback is needed here (unlike [`crate::dct::forward`]).

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

    /// `out (H×dim) = DCT-III-ortho(coefficients (H×dim))` along the first axis, row-major.
    ///
    /// `coefficients` may hold [`ROW_SLACK`] values (of any value) past the `H×dim` that
    /// matter: the product then reads its rows in place (with fewer, it copies them first).
    pub(crate) fn apply(
        &self,
        coefficients: &[f64],
        out: &mut [f64],
        dim: usize,
        scratch: &mut InverseScratch,
    ) {
        match self {
            Self::Matrix(m) => m.apply(coefficients, out, dim, scratch),
            Self::Exact(t) => {
                let n = out.len();
                t.apply_block(&coefficients[..n], out, dim, &mut scratch.dct)
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
    /// (`coefficients` as [`InverseDct::apply`] takes them).
    pub(crate) fn apply(
        &self,
        coefficients: &[f64],
        out: &mut [f64],
        dim: usize,
        scratch: &mut InverseScratch,
    ) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above.
                unsafe { self.apply_avx2(coefficients, out, dim, scratch) };
                return;
            }
        }
        self.apply_with(coefficients, out, dim, scratch);
    }

    /// [`InverseMatrix::apply`] compiled for AVX2 (the row scan and the combination of the two
    /// halves become vector loops; the product dispatches on its own).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn apply_avx2(
        &self,
        coefficients: &[f64],
        out: &mut [f64],
        dim: usize,
        scratch: &mut InverseScratch,
    ) {
        self.apply_with(coefficients, out, dim, scratch);
    }

    #[inline(always)]
    fn apply_with(
        &self,
        coefficients: &[f64],
        out: &mut [f64],
        dim: usize,
        scratch: &mut InverseScratch,
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
        // E from the even rows, then O from the odd rows, each over its nonzero rows only,
        // read in place (row `2j + parity` starts at `(2j + parity)·dim`).
        for (parity, count, matrix, result) in [
            (0usize, half, &self.even, &mut *even_out),
            (1usize, pairs, &self.odd, &mut *odd_out),
        ] {
            columns.clear();
            for j in 0..count {
                let at = (2 * j + parity) * dim;
                if coefficients[at..at + dim].iter().any(|&c| c != 0.0) {
                    columns.push(j as u32);
                }
            }
            let rows = matrix.padded_rows() * width;
            if result.len() < rows {
                result.resize(rows, 0.0);
            }
            // Writes every row of the result (zeros when no column is listed).
            let row = move |j: usize| (2 * j + parity) * dim;
            sparse_product(matrix, columns, row, coefficients, result, width);
        }
        for t in 0..half {
            let e = &even_out[t * width..t * width + dim];
            if t < pairs {
                let o = &odd_out[t * width..t * width + dim];
                let (early, late) = out.split_at_mut((h - 1 - t) * dim);
                let early = &mut early[t * dim..(t + 1) * dim];
                let late = &mut late[..dim];
                for (((early, late), &e), &o) in early.iter_mut().zip(late).zip(e).zip(o) {
                    *early = e + o;
                    *late = e - o;
                }
            } else {
                out[t * dim..(t + 1) * dim].copy_from_slice(e);
            }
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
                        if (s >> 60) < 8 || (i / dim) % 3 == 2 {
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
                let mut got = vec![0.0; h * dim];
                InverseMatrix::new(h).apply(&c, &mut got, dim, &mut InverseScratch::default());
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
