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
//! | kind | `a` | `s` | `b` | fitted range |
//! |---|---|---|---|---|
//! | `Quantile` | 1st percentile `low` | `(high - low) / 2`, `high` = 99th percentile | `-1` | `[low, high]` |
//! | `MinMax` | `low = min` | `(high - low) / 2`, `high = max` | `-1` | `[low, high]` |
//! | `MeanStd` | `mean` | `std` (population, like `np.std`) | `0` | `[min, max]` seen |
//! | `Identity` | `0` | `1` | `0` | none |
//!
//! With this form `low` maps to exactly `-1.0` and `high` to exactly `+1.0`.
//!
//! # Values outside the fitted range (`docs/semantics.md#out-of-range`)
//!
//! A fit also records the data's min and max per dimension (`seen`). The [`OutOfRange`] policy
//! says what happens to a value outside the fitted range: `Keep` maps it like any other (beyond
//! ±1), `Clip` saturates it to the fitted range (FAST's recipe; the count is reported), `Raise`
//! refuses it when it is outside `seen`. Under every policy a value beyond `seen` by more than
//! the seen span (`x < min - (max - min)` or `x > max + (max - min)`) is refused with
//! [`Error::OutOfRange`]: that is a unit or normalizer mix-up, not a tail (a dimension that was
//! constant has no span: see below). A normalizer built from
//! statistics without `min`/`max` takes `seen` to be `[low, high]` (quantile, minmax) or
//! `mean ± 3 std` (meanstd). The identity has no range and accepts every finite value.
//!
//! # Degenerate dimensions
//!
//! A dimension with zero spread (`high == low`, or `std == 0`: constant data) has no meaningful
//! scale. Instead of dividing by zero, `apply` maps the constant to the centre of the output range
//! (`0.0`), and `inverse` maps every value back to the constant (`low`, or `mean`), which is
//! exactly the fitted data. Any other value has no scale: it is refused under `Keep` and `Raise`
//! ([`RangeIssue::Constant`]) and mapped to the constant, and counted, under `Clip`. The same
//! holds in a dimension whose fitting data was constant (`min == max`). For `Quantile`, a dimension whose 1st and 99th
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

use crate::error::{Error, Place, Quantity, RangeIssue, Result};
use crate::options::{Choice, NormalizerKind, OutOfRange};
use crate::sample::Sample;

/// The percentiles [`NormalizerKind::Quantile`] maps to -1 and +1 (FAST's recommendation).
pub const QUANTILES: [f64; 2] = [0.01, 0.99];

/// How many standard deviations either side of the mean a meanstd normalizer built without
/// `min`/`max` takes as the data it was fitted on (99.7% of a normal distribution).
pub const MEANSTD_SEEN_STDS: f64 = 3.0;

/// One dimension's map and ranges, precomputed from the parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
struct DimMap {
    /// `(a, s, b)` of `y = (x - a) / s + b`; `s == 0` marks a degenerate dimension.
    a: f64,
    s: f64,
    b: f64,
    /// The raw range `Clip` saturates to (the fitted range).
    clip: (f64, f64),
    /// The data the normalizer was fitted on (`Raise` refuses values outside it).
    seen: (f64, f64),
    /// Values outside are refused under every policy: `seen` widened by its span on each side.
    far: (f64, f64),
    /// Where no policy does anything but the affine map (inside both `clip` and `seen`, in a
    /// dimension with a scale): the fast path. Empty (`(1, 0)`) when there is no such range.
    plain: (f64, f64),
}

impl DimMap {
    /// The normalized value of `x` under `policy` and whether it was clipped, or why `x` is
    /// refused.
    #[inline(always)]
    fn apply(&self, x: f64, policy: OutOfRange) -> std::result::Result<(f64, bool), RangeIssue> {
        if x >= self.plain.0 && x <= self.plain.1 {
            return Ok(((x - self.a) / self.s + self.b, false));
        }
        self.apply_outside(x, policy)
    }

