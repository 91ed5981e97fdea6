//! FAST's forward step, `round_half_even(scale · DCT-II-ortho(chunk))` along time, fast and still
//! exactly scipy's integers.
//!
//! The transform is [`ForwardDct`]'s folded matrix product, which rounds differently from
//! scipy's pocketfft in the last bits, and FAST rounds the scaled coefficients: a coefficient
//! sitting on a `.5` tie (binary gripper signals produce exact ties) could round the other way.
//! So every scaled coefficient `v` is checked against [`ForwardDct::error_bound`]: when
//! `|frac(v) - 0.5|` is within the bound, the column is recomputed with the exact kernel
//! ([`ForwardDct::exact_column`]) and rounded from that. The bound is a forward error bound of
//! both computations, so a coefficient outside it rounds to the same integer either way. For
//! data that are not on ties this fallback essentially never runs (the band is about `1e-11`
//! wide). The rounding and the check run on AVX2 vectors when the CPU has them
//! ([`round_rows_avx2`], the same arithmetic as the portable [`round_rows`]): they cost more than
//! the product before.

use std::sync::Arc;

use crate::dct::forward::{Folded, ForwardDct, ForwardScratch, Transformed};
use crate::error::Result;
use crate::sample::Sample;

/// Quantizes chunks of one horizon: see the module docs.
pub(crate) struct Quantizer {
    dct: Arc<ForwardDct>,
}

/// Reusable buffers for [`Quantizer::quantize`].
#[derive(Default)]
pub(crate) struct QuantizeScratch {
    /// Per column, whether the bound cannot vouch for the rounding of one of its coefficients:
    /// the exact kernel redoes those columns. All false between chunks: each flag is cleared
    /// when its column is redone, so a chunk starts without clearing them (a `memset` call per
    /// chunk). (A flag left set, by a panic, would only redo a column exactly: same result.)
    suspect: Vec<bool>,
    dct: ForwardScratch,
}

impl QuantizeScratch {
    /// Reserves every buffer for `(len, dim)` chunks (see [`ForwardScratch::reserve`]).
    pub(crate) fn reserve(&mut self, len: usize, dim: usize) {
        crate::bpe::reserve_total(&mut self.suspect, dim);
        self.dct.reserve(len);
    }
}

/// The folded product's coefficients of one chunk, to be scaled and rounded into `(H, dim)`
/// order: coefficient `k`'s row is row `k / 2` of `even` (even `k`) or `odd` (odd `k`), `width`
/// values apart, and `tolerances[d]` is column `d`'s error bound.
struct FoldedRows<'a> {
    even: &'a [f64],
    odd: &'a [f64],
    width: usize,
    dim: usize,
    scale: f64,
    tolerances: &'a [f64],
}

impl Quantizer {
    /// The quantizer for horizon `len` (≥ 1), on the shared transform of that horizon.
    pub(crate) fn new(len: usize) -> Result<Self> {
        Ok(Self {
            dct: ForwardDct::shared(len)?,
        })
    }

