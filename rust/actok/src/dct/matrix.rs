//! Small dense DCT matrices and the register-tiled products that apply them to a chunk.
//!
//! For FAST's horizons (10–100 steps) a product with the `H×H` DCT matrix, folded in half by the
//! matrix's even/odd symmetry and vectorized over the action dimensions of a time step, is faster
//! than running an FFT-based kernel column by column. Used by [`crate::dct::forward`] (with an
//! exact fallback) and by [`crate::dct::inverse`] (decoding, where scipy agreement to about
//! `1e-15` relative is what matters, not the last bit).

/// Horizons up to this many steps are transformed by matrix product (the matrix is `H²`
/// doubles, the work `H²·D` against pocketfft's `O(H log H · D)`); FAST chunks are 10–100 steps.
pub(crate) const MAX_MATRIX_LEN: usize = 256;

/// Entry `C[k][i]` of the orthonormal DCT-II matrix of length `len` (the matrix both the
/// forward and the inverse products fold).
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
pub(crate) fn sparse_product(
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
/// [`crate::dct::forward::ForwardDct::error_bound`] holds (a fused step rounds once instead of twice),
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
