//! Small dense DCT matrices and the register-tiled products that apply them to a chunk.
//!
//! For FAST's horizons (10–100 steps) a product with the `H×H` DCT matrix, folded in half by the
//! matrix's even/odd symmetry and vectorized over the action dimensions of a time step, is faster
//! than running an FFT-based kernel column by column. Used by [`crate::dct::forward`] (with an
//! exact fallback) and by [`crate::dct::inverse`] (decoding, where scipy agreement to about
//! `1e-15` relative is what matters, not the last bit).

use std::mem::MaybeUninit;

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

/// A matrix laid out for [`matrix_product`] and [`sparse_product`]: rows in tiles of [`ROWS`]
/// (zero rows appended to fill the last), each tile column-major, so that the `ROWS` entries a
/// term of the product multiplies are one contiguous, bounds-checked-once slice.
pub(crate) struct PackedMatrix {
    rows: usize,
    cols: usize,
    /// Tile `i`, column `j`, row `r` (row `i·ROWS + r` of the matrix) at `(i·cols + j)·ROWS + r`.
    data: Vec<f64>,
}

impl PackedMatrix {
    /// The `rows × cols` matrix with entries `entry(row, col)`.
    pub(crate) fn new(rows: usize, cols: usize, entry: impl Fn(usize, usize) -> f64) -> Self {
        let tiles = rows.div_ceil(ROWS);
        let mut data = Vec::with_capacity(tiles * cols * ROWS);
        for tile in 0..tiles {
            for col in 0..cols {
                for r in 0..ROWS {
                    let row = tile * ROWS + r;
                    data.push(if row < rows { entry(row, col) } else { 0.0 });
                }
            }
        }
        Self { rows, cols, data }
    }

    /// The number of rows: the rows of `width` values a product writes.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }
}

/// `out = matrix · x`: `x` is `(matrix.cols, width)` and `out` `(matrix.rows(), width)`
/// with `width` a multiple of [`COLS`], both row-major.
pub(crate) fn matrix_product(matrix: &PackedMatrix, x: &[f64], out: &mut [f64], width: usize) {
    product(matrix, matrix.cols, |j| (j, j * width), x, out, width);
}

/// `out[k·stride + d] = Σ_j matrix[k][j] · x[j·width + d]` for `d < D` (nothing else of `out` is
/// written): [`matrix_product`] vectorized over the output rows instead of the lanes, for chunks
/// of a few dimensions, writing its rows wherever the caller wants them (the forward DCT
/// interleaves the even and odd coefficients' rows in place). There the lanes of a [`COLS`]-wide tile
/// are mostly padding (a 2-dimensional chunk wastes three quarters of the work), while a tile of
/// [`ROWS`] rows is always full but for the last. Each output is the same sum, in the same order,
/// as [`matrix_product`]'s, so the two agree to the bit. `D` is a constant so that the lanes of
/// a term are unrolled: one load of the tile's entries serves all of them.
pub(crate) fn narrow_product<const D: usize>(
    matrix: &PackedMatrix,
    x: &[f64],
    width: usize,
    out: &mut [f64],
    stride: usize,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            unsafe { narrow_avx2_fma::<D>(matrix, x, width, out, stride) };
            return;
        }
    }
    narrow_tiles::<D>(matrix, x, width, out, stride, |a, b, c| a * b + c);
}

/// Tiles of [`ROWS`] rows that [`narrow_avx2_fma`] computes together: each output is a chain of
/// dependent multiply-adds as long as the matrix is wide, so one tile at a time leaves the CPU
/// waiting on each step's latency (160-step, 2-dimensional chunks took longer than with
/// pocketfft); four give it 4·D independent chains.
#[cfg(target_arch = "x86_64")]
const NARROW_TILES: usize = 4;