    /// `out[t·dim + d] = round_half_even(scale · DCT-II-ortho(chunk[:, d])[t])`, the integers
    /// scipy's `np.around(dct(chunk, axis=0, norm="ortho") * scale)` gives. Non-finite results
    /// (only possible for values near `f64::MAX`) are left as computed by the exact kernel, for the
    /// caller to report.
    pub(crate) fn quantize<T: Sample>(
        &self,
        chunk: &[T],
        dim: usize,
        scale: f64,
        out: &mut [f64],
        scratch: &mut QuantizeScratch,
    ) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above.
                unsafe { self.quantize_avx2(chunk, dim, scale, out, scratch) };
                return;
            }
        }
        self.quantize_with(chunk, dim, scale, out, scratch, round_rows, round_in_place);
    }

    /// [`Quantizer::quantize`] compiled for AVX2: the folding loops become vector loops, and
    /// the rounding and its check run on 4-lane vectors ([`round_rows_avx2`]).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn quantize_avx2<T: Sample>(
        &self,
        chunk: &[T],
        dim: usize,
        scale: f64,
        out: &mut [f64],
        scratch: &mut QuantizeScratch,
    ) {
        self.quantize_with(
            chunk,
            dim,
            scale,
            out,
            scratch,
            |rows, out, suspect| {
                // SAFETY: only reached on a CPU with AVX2 (see `quantize`).
                unsafe { round_rows_avx2(rows, out, suspect) }
            },
            |out, columns, suspect| {
                // SAFETY: as above.
                unsafe { round_in_place_avx2(out, columns, suspect) }
            },
        );
    }

    /// Turns each column's sum of absolute values in `sums` into its error bound at `scale`.
    fn tolerances(&self, sums: &mut [f64], scale: f64) {
        for s in sums.iter_mut() {
            *s = self.dct.error_bound(*s, scale);
        }
    }

    /// [`Quantizer::quantize`] with `round_rows` and `round_in_place` ([`round_rows`] and
    /// [`round_in_place`], or vector versions of them).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn quantize_with<T: Sample>(
        &self,
        chunk: &[T],
        dim: usize,
        scale: f64,
        out: &mut [f64],
        scratch: &mut QuantizeScratch,
        round_rows: impl FnOnce(&FoldedRows<'_>, &mut [f64], &mut [bool]),
        round_in_place: impl FnOnce(&mut [f64], &Columns<'_>, &mut [bool]),
    ) {
        debug_assert_eq!(out.len(), chunk.len());
        let QuantizeScratch { suspect, dct } = scratch;
        if suspect.len() < dim {
            suspect.resize(dim, false);
        }
        let suspect = &mut suspect[..dim];
        match self.dct.transform(chunk, dim, out, dct) {
            Transformed::Exact => {
                // Already scipy's exact values.
                for v in out.iter_mut() {
                    *v = round_half_even(*v * scale);
                }
                return;
            }
            Transformed::InPlace(abs_sums) => {
                let tolerances = &mut abs_sums[..dim];
                self.tolerances(tolerances, scale);
                let columns = Columns { scale, tolerances };
                round_in_place(out, &columns, suspect);
            }
            Transformed::Rows(Folded {
                even,
                odd,
                width,
                abs_sums,
            }) => {
                let tolerances = abs_sums;
                self.tolerances(tolerances, scale);
                let rows = FoldedRows {
                    even,
                    odd,
                    width,
                    dim,
                    scale,
                    tolerances,
                };
                round_rows(&rows, out, suspect);
            }
        }
        for d in 0..dim {
            if !std::mem::take(&mut suspect[d]) {
                continue;
            }
            let column = self.dct.exact_column(chunk, dim, d, dct);
            for (t, c) in column.iter().enumerate() {
                out[t * dim + d] = round_half_even(*c * scale);
            }
        }
    }
}

/// The scale and the per-column error bounds of coefficients already in place, `(H, dim)`
/// row-major with `dim = tolerances.len()`.
struct Columns<'a> {
    scale: f64,
    tolerances: &'a [f64],
}

/// `v = round_half_even(scale · v)` for the coefficients in `out` (`(H, dim)` row-major), marking
/// in `suspect` the columns with a value the bound cannot vouch for ([`round_vouched`]).
fn round_in_place(out: &mut [f64], columns: &Columns<'_>, suspect: &mut [bool]) {
    let Columns { scale, tolerances } = *columns;
    for row in out.chunks_exact_mut(tolerances.len()) {
        for ((v, &tol), suspect) in row.iter_mut().zip(tolerances).zip(suspect.iter_mut()) {
            let (rounded, vouched) = round_vouched(*v, scale, tol);
            *suspect |= !vouched;
            *v = rounded;
        }
    }
}

