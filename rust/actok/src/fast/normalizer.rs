//! Per-dimension action normalization, fitted from raw actions, saved beside a tokenizer.
//!
//! FAST tokenizes actions that are already in roughly `[-1, 1]`: unnormalized inputs give huge DCT
//! coefficients the vocabulary cannot represent. The paper's recommendation is quantile
//! normalization (1st/99th percentile of each dimension to -1/+1, clipped). A [`Normalizer`] holds
//! that map (or mean/std, min/max, identity), applies it, inverts it, and is saved as its own JSON
//! file ([`crate::NORMALIZER_FILE`]) so the Hugging Face files of a tokenizer directory stay untouched.
//!
//! # The maps
//!
//! Every kind is a per-dimension affine map `y = (x - a) / s + b`, inverted as `x = (y - b) * s + a`,
//! computed in `f64` (also for `f32` data, which is widened exactly and narrowed once at the end):
//!
//! | kind | `a` | `s` | `b` | clipped to `[-1, 1]` |
//! |---|---|---|---|---|
//! | `Quantile` | 1st percentile `low` | `(high - low) / 2`, `high` = 99th percentile | `-1` | yes |
//! | `MinMax` | `low = min` | `(high - low) / 2`, `high = max` | `-1` | yes |
//! | `MeanStd` | `mean` | `std` (population, like `np.std`) | `0` | no |
//! | `Identity` | `0` | `1` | `0` | no |
//!
//! With this form `low` maps to exactly `-1.0` and `high` to exactly `+1.0`.
//!
//! # Degenerate dimensions
//!
//! A dimension with zero spread (`high == low`, or `std == 0`: constant data) has no meaningful
//! scale. Instead of dividing by zero, `apply` maps every value of that dimension to the centre of
//! the output range (`0.0`), and `inverse` maps every value back to the constant (`low`, or
//! `mean`), which is exactly the fitted data. For `Quantile`, a dimension whose 1st and 99th
//! percentiles coincide but whose data is not constant (a gripper that is closed 99% of the time)
//! falls back to that dimension's min/max, so rare values are not flattened to zero silently.
//!
//! # Floating point
//!
//! An affine map in floating point is not exactly invertible: `x - a`, the division and the
//! multiplication each round, and so does the shift by `b` (worth `|b|·s = s` in raw units).
//! `inverse(apply(x))` differs from `x` by at most a few units in the last place of
//! `|x| + |a| + s` (the tests check `4 · eps · (|x| + |a| + s)`, `eps` of the data's type), and
//! equals it exactly where nothing rounds (identity, degenerate dimensions).

use crate::error::{Error, Place, Quantity, Result};
use crate::options::{Choice, NormalizerKind};
use crate::sample::Sample;

/// The percentiles [`NormalizerKind::Quantile`] maps to -1 and +1 (FAST's recommendation).
pub const QUANTILES: [f64; 2] = [0.01, 0.99];

impl NormalizerKind {
    fn clips(self) -> bool {
        matches!(self, Self::Quantile | Self::MinMax)
    }
}

/// A fitted per-dimension normalization of `D`-dimensional actions.
///
/// Immutable; cheap to clone. See the module documentation for the exact maps.
#[derive(Clone, Debug, PartialEq)]
pub struct Normalizer {
    kind: NormalizerKind,
    dim: usize,
    /// `low`/`high` for quantile and minmax, `mean`/`std` for meanstd, empty for identity.
    first: Vec<f64>,
    second: Vec<f64>,
    /// Per-dimension `(a, s, b)` of `y = (x - a) / s + b`; `s == 0` marks a degenerate dimension.
    affine: Vec<(f64, f64, f64)>,
}

/// Per-dimension statistics by name, for [`Normalizer::from_statistics`]: `low` and `high`
/// (quantile, minmax) or `mean` and `std` (meanstd); identity takes none.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Statistics {
    /// The value mapped to -1 in each dimension.
    pub low: Option<Vec<f64>>,
    /// The value mapped to +1 in each dimension.
    pub high: Option<Vec<f64>>,
    /// The mean of each dimension.
    pub mean: Option<Vec<f64>>,
    /// The population standard deviation of each dimension.
    pub std: Option<Vec<f64>>,
}