/// [`narrow_product`] on AVX2 vectors of [`ROWS`] rows, [`NARROW_TILES`] tiles at a time.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn narrow_avx2_fma<const D: usize>(
    matrix: &PackedMatrix,
    x: &[f64],
    width: usize,
    out: &mut [f64],
    stride: usize,
) {
    let tile_len = matrix.cols * ROWS;
    let tiles = matrix.data.len().checked_div(tile_len).unwrap_or(0);
    check_narrow::<D>(matrix, x, width, out, stride);
    let mut first = 0;
    while first + NARROW_TILES <= tiles {
        narrow_group_avx2::<D, NARROW_TILES>(matrix, first, x, width, out, stride);
        first += NARROW_TILES;
    }
    // The last tiles two, then one at a time (only a short matrix has no group of four).
    if first + 2 <= tiles {
        narrow_group_avx2::<D, 2>(matrix, first, x, width, out, stride);
        first += 2;
    }
    if first < tiles {
        narrow_group_avx2::<D, 1>(matrix, first, x, width, out, stride);
        first += 1;
    }
    if first < tiles {
        narrow_group_avx2::<D, 1>(matrix, first, x, width, out, stride);
    }
}

/// Tiles `first .. first + T` of [`narrow_avx2_fma`]: one vector accumulator per tile and lane,
/// each summed over the terms in order (the order of [`matrix_product`], so the same bits).
///
/// # Safety
/// The CPU must support AVX2 and FMA; `check_narrow::<D>` holds and `first + T` tiles exist.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn narrow_group_avx2<const D: usize, const T: usize>(
    matrix: &PackedMatrix,
    first: usize,
    x: &[f64],
    width: usize,
    out: &mut [f64],
    stride: usize,
) {
    use std::arch::x86_64::*;
    let cols = matrix.cols;
    let tile_len = cols * ROWS;
    debug_assert!((first + T) * tile_len <= matrix.data.len());
    let group = matrix.data.as_ptr().add(first * tile_len);
    let mut acc = [[_mm256_setzero_pd(); D]; T];
    for j in 0..cols {
        // In bounds: `j < cols`, `D ≤ width` and `cols·width ≤ x.len()` (check_narrow), and
        // tile `first + t < tiles` holds `cols` terms of `ROWS` entries.
        let xs: [__m256d; D] =
            std::array::from_fn(|d| _mm256_broadcast_sd(&*x.as_ptr().add(j * width + d)));
        for (t, tile_acc) in acc.iter_mut().enumerate() {
            let c = _mm256_loadu_pd(group.add(t * tile_len + j * ROWS));
            for (a, &v) in tile_acc.iter_mut().zip(&xs) {
                *a = _mm256_fmadd_pd(c, v, *a);
            }
        }
    }
    for (t, tile_acc) in acc.iter().enumerate() {
        let row0 = (first + t) * ROWS;
        let rows = (matrix.rows - row0).min(ROWS);
        for (d, &a) in tile_acc.iter().enumerate() {
            let mut lanes = [0.0f64; ROWS];
            _mm256_storeu_pd(lanes.as_mut_ptr(), a);
            for (r, &v) in lanes[..rows].iter().enumerate() {
                // In bounds: row `row0 + r < matrix.rows` and `d < D` (check_narrow).
                *out.get_unchecked_mut((row0 + r) * stride + d) = v;
            }
        }
    }
}

/// The bounds every [`narrow_product`] relies on.
#[inline(always)]
fn check_narrow<const D: usize>(
    matrix: &PackedMatrix,
    x: &[f64],
    width: usize,
    out: &[f64],
    stride: usize,
) {
    let (cols, rows) = (matrix.cols, matrix.rows);
    assert!(
        D <= width && D <= stride,
        "{D} lanes of rows of {width} and {stride}"
    );
    assert!(
        x.len() >= cols * width,
        "{cols} rows of {width} in {}",
        x.len()
    );
    assert!(
        rows == 0 || out.len() >= (rows - 1) * stride + D,
        "{rows} rows {stride} apart in {}",
        out.len()
    );
}

