//! The forward DCT's folded product for 2-dimensional chunks, computed in the chunk's own layout:
//! one 4-lane vector per pair of coefficient rows.
//!
//! [`crate::dct::matrix::narrow_product`] computes the even and the odd coefficients in two
//! calls, each vectorized over 4 output rows of one action dimension, and then scatters every
//! output value to its place in the `(H, 2)` chunk one at a time. For a 10x2 chunk that scatter,
//! the second call and their checks cost more than the multiply-adds. Here the vector holds
//! `(2r, d0), (2r, d1), (2r+1, d0), (2r+1, d1)`: exactly four consecutive values of the chunk,
//! stored with one instruction, with the even row's entry in the first two lanes and the odd
//! row's in the last two, against the sums and the differences of one folded step.
//! Each output is the same chain of multiply-adds, in the same order, as the narrow product's, so
//! the two agree to the bit (the odd rows of an odd horizon have one more term, `0 · 0`, which
//! changes nothing but the sign of a zero).

/// Horizons up to this many steps use [`PairMatrix`]: every horizon of the narrow product
/// ([`crate::dct::forward`] takes pocketfft from 200). Per value, against the narrow product
/// (`benches/workload.rs shape`): 10x2 chunks took 16 instructions fewer, 50x2 14, 160x2 11.
pub(crate) const MAX_PAIR_LEN: usize = 199;

/// The folded DCT matrix of one horizon with the even and odd rows interleaved for
/// [`pair_product`]: for row pair `r` and folded step `j`, `[E, E, O, O]` where `E` is the even
/// half's entry `(r, j)` and `O` the odd half's (zero past its `⌊H/2⌋` rows and columns):
/// `4·⌈H/2⌉²` doubles, twice the halves' (400 KiB at 199 steps, 200 KiB at 160, 32 KiB at 64).
/// (Stored once as `(E, O)` and broadcast to both dimensions, 160x2 chunks took 25% more
/// instructions.)
pub(crate) struct PairMatrix {
    /// `⌈H/2⌉`: the row pairs (the last one without its odd row for odd `H`) and the terms.
    half: usize,
    /// `⌊H/2⌋`: the odd rows.
    pairs: usize,
    /// Row pair `r`, term `j` at `4·(r·half + j)`.
    entries: Vec<f64>,
}

impl PairMatrix {
    /// The matrix for horizon `len` (≥ 1), with `even(r, j)` and `odd(r, j)` the entries of the
    /// folded halves (`⌈len/2⌉` and `⌊len/2⌋` square).
    pub(crate) fn new(
        len: usize,
        even: impl Fn(usize, usize) -> f64,
        odd: impl Fn(usize, usize) -> f64,
    ) -> Self {
        let (half, pairs) = (len.div_ceil(2), len / 2);
        let mut entries = Vec::with_capacity(4 * half * half);
        for r in 0..half {
            for j in 0..half {
                let e = even(r, j);
                let o = if r < pairs && j < pairs {
                    odd(r, j)
                } else {
                    0.0
                };
                entries.extend_from_slice(&[e, e, o, o]);
            }
        }
        Self {
            half,
            pairs,
            entries,
        }
    }
}

/// `out = DCT(chunk)` for a 2-dimensional chunk of `H` steps folded into `sums` and `diffs`
/// (rows of 2 values: `⌈H/2⌉` and `⌊H/2⌋` of them), `out` being the `(H, 2)` coefficients
/// row-major; `false` (with `out` untouched) on a CPU without AVX2 and FMA, whose callers use the
/// narrow product.
pub(crate) fn pair_product(
    matrix: &PairMatrix,
    sums: &[f64],
    diffs: &[f64],
    out: &mut [f64],
) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            unsafe { pair_product_avx2_fma(matrix, sums, diffs, out) };
            return true;
        }
    }
    let _ = (matrix, sums, diffs, out);
    false
}