impl Normalizer {
    /// Builds a normalizer of `kind` from named statistics (a dataset's published `q01`/`q99`,
    /// say): exactly the two the kind takes (see [`Statistics`]), each of `dim` values (`dim`
    /// defaults to their length); identity takes no statistics and needs `dim`.
    pub fn from_statistics(
        kind: NormalizerKind,
        stats: Statistics,
        dim: Option<usize>,
    ) -> Result<Self> {
        let Statistics {
            low,
            high,
            mean,
            std,
        } = stats;
        let refuse = |names: &str| {
            Error::InvalidArgument(format!(
                "a {:?} normalizer takes exactly {names}",
                kind.name()
            ))
        };
        let (first, second) = match (kind, low, high, mean, std) {
            (NormalizerKind::Identity, None, None, None, None) if dim.is_some() => {
                (Vec::new(), Vec::new())
            }
            (NormalizerKind::Identity, ..) => {
                return Err(Error::InvalidArgument(
                    "an \"identity\" normalizer takes only dim".into(),
                ))
            }
            (
                NormalizerKind::Quantile | NormalizerKind::MinMax,
                Some(low),
                Some(high),
                None,
                None,
            ) => (low, high),
            (NormalizerKind::Quantile | NormalizerKind::MinMax, ..) => {
                return Err(refuse("low and high"))
            }
            (NormalizerKind::MeanStd, None, None, Some(mean), Some(std)) => (mean, std),
            (NormalizerKind::MeanStd, ..) => return Err(refuse("mean and std")),
        };
        Self::from_parameters(kind, dim.unwrap_or(first.len()), first, second)
    }

    /// Builds a normalizer from its parameters: `(low, high)` for quantile/minmax, `(mean, std)`
    /// for meanstd, two empty vectors for identity (then `dim` gives the dimension).
    ///
    /// Fails unless every parameter is finite, `low <= high`, `std >= 0`, and the lengths match.
    pub fn from_parameters(
        kind: NormalizerKind,
        dim: usize,
        first: Vec<f64>,
        second: Vec<f64>,
    ) -> Result<Self> {
        let names = match kind {
            NormalizerKind::Quantile | NormalizerKind::MinMax => ("low", "high"),
            NormalizerKind::MeanStd => ("mean", "std"),
            NormalizerKind::Identity => {
                if !first.is_empty() || !second.is_empty() {
                    return Err(Error::InvalidArgument(
                        "an identity normalizer has no parameters".into(),
                    ));
                }
                return Ok(Self {
                    kind,
                    dim,
                    first,
                    second,
                    affine: vec![(0.0, 1.0, 0.0); dim],
                });
            }
        };
        for (name, values) in [(names.0, &first), (names.1, &second)] {
            if values.len() != dim {
                return Err(Error::InvalidArgument(format!(
                    "normalizer parameter {name} has {} values, expected dim = {dim}",
                    values.len()
                )));
            }
            if let Some(d) = values.iter().position(|v| !v.is_finite()) {
                return Err(Error::InvalidArgument(format!(
                    "normalizer parameter {name}[{d}] = {} is not finite",
                    values[d]
                )));
            }
        }
        let mut affine = Vec::with_capacity(dim);
        for d in 0..dim {
            let (p, q) = (first[d], second[d]);
            affine.push(match kind {
                NormalizerKind::MeanStd => {
                    if q < 0.0 {
                        return Err(Error::InvalidArgument(format!(
                            "normalizer parameter std[{d}] = {q} is negative"
                        )));
                    }
                    (p, q, 0.0)
                }
                _ => {
                    if q < p {
                        return Err(Error::InvalidArgument(format!(
                            "normalizer parameters low[{d}] = {p} > high[{d}] = {q}"
                        )));
                    }
                    let half = (q - p) / 2.0;
                    if !half.is_finite() {
                        return Err(Error::InvalidArgument(format!(
                            "normalizer range high[{d}] - low[{d}] overflows"
                        )));
                    }
                    (p, half, -1.0)
                }
            });
        }
        Ok(Self {
            kind,
            dim,
            first,
            second,
            affine,
        })
    }