/// The column of each of the 12 positions of [`round_in_place_avx2`]'s pattern, for 1, 2 and 3
/// columns (index `dim - 1`): position `i` is column `i % dim`.
const PATTERN_COLUMNS: [[u8; 12]; 3] = [
    [0; 12],
    [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1],
    [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2],
];

/// Per column, the bits of the pattern's positions that hold it ([`PATTERN_COLUMNS`] as masks),
/// for 1, 2 and 3 columns: the 12 verdicts of the pattern, as a 12-bit mask, tell a column's
/// fate with one `and`.
const COLUMN_BITS: [[u16; 3]; 3] = [[0xFFF, 0, 0], [0x555, 0xAAA, 0], [0x249, 0x492, 0x924]];

/// [`round_in_place`] on 4-lane AVX2 vectors for 1 to 3 columns (the narrow product's chunks):
/// `out` is read 4 values at a time whatever the row length, each vector against the columns'
/// bounds in the order its values have (the pattern repeats every 12 values, a multiple of 1, 2
/// and 3 columns and of the 4 lanes); the last values, fewer than 4, are done one by one.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn round_in_place_avx2(out: &mut [f64], columns: &Columns<'_>, suspect: &mut [bool]) {
    use std::arch::x86_64::*;
    let Columns { scale, tolerances } = *columns;
    let dim = tolerances.len();
    if !(1..=3).contains(&dim) {
        round_in_place(out, columns, suspect);
        return;
    }
    // (Whole rows are not needed for the accesses below: the tail is at most 3 values, and
    // at least 4 pattern entries follow any multiple of 4 below 12.)
    assert!(suspect.len() >= dim);
    debug_assert_eq!(out.len() % dim, 0);
    // The bounds of the pattern's three vectors, set from the columns directly (a loop filling
    // the 12 entries one by one cost about 60 instructions, a third of a 10x2 chunk's rounding).
    let pattern = pattern_avx2(tolerances);
    let vscale = _mm256_set1_pd(scale);
    // One verdict register per third of the pattern.
    let mut bad = [_mm256_setzero_pd(); 3];
    // Whole patterns of 12 values, then the 0, 4 or 8 values of vectors left.
    let (patterns, full) = (out.len() / 12 * 12, out.len() / 4 * 4);
    for at in (0..patterns).step_by(12) {
        for (p, bad) in bad.iter_mut().enumerate() {
            // In bounds: `at + 4·p + 4 ≤ patterns ≤ out.len()`.
            let v = out.as_mut_ptr().add(at + 4 * p);
            *bad = _mm256_or_pd(*bad, round_vector_avx2(v, vscale, pattern[p]));
        }
    }
    for (p, at) in (patterns..full).step_by(4).enumerate() {
        // In bounds: `at + 4 ≤ full ≤ out.len()`, and `p < 2`.
        let v = out.as_mut_ptr().add(at);
        bad[p] = _mm256_or_pd(bad[p], round_vector_avx2(v, vscale, pattern[p]));
    }
    // Bit `i`: a value at position `i` of the pattern was not vouched for.
    let verdicts = _mm256_movemask_pd(bad[0])
        | _mm256_movemask_pd(bad[1]) << 4
        | _mm256_movemask_pd(bad[2]) << 8;
    for (suspect, &bits) in suspect.iter_mut().zip(&COLUMN_BITS[dim - 1][..dim]) {
        *suspect |= verdicts as u16 & bits != 0;
    }
    // `full` is a multiple of 12 plus 0, 4 or 8: the tail's columns continue the pattern.
    let tail_columns = &PATTERN_COLUMNS[dim - 1][full % 12..];
    for (v, &d) in out[full..].iter_mut().zip(tail_columns) {
        let d = usize::from(d);
        let (rounded, vouched) = round_vouched(*v, scale, tolerances[d]);
        suspect[d] |= !vouched;
        *v = rounded;
    }
}

