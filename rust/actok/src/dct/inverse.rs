//! FAST's inverse transform, `scipy.fft.idct(c, type=2, norm="ortho")` along time of a chunk of
//! coefficients: a folded matrix product for FAST-sized horizons, pocketfft beyond. Decoding
//! needs agreement with scipy to about `1e-15` relative, not the last bit, so no exact
//! fallback is needed here (unlike [`crate::dct::forward`]).

use std::sync::Arc;

use crate::dct::cache::{self, Cache};
use crate::dct::matrix::{ortho_entry, sparse_product, COLS, MAX_MATRIX_LEN, ROWS};
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
    pub(crate) fn apply(
        &self,
        coefficients: &[f64],
        out: &mut [f64],
        dim: usize,
        scratch: &mut InverseScratch,
    ) {
        match self {
            Self::Matrix(m) => m.apply(coefficients, out, dim, scratch),
            Self::Exact(t) => t.apply_block(coefficients, out, dim, &mut scratch.dct),
        }
    }
}

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
    /// `even[t·half + j] = C[2j][t]` for `t < ⌈H/2⌉`, rows padded to a multiple of [`ROWS`].
    even: Vec<f64>,
    /// `odd[t·pairs + j] = C[2j+1][t]` for `t < ⌊H/2⌋`, rows padded likewise.
    odd: Vec<f64>,
}

/// Reusable buffers for [`InverseDct::apply`] (and [`InverseMatrix::apply`]).
#[derive(Default)]
pub(crate) struct InverseScratch {
    rows: Vec<f64>,
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
        let mut even = Vec::with_capacity(half.next_multiple_of(ROWS) * half);
        for t in 0..half {
            even.extend((0..half).map(|j| ortho_entry(2 * j, t, len)));
        }
        even.resize(half.next_multiple_of(ROWS) * half, 0.0);
        let mut odd = Vec::with_capacity(pairs.next_multiple_of(ROWS) * pairs);
        for t in 0..pairs {
            odd.extend((0..pairs).map(|j| ortho_entry(2 * j + 1, t, len)));
        }
        odd.resize(pairs.next_multiple_of(ROWS) * pairs, 0.0);
        Self { len, even, odd }
    }

    /// `out (H×dim) = DCT-III-ortho(coefficients (H×dim))` along the first axis, row-major.
    pub(crate) fn apply(
        &self,
        coefficients: &[f64],
        out: &mut [f64],
        dim: usize,
        scratch: &mut InverseScratch,
    ) {
        let h = self.len;
        debug_assert_eq!(coefficients.len(), h * dim);
        debug_assert_eq!(out.len(), h * dim);
        let (half, pairs) = (h.div_ceil(2), h / 2);
        let width = dim.next_multiple_of(COLS);
        let InverseScratch {
            rows,
            columns,
            even_out,
            odd_out,
            ..
        } = scratch;
        // E from the even rows, then O from the odd rows, each over its nonzero rows only.
        for (parity, count, matrix, result) in [
            (0usize, half, &self.even, &mut *even_out),
            (1usize, pairs, &self.odd, &mut *odd_out),
        ] {
            // Gather the nonzero rows, each in a slot of `width` values. The buffer only grows,
            // so padding lanes may hold values of an earlier call with more dimensions: columns
            // of the product are independent, and those lanes only feed output lanes that are
            // never read. Element loops rather than slice copies: these rows are a few values,
            // where a `memcpy` call costs more.
            if rows.len() < count * width {
                rows.resize(count * width, 0.0);
            }
            columns.clear();
            for j in 0..count {
                let row = &coefficients[(2 * j + parity) * dim..(2 * j + parity + 1) * dim];
                if row.iter().any(|&c| c != 0.0) {
                    let at = columns.len() * width;
                    for (slot, &c) in rows[at..at + dim].iter_mut().zip(row) {
                        *slot = c;
                    }
                    columns.push(j as u32);
                }
            }
            // The product overwrites every row of `result`, so it is only zeroed when skipped.
            result.resize(count.next_multiple_of(ROWS) * width, 0.0);
            if columns.is_empty() {
                result.fill(0.0);
            } else {
                sparse_product(matrix, count, columns, rows, result, width);
            }
        }
        for t in 0..half {
            let e = &even_out[t * width..t * width + dim];
            if t < pairs {
                let o = &odd_out[t * width..t * width + dim];
                let (early, late) = out.split_at_mut((h - 1 - t) * dim);
                let early = &mut early[t * dim..(t + 1) * dim];
                let late = &mut late[..dim];
                for d in 0..dim {
                    early[d] = e[d] + o[d];
                    late[d] = e[d] - o[d];
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