    /// An identity normalizer for `dim`-dimensional actions.
    pub fn identity(dim: usize) -> Self {
        Self::from_parameters(NormalizerKind::Identity, dim, Vec::new(), Vec::new())
            .expect("identity has no parameters to check")
    }

    /// [`Normalizer::fit`] to the rows of an `(N, H, D)` batch of chunks (row-major `data`), a
    /// non-finite value named by chunk, step and dimension.
    pub fn fit_chunks<T: Sample>(
        kind: NormalizerKind,
        data: &[T],
        shape: [usize; 3],
    ) -> Result<Self> {
        let [_, horizon, dim] = shape;
        let chunk_len = horizon.saturating_mul(dim);
        if shape.iter().try_fold(1usize, |n, &s| n.checked_mul(s)) != Some(data.len()) {
            return Err(Error::InvalidArgument(format!(
                "{} values do not form chunks of shape {shape:?}",
                data.len()
            )));
        }
        // One pooled part, its non-finite values named by chunk and step (one scan, in `fit`'s).
        Self::fit_parts(kind, &[data], dim, |_, at| {
            let within = at % chunk_len;
            Place::Chunk {
                chunk: at / chunk_len,
                step: within / dim,
                dimension: within % dim,
            }
        })
    }

    /// Fits a normalizer to the rows of `parts` pooled together.
    ///
    /// Each part (typically one episode) is a row-major `(T_i, dim)` buffer. Quantiles are
    /// computed exactly as `np.quantile(x.astype(float64), [0.01, 0.99], axis=0)` (numpy's default
    /// `"linear"` method, bit for bit); mean and std with two passes in `f64` (population std).
    /// A NaN or infinite value fails with [`Error::NotFinite`] naming the part, row and dimension.
    pub fn fit<T: Sample>(kind: NormalizerKind, parts: &[&[T]], dim: usize) -> Result<Self> {
        let several = parts.len() > 1;
        Self::fit_parts(kind, parts, dim, |p, at| Place::Row {
            part: several.then_some(p),
            row: at / dim,
            dimension: at % dim,
        })
    }

    /// [`Normalizer::fit`], a non-finite value at flattened index `at` of part `p` reported at
    /// `place_of(p, at)` (in the terms the caller's input had).
    fn fit_parts<T: Sample>(
        kind: NormalizerKind,
        parts: &[&[T]],
        dim: usize,
        place_of: impl Fn(usize, usize) -> Place,
    ) -> Result<Self> {
        if dim == 0 {
            return Err(Error::InvalidArgument(
                "cannot fit a normalizer to actions with 0 dimensions".into(),
            ));
        }
        let mut rows = 0usize;
        for (p, part) in parts.iter().enumerate() {
            if part.len() % dim != 0 {
                return Err(Error::InvalidArgument(format!(
                    "episode {p} has {} values, not a whole number of rows of dim = {dim}",
                    part.len()
                )));
            }
            if let Some(at) = part.iter().position(|v| !v.to_f64().is_finite()) {
                return Err(Error::NotFinite {
                    context: "cannot fit normalizer",
                    quantity: Quantity::Value,
                    place: place_of(p, at),
                    value: part[at].to_f64(),
                });
            }
            rows += part.len() / dim;
        }
        if kind == NormalizerKind::Identity {
            return Ok(Self::identity(dim));
        }
        if rows == 0 {
            return Err(Error::InvalidArgument(
                "cannot fit a normalizer to zero rows of actions".into(),
            ));
        }
        let mut column = Vec::with_capacity(rows);
        let (mut first, mut second) = (Vec::with_capacity(dim), Vec::with_capacity(dim));
        for d in 0..dim {
            column.clear();
            for part in parts {
                column.extend(part.iter().skip(d).step_by(dim).map(|v| v.to_f64()));
            }
            let (p, q) = match kind {
                NormalizerKind::MeanStd => mean_std(&column),
                NormalizerKind::MinMax => min_max(&column),
                _ => {
                    let low = quantile(&mut column, QUANTILES[0]);
                    let high = quantile(&mut column, QUANTILES[1]);
                    if low == high {
                        // Not constant but concentrated: keep rare values distinguishable.
                        min_max(&column)
                    } else {
                        (low, high)
                    }
                }
            };
            first.push(p);
            second.push(q);
        }
        Self::from_parameters(kind, dim, first, second)
    }