/// Rounds the 4 values at `v` in place (`round_half_even(scale · v)`, `scale` in every lane),
/// and returns where the bounds `tol` do not vouch for the rounding (all bits set in those
/// lanes): the vector form of [`round_vouched`].
///
/// # Safety
/// The CPU must support AVX2; 4 values are readable and writable at `v`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn round_vector_avx2(
    v: *mut f64,
    scale: std::arch::x86_64::__m256d,
    tol: std::arch::x86_64::__m256d,
) -> std::arch::x86_64::__m256d {
    use std::arch::x86_64::*;
    let scaled = _mm256_mul_pd(_mm256_loadu_pd(v), scale);
    let rounded = _mm256_round_pd::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(scaled);
    let distance = _mm256_andnot_pd(_mm256_set1_pd(-0.0), _mm256_sub_pd(scaled, rounded));
    let margin = _mm256_sub_pd(_mm256_set1_pd(0.5), distance);
    _mm256_storeu_pd(v, rounded);
    _mm256_cmp_pd::<_CMP_NGT_UQ>(margin, tol)
}

/// The bounds of the 12 positions of [`round_in_place_avx2`]'s pattern as three vectors,
/// position `i` holding column `i % dim`'s, for `tolerances` of 1 to 3 columns.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn pattern_avx2(tolerances: &[f64]) -> [std::arch::x86_64::__m256d; 3] {
    use std::arch::x86_64::*;
    match *tolerances {
        [t] => [_mm256_set1_pd(t); 3],
        [t0, t1] => [_mm256_setr_pd(t0, t1, t0, t1); 3],
        [t0, t1, t2] => [
            _mm256_setr_pd(t0, t1, t2, t0),
            _mm256_setr_pd(t1, t2, t0, t1),
            _mm256_setr_pd(t2, t0, t1, t2),
        ],
        _ => unreachable!("1 to 3 columns"),
    }
}

/// `out[k·dim + d] = round_half_even(scale · row_k[d])` for the rows of `rows`, marking in
/// `suspect` the columns with a value the bound cannot vouch for ([`round_vouched`]).
fn round_rows(rows: &FoldedRows<'_>, out: &mut [f64], suspect: &mut [bool]) {
    let FoldedRows {
        even,
        odd,
        width,
        dim,
        scale,
        tolerances,
    } = *rows;
    for (k, row) in out.chunks_exact_mut(dim).enumerate() {
        let source = if k % 2 == 0 { even } else { odd };
        let at = (k / 2) * width;
        for (((slot, &v), &tol), suspect) in row
            .iter_mut()
            .zip(&source[at..at + dim])
            .zip(tolerances)
            .zip(suspect.iter_mut())
        {
            let (rounded, vouched) = round_vouched(v, scale, tol);
            *suspect |= !vouched;
            *slot = rounded;
        }
    }
}