/// [`narrow_product`] with `madd(a, b, c) = a·b + c` (fused or not) one tile at a time: per tile
/// of [`ROWS`] rows, one accumulator of `ROWS` values per lane, summed over the terms in order.
#[inline(always)]
fn narrow_tiles<const D: usize>(
    matrix: &PackedMatrix,
    x: &[f64],
    width: usize,
    out: &mut [f64],
    stride: usize,
    madd: impl Fn(f64, f64, f64) -> f64,
) {
    check_narrow::<D>(matrix, x, width, out, stride);
    let tile_len = matrix.cols * ROWS;
    if tile_len == 0 {
        return;
    }
    for (t, tile) in matrix.data.chunks_exact(tile_len).enumerate() {
        let mut acc = [[0.0f64; ROWS]; D];
        for (j, c) in tile.chunks_exact(ROWS).enumerate() {
            let xs = &x[j * width..j * width + D];
            for (lane, &v) in acc.iter_mut().zip(xs) {
                for (a, &cr) in lane.iter_mut().zip(c) {
                    *a = madd(cr, v, *a);
                }
            }
        }
        let rows = (matrix.rows - t * ROWS).min(ROWS);
        for r in 0..rows {
            let at = (t * ROWS + r) * stride;
            for (d, lane) in acc.iter().enumerate() {
                out[at + d] = lane[r];
            }
        }
    }
}

/// `out = Σ_j matrix[:, columns[j]] · x[row(columns[j]) .. + width]`: the product with only
/// the columns listed (each below `matrix.cols`), their rows of `x` found by `row` (offsets of
/// `width` readable values; lanes past the values that matter only feed output lanes that do
/// not matter either: columns of the product are independent). `out` is
/// `(matrix.rows(), width)`.
pub(crate) fn sparse_product(
    matrix: &PackedMatrix,
    columns: &[u32],
    row: impl Fn(usize) -> usize,
    x: &[f64],
    out: &mut [f64],
    width: usize,
) {
    product(
        matrix,
        columns.len(),
        |j| {
            let c = columns[j] as usize;
            (c, row(c))
        },
        x,
        out,
        width,
    );
}

/// `out = Σ_j matrix[:, column_j] · x[offset_j ..]` with `(column_j, offset_j) = term(j)` for
/// `j < terms`, the one kernel behind both products. Uses AVX2 with fused multiply-add when the
/// CPU has them. Fused or not, the error bound of
/// [`crate::dct::forward::ForwardDct::error_bound`] holds (a fused step rounds once instead of
/// twice), so the forward integers are the same on every machine.
fn product(
    matrix: &PackedMatrix,
    terms: usize,
    term: impl Fn(usize) -> (usize, usize),
    x: &[f64],
    out: &mut [f64],
    width: usize,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            unsafe { product_avx2_fma(matrix, terms, term, x, out, width) };
            return;
        }
    }
    product_tiles(matrix, terms, term, x, out, width, |a, b, c| a * b + c);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn product_avx2_fma(
    matrix: &PackedMatrix,
    terms: usize,
    term: impl Fn(usize) -> (usize, usize),
    x: &[f64],
    out: &mut [f64],
    width: usize,
) {
    product_tiles(matrix, terms, term, x, out, width, f64::mul_add);
}

/// The most terms a product has: the columns of the largest matrix (a half of the DCT's).
const MAX_TERMS: usize = MAX_MATRIX_LEN.div_ceil(2);