    /// The kind of map.
    pub fn kind(&self) -> NormalizerKind {
        self.kind
    }

    /// The action dimension `D` it applies to.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// `low` and `high` per dimension (quantile, minmax).
    pub fn range(&self) -> Option<(&[f64], &[f64])> {
        matches!(self.kind, NormalizerKind::Quantile | NormalizerKind::MinMax)
            .then_some((&self.first[..], &self.second[..]))
    }

    /// `mean` and `std` per dimension (meanstd).
    pub fn mean_std(&self) -> Option<(&[f64], &[f64])> {
        (self.kind == NormalizerKind::MeanStd).then_some((&self.first[..], &self.second[..]))
    }

    /// Normalizes row-major `(.., dim)` values into `output` (same length).
    ///
    /// Fails on a length that is not a multiple of `dim`, on a NaN or infinite input, and on a
    /// result that overflows the output type (meanstd with a tiny std), naming row and dimension.
    pub fn apply_into<T: Sample>(&self, input: &[T], output: &mut [T]) -> Result<()> {
        self.map_into(input, output, "cannot apply normalizer", |d, x| {
            self.apply_value(d, x)
        })
    }

    /// Checks that an array of shape `shape` has this normalizer's dimension as its last axis
    /// (what [`Normalizer::apply_into`] maps over), naming the shape if not.
    pub fn check_last_axis(&self, shape: &[usize]) -> Result<()> {
        if shape.last() == Some(&self.dim) {
            Ok(())
        } else {
            Err(Error::InvalidArgument(format!(
                "the last axis must have the normalizer's dimension {}, got shape {}",
                self.dim,
                crate::error::shape_text(shape)
            )))
        }
    }

    /// Inverts [`Normalizer::apply_into`]: normalized values back to raw actions.
    pub fn inverse_into<T: Sample>(&self, input: &[T], output: &mut [T]) -> Result<()> {
        self.map_into(input, output, "cannot invert normalizer", |d, y| {
            self.inverse_value(d, y)
        })
    }

    /// [`Normalizer::apply_into`] returning a new buffer.
    pub fn apply<T: Sample>(&self, input: &[T]) -> Result<Vec<T>> {
        let mut out = vec![T::from_f64(0.0); input.len()];
        self.apply_into(input, &mut out)?;
        Ok(out)
    }

    /// [`Normalizer::inverse_into`] returning a new buffer.
    pub fn inverse<T: Sample>(&self, input: &[T]) -> Result<Vec<T>> {
        let mut out = vec![T::from_f64(0.0); input.len()];
        self.inverse_into(input, &mut out)?;
        Ok(out)
    }

    /// Normalizes one value of dimension `d` (no checks; non-finite in, non-finite out).
    #[inline]
    pub(crate) fn apply_value(&self, d: usize, x: f64) -> f64 {
        let (a, s, b) = self.affine[d];
        if s == 0.0 {
            return 0.0;
        }
        let y = (x - a) / s + b;
        if self.kind.clips() {
            y.clamp(-1.0, 1.0)
        } else {
            y
        }
    }

    /// Inverts one normalized value of dimension `d` (no checks).
    #[inline]
    pub(crate) fn inverse_value(&self, d: usize, y: f64) -> f64 {
        let (a, s, b) = self.affine[d];
        if s == 0.0 {
            return a;
        }
        (y - b) * s + a
    }