/// [`round_rows`] on 4-lane AVX2 vectors: for each group of 4 columns, every row is one load,
/// multiply, rounding, check and store (masked for the last, partial group), and the check's
/// verdicts are ORed into one register per group.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn round_rows_avx2(rows: &FoldedRows<'_>, out: &mut [f64], suspect: &mut [bool]) {
    use std::arch::x86_64::*;
    let FoldedRows {
        even,
        odd,
        width,
        dim,
        scale,
        tolerances,
    } = *rows;
    let h = out.len() / dim;
    let (half, pairs) = (h.div_ceil(2), h / 2);
    // Every access below is within these (a group starts below `dim ≤ width`, and `width` is a
    // multiple of 4).
    assert!(width % 4 == 0 && dim <= width && out.len() == h * dim);
    assert!(even.len() >= half * width && odd.len() >= pairs * width);
    assert!(tolerances.len() >= width && suspect.len() >= dim);
    let scale = _mm256_set1_pd(scale);
    let one_half = _mm256_set1_pd(0.5);
    let sign = _mm256_set1_pd(-0.0);
    for g in (0..dim).step_by(4) {
        let lanes = (dim - g).min(4);
        // Lane `i` stored when `i < lanes`.
        let mask = _mm256_cmpgt_epi64(
            _mm256_set1_epi64x(lanes as i64),
            _mm256_setr_epi64x(0, 1, 2, 3),
        );
        let tol = _mm256_loadu_pd(tolerances.as_ptr().add(g));
        let mut bad = _mm256_setzero_pd();
        let mut round = |source: *const f64, target: *mut f64| {
            let scaled = _mm256_mul_pd(_mm256_loadu_pd(source), scale);
            let rounded =
                _mm256_round_pd::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(scaled);
            let distance = _mm256_andnot_pd(sign, _mm256_sub_pd(scaled, rounded));
            let margin = _mm256_sub_pd(one_half, distance);
            bad = _mm256_or_pd(bad, _mm256_cmp_pd::<_CMP_NGT_UQ>(margin, tol));
            if lanes == 4 {
                _mm256_storeu_pd(target, rounded);
            } else {
                _mm256_maskstore_pd(target, mask, rounded);
            }
        };
        let (even, odd, out) = (even.as_ptr().add(g), odd.as_ptr().add(g), out.as_mut_ptr());
        for j in 0..half {
            round(even.add(j * width), out.add(2 * j * dim + g));
            if j < pairs {
                round(odd.add(j * width), out.add((2 * j + 1) * dim + g));
            }
        }
        // Only the group's `lanes` verdicts count: the lanes past `dim` are padding, whatever
        // their values (even NaN, which is suspect).
        let verdicts = _mm256_movemask_pd(bad);
        for (i, suspect) in suspect[g..g + lanes].iter_mut().enumerate() {
            *suspect |= verdicts >> i & 1 != 0;
        }
    }
}

/// `round_half_even(scale · v)`, and whether the error bound `tol` vouches for that rounding:
/// `|scaled - rounded| ≤ 0.5`, a tie is where it equals 0.5, and the value is vouched for when it
/// is more than `tol` from one. Written so that NaN (a non-finite value or bound) is not vouched
/// for. The scalar form of the vector test in [`round_rows_avx2`] and [`round_in_place_avx2`].
#[inline(always)]
fn round_vouched(v: f64, scale: f64, tol: f64) -> (f64, bool) {
    let scaled = v * scale;
    let rounded = round_half_even(scaled);
    // False for NaN too.
    (rounded, 0.5 - (scaled - rounded).abs() > tol)
}