/// [`pair_product`] on AVX2 vectors.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn pair_product_avx2_fma(matrix: &PairMatrix, sums: &[f64], diffs: &[f64], out: &mut [f64]) {
    use std::arch::x86_64::*;
    use std::mem::MaybeUninit;
    let PairMatrix {
        half,
        pairs,
        ref entries,
    } = *matrix;
    // Every access below is within these.
    assert!(half <= MAX_PAIR_LEN.div_ceil(2) && entries.len() == 4 * half * half);
    assert!(sums.len() >= 2 * half && diffs.len() >= 2 * pairs);
    assert_eq!(out.len(), 2 * (half + pairs));
    // Term `j`'s vector: step `j`'s sums then its differences (zeros for the middle step of an
    // odd horizon, which has none). Left uninitialized past `half` (zeroing the whole array was
    // a tenth of a 10x2 chunk's product).
    let mut terms = [MaybeUninit::<__m256d>::uninit(); MAX_PAIR_LEN.div_ceil(2)];
    for (j, term) in terms[..half].iter_mut().enumerate() {
        let sum = _mm_loadu_pd(sums.as_ptr().add(2 * j));
        let diff = if j < pairs {
            _mm_loadu_pd(diffs.as_ptr().add(2 * j))
        } else {
            _mm_setzero_pd()
        };
        term.write(_mm256_set_m128d(diff, sum));
    }
    // SAFETY: the first `half` were written just above.
    let terms = &*(&terms[..half] as *const [MaybeUninit<__m256d>] as *const [__m256d]);
    let entries = entries.as_ptr();
    // Row pairs four, then two, then one at a time: each term's vector is loaded once for all,
    // and their chains of multiply-adds are independent (one at a time, 50x2 chunks took 8%
    // more instructions, and each chain waits on its own latency).
    let mut r = 0;
    while r + 4 <= half {
        let rows = row_pairs::<4>(entries, half, terms, r);
        for (i, row) in rows.into_iter().enumerate() {
            store_row_pair(out, r + i, pairs, row);
        }
        r += 4;
    }
    if r + 2 <= half {
        let [first, second] = row_pairs::<2>(entries, half, terms, r);
        store_row_pair(out, r, pairs, first);
        store_row_pair(out, r + 1, pairs, second);
        r += 2;
    }
    if r < half {
        let [last] = row_pairs::<1>(entries, half, terms, r);
        store_row_pair(out, r, pairs, last);
    }
}

/// Row pairs `r .. r + R` of [`pair_product`]: per pair, its entries times the terms, summed
/// in order.
///
/// # Safety
/// The CPU must support AVX2 and FMA; `entries` holds `r + R ≤ half` row pairs of `half` terms.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn row_pairs<const R: usize>(
    entries: *const f64,
    half: usize,
    terms: &[std::arch::x86_64::__m256d],
    r: usize,
) -> [std::arch::x86_64::__m256d; R] {
    use std::arch::x86_64::*;
    let mut acc = [_mm256_setzero_pd(); R];
    for (j, &term) in terms.iter().enumerate() {
        for (i, acc) in acc.iter_mut().enumerate() {
            let entry = _mm256_loadu_pd(entries.add(4 * ((r + i) * half + j)));
            *acc = _mm256_fmadd_pd(entry, term, *acc);
        }
    }
    acc
}

/// Stores row pair `r` at its place in `out`: four values, or the two of the even row alone for
/// the last pair of an odd horizon (`r == pairs`), which end the chunk.
///
/// # Safety
/// The CPU must support AVX2; `out` holds `2·(half + pairs)` values and `r < half`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn store_row_pair(out: &mut [f64], r: usize, pairs: usize, row: std::arch::x86_64::__m256d) {
    use std::arch::x86_64::*;
    if r < pairs {
        _mm256_storeu_pd(out.as_mut_ptr().add(4 * r), row);
    } else {
        _mm_storeu_pd(out.as_mut_ptr().add(4 * r), _mm256_castpd256_pd128(row));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dct::matrix::{narrow_product, ortho_entry, PackedMatrix};
    use proptest::prelude::*;

    proptest! {
        /// The pair product is the narrow product of both halves to the bit (a zero's sign
        /// aside), for every horizon it takes, odd or even, on any folded values: infinite ones
        /// too (folding values near `f64::MAX`), which must reach the outputs they reach there
        /// and no other (the middle step's missing difference is a zero, not `0 · ∞`).
        #[test]
        fn the_pair_product_is_the_narrow_product(
            (len, values) in (1..=MAX_PAIR_LEN).prop_flat_map(|len| {
                let value = prop_oneof![
                    12 => -1e3f64..1e3,
                    1 => prop::sample::select(vec![f64::INFINITY, f64::NEG_INFINITY, f64::MAX]),
                ];
                (Just(len), prop::collection::vec(value, 2 * len))
            }),
        ) {
            let (half, pairs) = (len.div_ceil(2), len / 2);
            let even = |r: usize, j: usize| ortho_entry(2 * r, j, len);
            let odd = |r: usize, j: usize| ortho_entry(2 * r + 1, j, len);
            let (sums, diffs) = values.split_at(2 * half);
            let diffs = &diffs[..2 * pairs];
            let mut want = vec![0.0; 2 * len];
            narrow_product::<2>(&PackedMatrix::new(half, half, even), sums, 2, &mut want, 4);
            narrow_product::<2>(&PackedMatrix::new(pairs, pairs, odd), diffs, 2, &mut want[2..], 4);
            let mut got = vec![f64::NAN; 2 * len];
            if pair_product(&PairMatrix::new(len, even, odd), sums, diffs, &mut got) {
                let same = |(a, b): (&f64, &f64)| a == b || (a.is_nan() && b.is_nan());
                prop_assert!(got.iter().zip(&want).all(same), "{got:?} against {want:?}");
            }
        }
    }
}