    /// [`DimMap::apply`] for a value outside the plain range (a tail, a refusal, a constant).
    #[cold]
    #[inline(never)]
    fn apply_outside(
        &self,
        x: f64,
        policy: OutOfRange,
    ) -> std::result::Result<(f64, bool), RangeIssue> {
        if self.s == 0.0 && x == self.a {
            return Ok((0.0, false));
        }
        let constant_data = self.seen.0 == self.seen.1;
        if self.s == 0.0 || constant_data && x != self.seen.0 {
            // No scale for another value: only clipping (asked for, and counted) maps it.
            if !constant_data && (x < self.far.0 || x > self.far.1) {
                return Err(self.refusal(true));
            }
            return match policy {
                OutOfRange::Clip => Ok((self.map(x.clamp(self.clip.0, self.clip.1)), true)),
                _ => Err(RangeIssue::Constant {
                    constant: if self.s == 0.0 { self.a } else { self.seen.0 },
                }),
            };
        }
        if x < self.far.0 || x > self.far.1 {
            return Err(self.refusal(true));
        }
        let (x, clipped) = match policy {
            OutOfRange::Raise if x < self.seen.0 || x > self.seen.1 => {
                return Err(self.refusal(false))
            }
            OutOfRange::Clip if self.is_outside(x) => (x.clamp(self.clip.0, self.clip.1), true),
            _ => (x, false),
        };
        Ok((self.map(x), clipped))
    }

    /// The affine map (0 in a degenerate dimension).
    #[inline]
    fn map(&self, x: f64) -> f64 {
        if self.s == 0.0 {
            0.0
        } else {
            (x - self.a) / self.s + self.b
        }
    }

    fn refusal(&self, far: bool) -> RangeIssue {
        if self.seen.0 == self.seen.1 {
            RangeIssue::Constant {
                constant: self.seen.0,
            }
        } else if far {
            RangeIssue::Far { seen: self.seen }
        } else {
            RangeIssue::Unseen { seen: self.seen }
        }
    }

    /// Whether `x` lies outside the range `Clip` saturates to.
    fn is_outside(&self, x: f64) -> bool {
        if self.s == 0.0 {
            x != self.a
        } else {
            x < self.clip.0 || x > self.clip.1
        }
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
    /// The fitting data's `min`/`max` per dimension, when known (a fit always knows them).
    seen: Option<(Vec<f64>, Vec<f64>)>,
    out_of_range: OutOfRange,
    /// Each dimension's map and ranges (empty ranges for identity).
    maps: Vec<DimMap>,
}

/// Per-dimension statistics by name, for [`Normalizer::from_statistics`]: `low` and `high`
/// (quantile, minmax) or `mean` and `std` (meanstd), optionally `min` and `max` of the data
/// (see the module documentation for what they bound); identity takes none.
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
    /// The smallest value of each dimension in the data.
    pub min: Option<Vec<f64>>,
    /// The largest value of each dimension in the data.
    pub max: Option<Vec<f64>>,
}