/// The product in `ROWS × COLS` register tiles, each output summed over the terms in order with
/// `madd(a, b, c) = a·b + c` (fused or not).
///
/// The terms' slices are bounds-checked once, when their offsets are listed, rather than in the
/// loop over them that every tile runs: there, a check of each slice (or worse, of each row
/// and lane) cost as much as the loads and multiply-adds themselves.
#[inline(always)]
fn product_tiles(
    matrix: &PackedMatrix,
    terms: usize,
    term: impl Fn(usize) -> (usize, usize),
    x: &[f64],
    out: &mut [f64],
    width: usize,
    madd: impl Fn(f64, f64, f64) -> f64,
) {
    assert_eq!(width % COLS, 0, "rows of whole tiles");
    let tile_len = matrix.cols * ROWS;
    if tile_len == 0 || width == 0 {
        return;
    }
    assert!(terms <= MAX_TERMS, "{terms} terms, at most {MAX_TERMS}");
    // Per term, where its matrix entries start in a tile and its lanes in `x`. Only the first
    // `terms` are written, and read: the array is left uninitialized past them (zeroing all
    // `MAX_TERMS` cost about 180 instructions per product, a third of a 10x14 chunk's).
    let mut starts = [MaybeUninit::<(u32, usize)>::uninit(); MAX_TERMS];
    for (slot, j) in starts.iter_mut().zip(0..terms) {
        let (col, offset) = term(j);
        assert!(
            col < matrix.cols,
            "column {col} of a matrix of {}",
            matrix.cols
        );
        assert!(
            offset.checked_add(width).is_some_and(|end| end <= x.len()),
            "a row of {width} values at {offset} in {}",
            x.len()
        );
        // Below `MAX_TERMS · ROWS`, so it fits.
        slot.write(((col * ROWS) as u32, offset));
    }
    // SAFETY: the first `terms` (at most `MAX_TERMS`, asserted) were written just above.
    let starts = unsafe {
        &*(&starts[..terms] as *const [MaybeUninit<(u32, usize)>] as *const [(u32, usize)])
    };
    let (full, rest) = (matrix.rows / ROWS, matrix.rows % ROWS);
    for (t, tile) in matrix.data.chunks_exact(tile_len).enumerate() {
        // The last tile's padding rows are not computed: with FAST's horizons (half of 50 is
        // 25 rows) they would be an eighth of the work.
        let rows = if t < full { ROWS } else { rest };
        let out_rows = &mut out[t * ROWS * width..(t * ROWS + rows) * width];
        match rows {
            4 => tile_product::<4>(tile, starts, x, out_rows, width, &madd),
            3 => tile_product::<3>(tile, starts, x, out_rows, width, &madd),
            2 => tile_product::<2>(tile, starts, x, out_rows, width, &madd),
            _ => tile_product::<1>(tile, starts, x, out_rows, width, &madd),
        }
    }
}