/// `round_ties_even` without a libm call on targets lacking a rounding instruction: adding and
/// subtracting 1.5·2^52 rounds to an integer in the current (round-to-nearest-even) mode for
/// `|x| < 2^51`; larger magnitudes are integers already (or not finite) and pass through.
#[inline]
pub(crate) fn round_half_even(x: f64) -> f64 {
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5 · 2^52
    if x.abs() < 2_251_799_813_685_248.0 {
        // 2^51
        (x + MAGIC) - MAGIC
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dct::matrix::MAX_MATRIX_LEN;
    use crate::dct::{DctScratch, DctSpec, Transform};
    use proptest::prelude::*;

    /// The exact path: pocketfft column by column, then rounding.
    fn exact(chunk: &[f64], h: usize, dim: usize, scale: f64) -> Vec<f64> {
        let t = Transform::new(DctSpec::FAST_FORWARD, h).unwrap();
        let mut out = vec![0.0; h * dim];
        t.apply_block(chunk, &mut out, dim, &mut DctScratch::default());
        out.iter().map(|c| (c * scale).round_ties_even()).collect()
    }

    /// The quantizer as it runs on this machine (with AVX2 when the CPU has it), checked
    /// against the portable rounding loop (the path of CPUs without it) on the same input.
    fn fast(chunk: &[f64], h: usize, dim: usize, scale: f64) -> Vec<f64> {
        let q = Quantizer::new(h).unwrap();
        let mut out = vec![0.0; h * dim];
        q.quantize(chunk, dim, scale, &mut out, &mut QuantizeScratch::default());
        let mut portable = vec![0.0; h * dim];
        let mut scratch = QuantizeScratch::default();
        q.quantize_with(
            chunk,
            dim,
            scale,
            &mut portable,
            &mut scratch,
            round_rows,
            round_in_place,
        );
        let same = |a: &f64, b: &f64| a == b || (a.is_nan() && b.is_nan());
        assert!(
            out.iter().zip(&portable).all(|(a, b)| same(a, b)),
            "the dispatched and the portable path differ: {out:?} vs {portable:?}"
        );
        out
    }

    #[test]
    fn round_half_even_matches_std() {
        for &x in &[
            0.5,
            1.5,
            2.5,
            -0.5,
            -1.5,
            -2.5,
            0.49999999999999994,
            1e300,
            -1e300,
            4.5e15,
            0.0,
            -0.0,
            3.7,
            -3.7,
            2f64.powi(51) - 0.5,
            2f64.powi(52) + 1.0,
        ] {
            assert_eq!(round_half_even(x), x.round_ties_even(), "{x}");
        }
        assert!(round_half_even(f64::NAN).is_nan());
        assert_eq!(round_half_even(f64::INFINITY), f64::INFINITY);
    }

    #[test]
    fn binary_steps_hit_ties_and_still_match() {
        // Step signals (grippers) give exact .5 ties at several scales: each column steps at
        // its own offset. One to three columns run the narrow product, four the wide one, and
        // both must send the ties to the exact kernel.
        for dim in 1..=4 {
            for h in [2usize, 4, 8, 10, 16, 20, 50, 160] {
                for step in (0..h).step_by(h.div_ceil(12)) {
                    let chunk: Vec<f64> = (0..h * dim)
                        .map(|i| {
                            if i / dim < (step + i % dim) % (h + 1) {
                                -1.0
                            } else {
                                1.0
                            }
                        })
                        .collect();
                    for scale in [1.0, 2.0, 5.0, 10.0, 12.5, 50.0] {
                        assert_eq!(
                            fast(&chunk, h, dim, scale),
                            exact(&chunk, h, dim, scale),
                            "{h}x{dim} step {step} scale {scale}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_scratch_reused_across_shapes_keeps_its_results_exact() {
        // The scratch's padding lanes are never cleared: a chunk that overflows to infinity
        // leaves non-finite values there, and the next chunks (narrow, then wide, then narrow
        // again on longer rows) must not see them in their coefficients.
        let mut scratch = QuantizeScratch::default();
        let shapes = [
            (4, 1),
            (10, 3),
            (10, 5),
            (50, 2),
            (50, 14),
            (160, 3),
            (30, 9),
            (10, 2),
        ];
        for (round, &(h, dim)) in shapes.iter().enumerate() {
            let huge = round % 2 == 0;
            let chunk: Vec<f64> = (0..h * dim)
                .map(|i| {
                    if huge {
                        f64::MAX
                    } else {
                        (i as f64 * 0.37).sin()
                    }
                })
                .collect();
            let q = Quantizer::new(h).unwrap();
            let mut out = vec![0.0; h * dim];
            q.quantize(&chunk, dim, 10.0, &mut out, &mut scratch);
            let want = exact(&chunk, h, dim, 10.0);
            let same = |a: &f64, b: &f64| a == b || (a.is_nan() && b.is_nan());
            assert!(out.iter().zip(&want).all(|(a, b)| same(a, b)), "{h}x{dim}");
        }
    }

    /// Columns redone exactly have their flags cleared, so the next chunk starts with none set
    /// without clearing them itself (a flag left over would redo its column for nothing).
    #[test]
    fn suspect_flags_are_left_clear_for_the_next_chunk() {
        // A constant 0.25 over 4 steps: the first coefficient of each column is 0.5, a tie.
        let chunk = [0.25; 8];
        let q = Quantizer::new(4).unwrap();
        let mut scratch = QuantizeScratch::default();
        let mut out = vec![0.0; 8];
        q.quantize(&chunk, 2, 1.0, &mut out, &mut scratch);
        assert_eq!(out, exact(&chunk, 4, 2, 1.0));
        assert_eq!(scratch.suspect, [false, false]);
    }

    #[test]
    fn long_horizons_use_the_exact_kernel() {
        let h = MAX_MATRIX_LEN + 3;
        let chunk: Vec<f64> = (0..h * 2).map(|i| (i as f64 * 0.1).sin()).collect();
        assert_eq!(fast(&chunk, h, 2, 10.0), exact(&chunk, h, 2, 10.0));
    }

    #[test]
    fn non_finite_results_come_from_the_exact_kernel() {
        let chunk = vec![f64::MAX, f64::MAX, -f64::MAX, f64::MAX];
        let got = fast(&chunk, 4, 1, 10.0);
        let want = exact(&chunk, 4, 1, 10.0);
        for (a, b) in got.iter().zip(&want) {
            assert!(a == b || (a.is_nan() && b.is_nan()), "{a} vs {b}");
        }
    }

    /// Values of `(h, dim)` coefficients for the rounding tests: scaled by 2 below, some land
    /// exactly on ties (`k + 0.5`), some within or just outside a bound of `1e-9`, the rest
    /// anywhere.
    fn rounding_values(h: usize, dim: usize) -> impl Strategy<Value = Vec<f64>> {
        let value = prop_oneof![
            (-40i32..40).prop_map(|k| (f64::from(k) + 0.5) / 2.0),
            (-40i32..40, -2e-9f64..2e-9).prop_map(|(k, e)| (f64::from(k) + 0.5 + e) / 2.0),
            -20.0f64..20.0,
        ];
        prop::collection::vec(value, h * dim)
    }

    proptest! {
        /// The AVX2 rounding of 1 to 3 columns in place rounds as the portable loop does and
        /// marks the same columns suspect, whatever the length (the pattern's phase at the end,
        /// the tail) and wherever the ties are.
        #[test]
        fn vector_rounding_in_place_is_the_portable_rounding(
            (values, dim) in (1usize..=3, 0usize..20).prop_flat_map(|(dim, h)| {
                (rounding_values(h, dim), Just(dim))
            }),
            tolerances in prop::collection::vec(
                prop_oneof![Just(1e-9), Just(0.0), Just(f64::NAN)], 3),
        ) {
            if !std::arch::is_x86_feature_detected!("avx2") {
                return Ok(());
            }
            let columns = Columns { scale: 2.0, tolerances: &tolerances[..dim] };
            let (mut want, mut want_suspect) = (values.clone(), vec![false; dim]);
            round_in_place(&mut want, &columns, &mut want_suspect);
            let (mut got, mut got_suspect) = (values, vec![false; dim]);
            // SAFETY: the CPU supports AVX2 (checked above).
            unsafe { round_in_place_avx2(&mut got, &columns, &mut got_suspect) };
            prop_assert_eq!(got, want);
            prop_assert_eq!(got_suspect, want_suspect);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn equals_the_exact_kernel(
            h in prop_oneof![1usize..70, 190usize..=260],
            dim in 1usize..20,
            seed in any::<u64>(),
            scale in prop::sample::select(vec![1.0, 2.0, 4.5, 10.0, 12.5, 100.0, 1000.0]),
            quantized in any::<bool>(),
        ) {
            // Smooth values, or values on a coarse grid (which make ties likely).
            let mut s = seed | 1;
            let chunk: Vec<f64> = (0..h * dim)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    let u = (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
                    if quantized { (u * 4.0).round() / 4.0 } else { u }
                })
                .collect();
            prop_assert_eq!(fast(&chunk, h, dim, scale), exact(&chunk, h, dim, scale));
        }
    }
}
