//! Small dense DCT matrices and the register-tiled products that apply them to a chunk.
//!
//! For FAST's horizons (10–100 steps) a product with the `H×H` DCT matrix, folded in half by the
//! matrix's even/odd symmetry and vectorized over the action dimensions of a time step, is faster
//! than running an FFT-based kernel column by column. Used by [`crate::fast::quantize`] (forward, with
//! an exact fallback) and by [`InverseMatrix`] (decoding, where scipy agreement to about
//! `1e-15` relative is what matters, not the last bit).

/// A per-horizon cache of `T`s built by `make`, shared by every thread: building a matrix costs
/// `H²` cosines (tens of microseconds at FAST's horizons), more than encoding one chunk.
pub(crate) fn cached<T: Send + Sync + 'static>(
    cache: &'static std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<usize, std::sync::Arc<T>>>,
    >,
    len: usize,
    make: impl FnOnce() -> crate::error::Result<T>,
) -> crate::error::Result<std::sync::Arc<T>> {
    let cache = cache.get_or_init(Default::default);
    // A poisoned lock only means another thread panicked while building; the map is still valid.
    let mut map = cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(found) = map.get(&len) {
        return Ok(found.clone());
    }
    let built = std::sync::Arc::new(make()?);
    map.insert(len, built.clone());
    Ok(built)
}

/// Entry `C[k][i]` of the orthonormal DCT-II matrix of length `len` (the matrix both the
/// quantizer and [`InverseMatrix`] fold).
pub(crate) fn ortho_entry(k: usize, i: usize, len: usize) -> f64 {
    let n = len as f64;
    let factor = if k == 0 {
        (1.0 / n).sqrt()
    } else {
        (2.0 / n).sqrt()
    };
    factor * dct_entry(k, i, len)
}

/// `cos(π·k·(2i+1) / 2H)`, with the integer multiple reduced mod `4H` first so the argument is
/// below 2π and `cos` is accurate to about one ulp.
fn dct_entry(k: usize, i: usize, len: usize) -> f64 {
    let m = (k * (2 * i + 1)) % (4 * len);
    (std::f64::consts::PI * m as f64 / (2.0 * len as f64)).cos()
}

/// Output rows per tile of the matrix product.
pub(crate) const ROWS: usize = 4;
/// Columns (action dimensions) per tile: two 4-lane vectors.
pub(crate) const COLS: usize = 8;

/// `out = matrix · x`: `matrix` is `(rows, h)` with `rows` a multiple of [`ROWS`], `x` is
/// `(h, width)` and `out` `(rows, width)` with `width` a multiple of [`COLS`], all row-major.
pub(crate) fn matrix_product(matrix: &[f64], x: &[f64], out: &mut [f64], h: usize, width: usize) {
    product(matrix, h, h, |j| j, x, out, width);
}

/// `out = matrix[:, columns] · x`: `matrix` is `(rows, stride)` row-major with `rows` a multiple
/// of [`ROWS`]; `x` holds one padded row of `width` values per entry of `columns`.
fn sparse_product(
    matrix: &[f64],
    stride: usize,
    columns: &[u32],
    x: &[f64],
    out: &mut [f64],
    width: usize,
) {
    product(
        matrix,
        stride,
        columns.len(),
        |j| columns[j] as usize,
        x,
        out,
        width,
    );
}

/// `out = matrix[:, column(0..terms)] · x`, the one kernel behind both products. Uses AVX2 with
/// fused multiply-add when the CPU has them. Fused or not, the error bound of
/// `Quantizer::tolerance` (crate::fast::quantize) holds (a fused step rounds once instead of twice),
/// so the forward integers are the same on every machine.
fn product(
    matrix: &[f64],
    stride: usize,
    terms: usize,
    column: impl Fn(usize) -> usize,
    x: &[f64],
    out: &mut [f64],
    width: usize,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            unsafe { product_avx2_fma(matrix, stride, terms, column, x, out, width) };
            return;
        }
    }
    product_tiles(matrix, stride, terms, column, x, out, width, |a, b, c| {
        a * b + c
    });
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn product_avx2_fma(
    matrix: &[f64],
    stride: usize,
    terms: usize,
    column: impl Fn(usize) -> usize,
    x: &[f64],
    out: &mut [f64],
    width: usize,
) {
    product_tiles(matrix, stride, terms, column, x, out, width, f64::mul_add);
}

/// The product in `ROWS × COLS` register tiles, each output summed over the terms in order with
/// `madd(a, b, c) = a·b + c` (fused or not).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn product_tiles(
    matrix: &[f64],
    stride: usize,
    terms: usize,
    column: impl Fn(usize) -> usize,
    x: &[f64],
    out: &mut [f64],
    width: usize,
    madd: impl Fn(f64, f64, f64) -> f64,
) {
    let rows = matrix.len() / stride;
    debug_assert_eq!(rows % ROWS, 0);
    debug_assert_eq!(width % COLS, 0);
    for k0 in (0..rows).step_by(ROWS) {
        let m = &matrix[k0 * stride..(k0 + ROWS) * stride];
        for d0 in (0..width).step_by(COLS) {
            let mut acc = [[0.0f64; COLS]; ROWS];
            for j in 0..terms {
                let xs: &[f64; COLS] = x[j * width + d0..j * width + d0 + COLS]
                    .try_into()
                    .expect("COLS values");
                let col = column(j);
                for (r, row) in acc.iter_mut().enumerate() {
                    let c = m[r * stride + col];
                    for (a, &v) in row.iter_mut().zip(xs) {
                        *a = madd(c, v, *a);
                    }
                }
            }
            for (r, row) in acc.iter().enumerate() {
                let at = (k0 + r) * width + d0;
                out[at..at + COLS].copy_from_slice(row);
            }
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

/// Reusable buffers for [`InverseMatrix::apply`].
#[derive(Default)]
pub(crate) struct InverseScratch {
    rows: Vec<f64>,
    columns: Vec<u32>,
    even_out: Vec<f64>,
    odd_out: Vec<f64>,
}

impl InverseMatrix {
    /// Horizons up to this many steps are worth a matrix (`H²` doubles).
    pub(crate) const MAX_LEN: usize = 256;

    /// The matrices for horizon `len` (`1 ≤ len ≤ MAX_LEN`), built once per horizon and shared.
    pub(crate) fn shared(len: usize) -> crate::error::Result<std::sync::Arc<Self>> {
        type Cache =
            std::sync::Mutex<std::collections::HashMap<usize, std::sync::Arc<InverseMatrix>>>;
        static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
        cached(&CACHE, len, || Ok(Self::new(len)))
    }

    /// The matrices for horizon `len` (`1 ≤ len ≤ MAX_LEN`).
    pub(crate) fn new(len: usize) -> Self {
        debug_assert!((1..=Self::MAX_LEN).contains(&len));
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
    use crate::dct::{DctScratch, DctSpec, Transform};

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