/// The first `R ≤ ROWS` rows of one tile of the product, `COLS` lanes at a time.
#[inline(always)]
fn tile_product<const R: usize>(
    tile: &[f64],
    starts: &[(u32, usize)],
    x: &[f64],
    out_rows: &mut [f64],
    width: usize,
    madd: &impl Fn(f64, f64, f64) -> f64,
) {
    debug_assert!(R <= ROWS && out_rows.len() == R * width);
    for d0 in (0..width).step_by(COLS) {
        let mut acc = [[0.0f64; COLS]; R];
        for &(c_at, x_at) in starts {
            // SAFETY: `c_at = col·ROWS` with `col < cols`, so `c_at + ROWS ≤ tile.len()`;
            // `x_at + width ≤ x.len()` and `d0 + COLS ≤ width` (`width` is a multiple of
            // `COLS`). Both checked when `starts` was filled.
            let (c, xs) = unsafe {
                (
                    &*(tile.as_ptr().add(c_at as usize) as *const [f64; ROWS]),
                    &*(x.as_ptr().add(x_at + d0) as *const [f64; COLS]),
                )
            };
            for (row, &cr) in acc.iter_mut().zip(c) {
                for (a, &v) in row.iter_mut().zip(xs) {
                    *a = madd(cr, v, *a);
                }
            }
        }
        for (r, row) in acc.iter().enumerate() {
            let at = r * width + d0;
            out_rows[at..at + COLS].copy_from_slice(row);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The product as the definition: every output summed over the terms in order.
    fn reference(
        entry: impl Fn(usize, usize) -> f64,
        rows: usize,
        columns: &[u32],
        x: &[f64],
        width: usize,
    ) -> Vec<f64> {
        let mut out = vec![0.0; rows * width];
        for k in 0..rows {
            for d in 0..width {
                let mut acc = 0.0f64;
                for (j, &c) in columns.iter().enumerate() {
                    acc = entry(k, c as usize).mul_add(x[j * width + d], acc);
                }
                out[k * width + d] = acc;
            }
        }
        out
    }

    #[test]
    fn the_narrow_product_is_the_wide_one_to_the_bit() {
        // Irrational-looking entries and inputs: a different order of the sums would show.
        let entry = |k: usize, j: usize| ((k * 7 + j * 3 + 1) as f64).sqrt().sin();
        for (rows, cols) in [
            (1, 1),
            (3, 5),
            (4, 4),
            (5, 5),
            (9, 13),
            (13, 16),
            (17, 9),
            (25, 25),
            (80, 80),
        ] {
            let m = PackedMatrix::new(rows, cols, entry);
            for dim in 1..=3 {
                let width = COLS;
                let x: Vec<f64> = (0..cols * width).map(|i| (i as f64 * 0.37).cos()).collect();
                let mut wide = vec![0.0; rows * width];
                matrix_product(&m, &x, &mut wide, width);
                // One row more than the product writes, and the lanes past `dim`: untouched.
                let mut narrow = vec![f64::NAN; (rows + 1) * width];
                match dim {
                    1 => narrow_product::<1>(&m, &x, width, &mut narrow, width),
                    2 => narrow_product::<2>(&m, &x, width, &mut narrow, width),
                    _ => narrow_product::<3>(&m, &x, width, &mut narrow, width),
                }
                // The portable form against the wide product's portable form (unfused).
                let mut portable_wide = vec![0.0; rows * width];
                product_tiles(
                    &m,
                    cols,
                    |j| (j, j * width),
                    &x,
                    &mut portable_wide,
                    width,
                    |a, b, c| a * b + c,
                );
                let mut portable = vec![f64::NAN; (rows + 1) * width];
                let unfused = |a: f64, b: f64, c: f64| a * b + c;
                match dim {
                    1 => narrow_tiles::<1>(&m, &x, width, &mut portable, width, unfused),
                    2 => narrow_tiles::<2>(&m, &x, width, &mut portable, width, unfused),
                    _ => narrow_tiles::<3>(&m, &x, width, &mut portable, width, unfused),
                }
                for k in 0..rows {
                    for d in 0..dim {
                        let (got, want) = (portable[k * width + d], portable_wide[k * width + d]);
                        assert_eq!(
                            got.to_bits(),
                            want.to_bits(),
                            "portable {rows}x{cols} d{dim}"
                        );
                    }
                }
                for k in 0..=rows {
                    for d in 0..width {
                        let (got, want) = (narrow[k * width + d], wide.get(k * width + d));
                        if k < rows && d < dim {
                            assert_eq!(
                                got.to_bits(),
                                want.unwrap().to_bits(),
                                "{rows}x{cols} d{dim}"
                            );
                        } else {
                            assert!(got.is_nan(), "{rows}x{cols} d{dim}: wrote ({k}, {d})");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn products_are_the_definition() {
        // Small integers: every product and sum is exact, so fused or not gives the same bits.
        let entry = |k: usize, j: usize| ((k * 7 + j * 3) % 11) as f64 - 5.0;
        for (rows, cols) in [(1, 1), (3, 5), (4, 4), (5, 2), (9, 13), (25, 25)] {
            let m = PackedMatrix::new(rows, cols, entry);
            assert_eq!(m.rows(), rows);
            for width in [COLS, 2 * COLS] {
                let all: Vec<u32> = (0..cols as u32).collect();
                let sparse: Vec<u32> = (0..cols as u32).filter(|j| j % 3 != 1).collect();
                for columns in [all, sparse] {
                    let x: Vec<f64> = (0..columns.len() * width)
                        .map(|i| ((i * 5) % 7) as f64 - 3.0)
                        .collect();
                    // One row more than the product writes: it must stay untouched.
                    let mut out = vec![f64::NAN; (rows + 1) * width];
                    if columns.len() == cols {
                        matrix_product(&m, &x, &mut out, width);
                    } else {
                        // The listed columns' rows spread out, in reverse order, in a larger x.
                        let mut spread = vec![f64::NAN; (cols + 1) * width];
                        for (j, &c) in columns.iter().enumerate() {
                            let at = (cols - c as usize) * width;
                            spread[at..at + width].copy_from_slice(&x[j * width..(j + 1) * width]);
                        }
                        let row = |c: usize| (cols - c) * width;
                        sparse_product(&m, &columns, row, &spread, &mut out, width);
                    }
                    let want = reference(entry, rows, &columns, &x, width);
                    assert_eq!(&out[..rows * width], &want[..], "{rows}x{cols} w{width}");
                    assert!(out[rows * width..].iter().all(|&v| v.is_nan()));
                }
            }
        }
    }
}