    fn map_into<T: Sample>(
        &self,
        input: &[T],
        output: &mut [T],
        context: &'static str,
        f: impl Fn(usize, f64) -> f64,
    ) -> Result<()> {
        self.check_len(input.len())?;
        if output.len() != input.len() {
            return Err(Error::InvalidArgument(format!(
                "output has {} values, input has {}",
                output.len(),
                input.len()
            )));
        }
        if self.dim == 0 {
            return Ok(());
        }
        let rows = input
            .chunks_exact(self.dim)
            .zip(output.chunks_exact_mut(self.dim));
        for (row, (xs, outs)) in rows.enumerate() {
            for (d, (x, out)) in xs.iter().zip(outs.iter_mut()).enumerate() {
                let x = x.to_f64();
                let y = if x.is_finite() {
                    T::from_f64(f(d, x))
                } else {
                    T::from_f64(x)
                };
                if !y.to_f64().is_finite() {
                    return Err(Error::NotFinite {
                        context,
                        quantity: Quantity::Value,
                        place: Place::Row {
                            part: None,
                            row,
                            dimension: d,
                        },
                        value: if x.is_finite() { y.to_f64() } else { x },
                    });
                }
                *out = y;
            }
        }
        Ok(())
    }

    /// Checks that `len` values form whole rows of this normalizer's dimension.
    pub(crate) fn check_len(&self, len: usize) -> Result<()> {
        let ok = if self.dim == 0 {
            len == 0
        } else {
            len % self.dim == 0
        };
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidArgument(format!(
                "{len} values do not form rows of the normalizer's dimension {}",
                self.dim
            )))
        }
    }
}

/// `np.quantile(values, q)` with the default `"linear"` method, bit for bit (values are finite).
///
/// Reorders `values` (selection, not a full sort).
fn quantile(values: &mut [f64], q: f64) -> f64 {
    let n = values.len();
    let virtual_index = (n - 1) as f64 * q;
    if virtual_index >= (n - 1) as f64 {
        return *values
            .iter()
            .max_by(|a, b| a.total_cmp(b))
            .expect("non-empty");
    }
    let below = virtual_index.floor();
    let gamma = virtual_index - below;
    let below = below as usize;
    let (_, &mut a, rest) = values.select_nth_unstable_by(below, |x, y| x.total_cmp(y));
    let b = *rest
        .iter()
        .min_by(|x, y| x.total_cmp(y))
        .expect("below < n - 1");
    // numpy's _lerp: interpolate from whichever end is nearer, for monotonicity.
    let diff = b - a;
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}

fn min_max(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        })
}

/// Mean and population standard deviation, two passes (numerically stable for offset data).
///
/// Deviations are scaled by the largest one before squaring, so a spread of 1e-200 does not
/// underflow to a (degenerate) zero std and a spread of 1e200 does not overflow to infinity.
fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mut mean = pairwise_sum(values, |v| v) / n;
    if !mean.is_finite() {
        // The sum overflowed (values near f64::MAX): average the scaled values instead.
        mean = pairwise_sum(values, |v| v / n);
    }
    let largest = values.iter().fold(0.0f64, |m, &v| m.max((v - mean).abs()));
    if largest == 0.0 || !largest.is_finite() {
        return (mean, largest);
    }
    let var = pairwise_sum(values, |v| {
        let d = (v - mean) / largest;
        d * d
    }) / n;
    (mean, largest * var.sqrt())
}