impl Normalizer {
    /// Builds a normalizer of `kind` from named statistics (a dataset's published `q01`/`q99`,
    /// say): exactly the two the kind takes (see [`Statistics`]), each of `dim` values (`dim`
    /// defaults to their length), optionally `min` and `max` together; identity takes no
    /// statistics and needs `dim`. The policy is [`OutOfRange::Keep`]
    /// ([`Normalizer::with_out_of_range`] changes it).
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
            min,
            max,
        } = stats;
        let refuse = |names: &str| {
            Error::InvalidArgument(format!(
                "a {:?} normalizer takes exactly {names}",
                kind.name()
            ))
        };
        let seen = match (min, max) {
            (None, None) => None,
            (Some(_), Some(_)) if kind == NormalizerKind::Identity => {
                return Err(Error::InvalidArgument(
                    "an \"identity\" normalizer takes only dim".into(),
                ))
            }
            (Some(min), Some(max)) => Some((min, max)),
            _ => return Err(refuse("min and max together, or neither")),
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
                return Err(refuse("low and high (and optionally min and max)"))
            }
            (NormalizerKind::MeanStd, None, None, Some(mean), Some(std)) => (mean, std),
            (NormalizerKind::MeanStd, ..) => {
                return Err(refuse("mean and std (and optionally min and max)"))
            }
        };
        let dim = dim.unwrap_or(first.len());
        Self::build(kind, dim, first, second, seen, OutOfRange::Keep)
    }

    /// Builds a normalizer from its parameters: `(low, high)` for quantile/minmax, `(mean, std)`
    /// for meanstd, two empty vectors for identity (then `dim` gives the dimension). The data's
    /// min/max are taken to be unknown (see the module documentation) and the policy is
    /// [`OutOfRange::Keep`].
    ///
    /// Fails unless every parameter is finite, `low <= high`, `std >= 0`, and the lengths match.
    pub fn from_parameters(
        kind: NormalizerKind,
        dim: usize,
        first: Vec<f64>,
        second: Vec<f64>,
    ) -> Result<Self> {
        Self::build(kind, dim, first, second, None, OutOfRange::Keep)
    }

    /// This normalizer with another [`OutOfRange`] policy. The identity has no range, so it
    /// takes only [`OutOfRange::Keep`].
    pub fn with_out_of_range(mut self, policy: OutOfRange) -> Result<Self> {
        if self.kind == NormalizerKind::Identity && policy != OutOfRange::Keep {
            return Err(Error::InvalidArgument(format!(
                "an identity normalizer has no fitted range to clip to or check against: \
                 out_of_range must be \"keep\", got {:?}",
                policy.name()
            )));
        }
        self.out_of_range = policy;
        Ok(self)
    }

    /// The policy for values outside the fitted range.
    pub fn out_of_range(&self) -> OutOfRange {
        self.out_of_range
    }

    /// With the `Clip` policy, the largest magnitude a normalized value can have: the ends of
    /// every dimension's clip range, mapped (the map is monotone, in floating point too, so
    /// nothing inside lands further out). `None` under the other policies, which bound nothing.
    pub(crate) fn clipped_peak(&self) -> Option<f64> {
        (self.out_of_range == OutOfRange::Clip).then(|| {
            self.maps
                .iter()
                .map(|m| m.map(m.clip.0).abs().max(m.map(m.clip.1).abs()))
                .fold(0.0, f64::max)
        })
    }

    /// The fitting data's `min` and `max` per dimension, when known (always after a fit).
    pub fn seen(&self) -> Option<(&[f64], &[f64])> {
        self.seen.as_ref().map(|(lo, hi)| (&lo[..], &hi[..]))
    }

    /// The one constructor: checks every parameter and precomputes each dimension's map.
    pub(crate) fn build(
        kind: NormalizerKind,
        dim: usize,
        first: Vec<f64>,
        second: Vec<f64>,
        seen: Option<(Vec<f64>, Vec<f64>)>,
        out_of_range: OutOfRange,
    ) -> Result<Self> {
        let names = match kind {
            NormalizerKind::Quantile | NormalizerKind::MinMax => ("low", "high"),
            NormalizerKind::MeanStd => ("mean", "std"),
            NormalizerKind::Identity => {
                if !first.is_empty() || !second.is_empty() || seen.is_some() {
                    return Err(Error::InvalidArgument(
                        "an identity normalizer has no parameters".into(),
                    ));
                }
                let unbounded = (f64::NEG_INFINITY, f64::INFINITY);
                let map = DimMap {
                    a: 0.0,
                    s: 1.0,
                    b: 0.0,
                    clip: unbounded,
                    seen: unbounded,
                    far: unbounded,
                    plain: unbounded,
                };
                return Self {
                    kind,
                    dim,
                    first,
                    second,
                    seen,
                    out_of_range: OutOfRange::Keep,
                    maps: vec![map; dim],
                }
                .with_out_of_range(out_of_range);
            }
        };
        let mut lists = vec![(names.0, &first), (names.1, &second)];
        if let Some((min, max)) = &seen {
            lists.extend([("min", min), ("max", max)]);
        }
        for (name, values) in lists {
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
        let mut maps = Vec::with_capacity(dim);
        for d in 0..dim {
            let (p, q) = (first[d], second[d]);
            let (a, s, b) = match kind {
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
            };
            let fallback = match kind {
                NormalizerKind::MeanStd => {
                    let reach = MEANSTD_SEEN_STDS * q;
                    (p - reach, p + reach)
                }
                _ => (p, q),
            };
            let seen_d = match &seen {
                Some((min, max)) => (min[d], max[d]),
                None => fallback,
            };
            check_seen(kind, d, seen_d, (p, q))?;
            let clip = match kind {
                NormalizerKind::MeanStd => seen_d,
                _ => (p, q),
            };
            let span = seen_d.1 - seen_d.0;
            let plain = if s == 0.0 || span == 0.0 {
                (1.0, 0.0)
            } else {
                (clip.0.max(seen_d.0), clip.1.min(seen_d.1))
            };
            maps.push(DimMap {
                a,
                s,
                b,
                clip,
                seen: seen_d,
                far: (seen_d.0 - span, seen_d.1 + span),
                plain,
            });
        }
        Ok(Self {
            kind,
            dim,
            first,
            second,
            seen,
            out_of_range,
            maps,
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
        let (mut min, mut max) = (Vec::with_capacity(dim), Vec::with_capacity(dim));
        for d in 0..dim {
            column.clear();
            for part in parts {
                column.extend(part.iter().skip(d).step_by(dim).map(|v| v.to_f64()));
            }
            let (lo, hi) = min_max(&column);
            min.push(lo);
            max.push(hi);
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
        Self::build(kind, dim, first, second, Some((min, max)), OutOfRange::Keep)
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

    /// Normalizes row-major `(.., dim)` values into `output` (same length), under the
    /// [`OutOfRange`] policy; returns how many values were clipped in each dimension (all zero
    /// unless the policy is [`OutOfRange::Clip`]).
    ///
    /// Fails on a length that is not a multiple of `dim`, on a NaN or infinite input, on a value
    /// the policy refuses ([`Error::OutOfRange`]), and on a result that overflows the output type
    /// (meanstd with a tiny std), naming row and dimension.
    pub fn apply_into<T: Sample>(&self, input: &[T], output: &mut [T]) -> Result<Vec<u64>> {
        self.map_into(input, output, "cannot apply normalizer", |d, x| {
            self.apply_value(d, x)
        })
    }

    /// How many values of row-major `(.., dim)` `values` lie outside the fitted range, per
    /// dimension: what [`OutOfRange::Clip`] clips, [`OutOfRange::Keep`] maps beyond ±1. A
    /// non-finite value counts as outside. All zero for the identity.
    pub fn count_outside<T: Sample>(&self, values: &[T]) -> Result<Vec<u64>> {
        self.check_len(values.len())?;
        let mut counts = vec![0u64; self.dim];
        if self.dim == 0 || self.kind == NormalizerKind::Identity {
            return Ok(counts);
        }
        for row in values.chunks_exact(self.dim) {
            for ((count, map), x) in counts.iter_mut().zip(&self.maps).zip(row) {
                let x = x.to_f64();
                *count += u64::from(!x.is_finite() || map.is_outside(x));
            }
        }
        Ok(counts)
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
            Ok((self.inverse_value(d, y), false))
        })?;
        Ok(())
    }

    /// [`Normalizer::apply_into`] returning a new buffer (use `apply_into` to learn how many
    /// values were clipped).
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

    /// Normalizes one finite value of dimension `d` under the policy: the value and whether it
    /// was clipped, or why it is refused.
    #[inline]
    pub(crate) fn apply_value(
        &self,
        d: usize,
        x: f64,
    ) -> std::result::Result<(f64, bool), RangeIssue> {
        self.maps[d].apply(x, self.out_of_range)
    }

    /// Inverts one normalized value of dimension `d` (no checks).
    #[inline]
    pub(crate) fn inverse_value(&self, d: usize, y: f64) -> f64 {
        let DimMap { a, s, b, .. } = self.maps[d];
        if s == 0.0 {
            return a;
        }
        (y - b) * s + a
    }

    /// Maps every value with `f` (finite inputs only), counting the clipped ones per dimension.
    fn map_into<T: Sample>(
        &self,
        input: &[T],
        output: &mut [T],
        context: &'static str,
        f: impl Fn(usize, f64) -> std::result::Result<(f64, bool), RangeIssue>,
    ) -> Result<Vec<u64>> {
        self.check_len(input.len())?;
        if output.len() != input.len() {
            return Err(Error::InvalidArgument(format!(
                "output has {} values, input has {}",
                output.len(),
                input.len()
            )));
        }
        let mut clipped = vec![0u64; self.dim];
        if self.dim == 0 {
            return Ok(clipped);
        }
        let rows = input
            .chunks_exact(self.dim)
            .zip(output.chunks_exact_mut(self.dim));
        for (row, (xs, outs)) in rows.enumerate() {
            for (d, (x, out)) in xs.iter().zip(outs.iter_mut()).enumerate() {
                let place = || Place::Row {
                    part: None,
                    row,
                    dimension: d,
                };
                let x = x.to_f64();
                let y = if x.is_finite() {
                    let (y, was_clipped) = f(d, x).map_err(|issue| Error::OutOfRange {
                        context,
                        place: place(),
                        value: x,
                        issue,
                    })?;
                    clipped[d] += u64::from(was_clipped);
                    T::from_f64(y)
                } else {
                    T::from_f64(x)
                };
                if !y.to_f64().is_finite() {
                    return Err(Error::NotFinite {
                        context,
                        quantity: Quantity::Value,
                        place: place(),
                        value: if x.is_finite() { y.to_f64() } else { x },
                    });
                }
                *out = y;
            }
        }
        Ok(clipped)
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

/// Fails unless the data's range `seen` of dimension `d` is ordered and, for quantile and
/// minmax, holds `[low, high] = (p, q)`. (A mean is not checked: computed in floating point, the
/// mean of constant data can differ from the constant in the last bit.)
fn check_seen(kind: NormalizerKind, d: usize, seen: (f64, f64), (p, q): (f64, f64)) -> Result<()> {
    let inside = match kind {
        NormalizerKind::MeanStd => true,
        _ => seen.0 <= p && q <= seen.1,
    };
    if inside && seen.0 <= seen.1 {
        return Ok(());
    }
    let held = match kind {
        NormalizerKind::MeanStd => "min <= max".to_string(),
        _ => format!("[low[{d}], high[{d}]] = [{p}, {q}]"),
    };
    Err(Error::InvalidArgument(format!(
        "normalizer range [min[{d}], max[{d}]] = [{}, {}] must contain {held}",
        seen.0, seen.1
    )))
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
        assert_eq!(norm.seen().unwrap(), (&[0.0][..], &[100.0][..]));
        assert_eq!(norm.out_of_range(), OutOfRange::Keep);
        // Keep: the tails map beyond ±1 with the same affine map.
        let x = [1.0, 99.0, 50.0, -7.0, 150.0];
        let mut y = [0.0; 5];
        assert_eq!(norm.apply_into(&x, &mut y).unwrap(), [0]);
        assert_eq!(y, [-1.0, 1.0, 0.0, -1.0 - 8.0 / 49.0, 1.0 + 51.0 / 49.0]);
        // Clip (FAST's recipe): the tails saturate, and are counted.
        let clip = norm.clone().with_out_of_range(OutOfRange::Clip).unwrap();
        assert_eq!(clip.apply_into(&x, &mut y).unwrap(), [2]);
        assert_eq!(y, [-1.0, 1.0, 0.0, -1.0, 1.0]);
        assert_eq!(norm.count_outside(&x).unwrap(), [2]);
        // Raise: refuses what the fit did not see (outside [0, 100]), not the tails it saw.
        let raise = norm.clone().with_out_of_range(OutOfRange::Raise).unwrap();
        assert!(raise.apply(&[0.0, 100.0, 0.5]).is_ok());
        let err = raise.apply(&[50.0, 100.5]).unwrap_err();
        assert!(matches!(
            err,
            Error::OutOfRange {
                issue: RangeIssue::Unseen { seen: (0.0, 100.0) },
                ..
            }
        ));
        assert!(
            err.to_string()
                .contains("value 100.5 at row 1, dimension 0"),
            "{err}"
        );
    }

    #[test]
    fn far_outside_the_fitted_data_is_refused_under_every_policy() {
        let data: Vec<f64> = (0..101).map(f64::from).collect();
        for policy in [OutOfRange::Keep, OutOfRange::Clip, OutOfRange::Raise] {
            for kind in [
                NormalizerKind::Quantile,
                NormalizerKind::MinMax,
                NormalizerKind::MeanStd,
            ] {
                let norm = Normalizer::fit(kind, &[&data[..]], 1)
                    .unwrap()
                    .with_out_of_range(policy)
                    .unwrap();
                // Seen [0, 100], span 100: the limits are [-100, 200], inclusive.
                let edge_ok = norm.count_outside(&[-100.0, 200.0]).is_ok()
                    && (policy == OutOfRange::Raise || norm.apply(&[-100.0, 200.0]).is_ok());
                assert!(edge_ok, "{kind:?} {policy:?}");
                for x in [-100.5, 200.5, 1e9] {
                    let err = norm.apply(&[x]).unwrap_err();
                    let Error::OutOfRange { issue, .. } = &err else {
                        panic!("{err:?}")
                    };
                    assert_eq!(*issue, RangeIssue::Far { seen: (0.0, 100.0) });
                    assert!(err.to_string().contains("other units"), "{err}");
                }
            }
        }
        assert!(Normalizer::identity(1).apply(&[1e300]).is_ok());
        assert!(Normalizer::identity(1)
            .with_out_of_range(OutOfRange::Clip)
            .is_err());
    }

    #[test]
    fn degenerate_dimensions_do_not_divide_by_zero() {
        let data = [2.0f32, 5.0, 2.0, 6.0, 2.0, 7.0];
        for kind in [
            NormalizerKind::Quantile,
            NormalizerKind::MinMax,
            NormalizerKind::MeanStd,
        ] {
            for policy in [OutOfRange::Keep, OutOfRange::Clip, OutOfRange::Raise] {
                let norm = Normalizer::fit(kind, &[&data[..]], 2)
                    .unwrap()
                    .with_out_of_range(policy)
                    .unwrap();
                let y = norm.apply(&[2.0f32, 6.0]).unwrap();
                assert_eq!(y[0], 0.0, "{kind:?}");
                assert!(y[1].is_finite());
                assert_eq!(norm.inverse(&[0.7f32, 0.0]).unwrap()[0], 2.0);
                assert_eq!(norm.count_outside(&[3.0f32, 6.0]).unwrap(), [1, 0]);
                if policy == OutOfRange::Clip {
                    // Asked for: mapped to the constant, and counted.
                    let mut y = [9.0f32; 2];
                    assert_eq!(norm.apply_into(&[3e6f32, 6.0], &mut y).unwrap(), [1, 0]);
                    assert_eq!(y[0], 0.0);
                    continue;
                }
                // Another value in the constant dimension has no scale: refused, not zeroed.
                let err = norm.apply(&[3.0f32, 6.0]).unwrap_err();
                assert!(
                    matches!(
                        err,
                        Error::OutOfRange {
                            issue: RangeIssue::Constant { constant: 2.0 },
                            ..
                        }
                    ),
                    "{err:?}"
                );
            }
        }
        // Statistics whose seen range is wider than a degenerate fitted range: clip counts.
        let stats = Statistics {
            low: Some(vec![2.0]),
            high: Some(vec![2.0]),
            min: Some(vec![1.0]),
            max: Some(vec![3.0]),
            ..Statistics::default()
        };
        let norm = Normalizer::from_statistics(NormalizerKind::MinMax, stats, None).unwrap();
        assert!(norm.apply(&[2.5]).is_err());
        let clip = norm.with_out_of_range(OutOfRange::Clip).unwrap();
        let mut y = [9.0];
        assert_eq!(clip.apply_into(&[2.5], &mut y).unwrap(), [1]);
        assert_eq!(y, [0.0]);
    }

    #[test]
    fn statistics_without_min_max_bound_the_seen_range() {
        let stats = Statistics {
            mean: Some(vec![1.0]),
            std: Some(vec![2.0]),
            ..Statistics::default()
        };
        let norm = Normalizer::from_statistics(NormalizerKind::MeanStd, stats, None).unwrap();
        assert_eq!(norm.seen(), None);
        // Seen = mean ± 3 std = [-5, 7]; far beyond [-17, 19].
        assert!(norm.apply(&[19.0]).is_ok());
        assert!(norm.apply(&[19.5]).is_err());
        let stats = Statistics {
            low: Some(vec![0.0]),
            high: Some(vec![1.0]),
            min: Some(vec![0.5]),
            max: Some(vec![2.0]),
            ..Statistics::default()
        };
        let err = Normalizer::from_statistics(NormalizerKind::Quantile, stats, None).unwrap_err();
        assert!(err.to_string().contains("must contain"), "{err}");
        let stats = Statistics {
            low: Some(vec![0.0]),
            high: Some(vec![1.0]),
            min: Some(vec![0.0]),
            ..Statistics::default()
        };
        assert!(Normalizer::from_statistics(NormalizerKind::Quantile, stats, None).is_err());
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

    /// The documented rules, written plainly (docs/semantics.md#out-of-range), for comparison
    /// with the fast path and its cold half.
    fn documented(n: &Normalizer, d: usize, x: f64) -> std::result::Result<(f64, bool), ()> {
        let DimMap {
            a,
            s,
            b,
            clip,
            seen,
            ..
        } = n.maps[d];
        let span = seen.1 - seen.0;
        let constant = span == 0.0;
        let no_scale = s == 0.0 || constant;
        let same = if s == 0.0 { x == a } else { x == seen.0 };
        if no_scale && same {
            return Ok((if s == 0.0 { 0.0 } else { (x - a) / s + b }, false));
        }
        let far = x < seen.0 - span || x > seen.1 + span;
        if far && !constant {
            return Err(());
        }
        let policy = n.out_of_range;
        if no_scale {
            return match policy {
                OutOfRange::Clip if s == 0.0 => Ok((0.0, true)),
                OutOfRange::Clip => Ok(((x.clamp(clip.0, clip.1) - a) / s + b, true)),
                _ => Err(()),
            };
        }
        let outside_clip = x < clip.0 || x > clip.1;
        match policy {
            OutOfRange::Raise if x < seen.0 || x > seen.1 => Err(()),
            OutOfRange::Clip if outside_clip => Ok(((x.clamp(clip.0, clip.1) - a) / s + b, true)),
            _ => Ok(((x - a) / s + b, false)),
        }
    }

    proptest! {
        #[test]
        fn apply_follows_the_documented_rules(
            column in proptest::collection::vec(-50.0f64..50.0, 1..60),
            constant in proptest::bool::ANY,
            probes in proptest::collection::vec(-300.0f64..300.0, 1..40),
            kind_index in 0usize..3,
            policy_index in 0usize..3,
        ) {
            let kind = [NormalizerKind::Quantile, NormalizerKind::MinMax, NormalizerKind::MeanStd]
                [kind_index];
            let policy = [OutOfRange::Keep, OutOfRange::Clip, OutOfRange::Raise][policy_index];
            let column = if constant { vec![column[0]; column.len()] } else { column };
            let norm = Normalizer::fit(kind, &[&column[..]], 1)
                .unwrap()
                .with_out_of_range(policy)
                .unwrap();
            // The probes, the fitting data itself and its edges.
            let edges = norm.maps[0].seen;
            let xs = probes.iter().chain(&column).chain([&edges.0, &edges.1]);
            for &x in xs {
                let got = norm.apply_value(0, x).map_err(|_| ());
                prop_assert_eq!(got, documented(&norm, 0, x), "x = {}", x);
            }
        }

        #[test]
        fn inverse_undoes_apply_under_keep(
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
                let DimMap { a, s, .. } = norm.maps[at % 3];
                if s == 0.0 {
                    continue;
                }
                let bound = 4.0 * f64::EPSILON * (x.abs() + a.abs() + s);
                prop_assert!((xb - x).abs() <= bound, "{x} -> {yv} -> {xb}");
            }
        }
    }
}