/// Pairwise summation (as numpy does along contiguous data): error grows like `log n`, not `n`.
fn pairwise_sum(values: &[f64], f: impl Fn(f64) -> f64 + Copy) -> f64 {
    if values.len() <= 128 {
        values.iter().map(|&v| f(v)).sum()
    } else {
        let (left, right) = values.split_at(values.len() / 2);
        pairwise_sum(left, f) + pairwise_sum(right, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fit_chunks_pools_rows_and_names_the_chunk_of_a_bad_value() {
        let data: Vec<f64> = (0..24).map(|i| (i * 7 % 11) as f64).collect();
        let pooled = Normalizer::fit(NormalizerKind::Quantile, &[&data[..]], 3).unwrap();
        let chunks = Normalizer::fit_chunks(NormalizerKind::Quantile, &data, [4, 2, 3]).unwrap();
        assert_eq!(pooled, chunks);
        let mut bad = data.clone();
        bad[2 * 6 + 3 + 2] = f64::INFINITY;
        let msg = Normalizer::fit_chunks(NormalizerKind::MinMax, &bad, [4, 2, 3])
            .unwrap_err()
            .to_string();
        assert_eq!(
            msg,
            "cannot fit normalizer: value inf in chunk 2, step 1, dimension 2 is not finite"
        );
        assert!(Normalizer::fit_chunks(NormalizerKind::MinMax, &data, [5, 2, 3]).is_err());
    }

    #[test]
    fn quantile_matches_numpy_examples() {
        // np.quantile(np.arange(10.0), [0.01, 0.99]) == [0.09, 8.91]
        let mut v: Vec<f64> = (0..10).rev().map(f64::from).collect();
        assert_eq!(quantile(&mut v, 0.01), 0.09);
        assert_eq!(quantile(&mut v, 0.99), 8.91);
        let mut one = vec![3.5];
        assert_eq!(quantile(&mut one, 0.99), 3.5);
    }

    #[test]
    fn fit_quantile_maps_percentiles_to_unit_range() {
        let data: Vec<f64> = (0..101).map(f64::from).collect();
        let norm = Normalizer::fit(NormalizerKind::Quantile, &[&data[..]], 1).unwrap();
        let (low, high) = norm.range().unwrap();
        assert_eq!((low[0], high[0]), (1.0, 99.0));
        assert_eq!(
            norm.apply(&[1.0, 99.0, 50.0, -7.0, 1e9]).unwrap(),
            [-1.0, 1.0, 0.0, -1.0, 1.0]
        );
    }

    #[test]
    fn degenerate_dimensions_do_not_divide_by_zero() {
        let data = [2.0f32, 5.0, 2.0, 6.0, 2.0, 7.0];
        for kind in [
            NormalizerKind::Quantile,
            NormalizerKind::MinMax,
            NormalizerKind::MeanStd,
        ] {
            let norm = Normalizer::fit(kind, &[&data[..]], 2).unwrap();
            let y = norm.apply(&[3.0f32, 6.0]).unwrap();
            assert_eq!(y[0], 0.0, "{kind:?}");
            assert!(y[1].is_finite());
            assert_eq!(norm.inverse(&[0.7f32, 0.0]).unwrap()[0], 2.0);
        }
    }

    #[test]
    fn concentrated_quantile_dimension_falls_back_to_min_max() {
        let mut data = vec![-1.0; 1000];
        data[10] = 1.0;
        let norm = Normalizer::fit(NormalizerKind::Quantile, &[&data[..]], 1).unwrap();
        assert_eq!(norm.range().unwrap(), (&[-1.0][..], &[1.0][..]));
    }

    #[test]
    fn non_finite_values_are_named() {
        let data = [0.0, 1.0, 2.0, f64::NAN];
        let err = Normalizer::fit(NormalizerKind::MeanStd, &[&data[..2], &data[2..]], 2)
            .unwrap_err()
            .to_string();
        assert!(err.contains("episode 1, row 0, dimension 1"), "{err}");
        let norm = Normalizer::identity(2);
        let err = norm
            .apply(&[0.0, 1.0, f64::INFINITY, 0.0])
            .unwrap_err()
            .to_string();
        assert!(err.contains("row 1, dimension 0"), "{err}");
        assert!(norm.apply(&[0.0, 1.0, 2.0]).is_err());
    }

    proptest! {
        #[test]
        fn inverse_undoes_apply_where_not_clipped(
            rows in proptest::collection::vec(proptest::collection::vec(-1e3f64..1e3, 3), 2..40),
            kind_index in 0usize..4,
        ) {
            let kind = [
                NormalizerKind::Quantile,
                NormalizerKind::MeanStd,
                NormalizerKind::MinMax,
                NormalizerKind::Identity,
            ][kind_index];
            let flat: Vec<f64> = rows.concat();
            let norm = Normalizer::fit(kind, &[&flat[..]], 3).unwrap();
            let y = norm.apply(&flat).unwrap();
            let back = norm.inverse(&y).unwrap();
            for (at, ((&x, &yv), &xb)) in flat.iter().zip(&y).zip(&back).enumerate() {
                let (a, s, _) = norm.affine[at % 3];
                if s == 0.0 || yv.abs() == 1.0 && kind.clips() {
                    continue;
                }
                let bound = 4.0 * f64::EPSILON * (x.abs() + a.abs() + s);
                prop_assert!((xb - x).abs() <= bound, "{x} -> {yv} -> {xb}");
            }
        }
    }
}
