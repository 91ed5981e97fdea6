//! scipy-exact DCT-II and DCT-III along one axis of a row-major array.
//!
//! The transforms follow `scipy.fft.dct` / `scipy.fft.idct` (types 2 and 3) including the `norm`
//! and `orthogonalize` options; see `docs/semantics.md#dct-functions`. Arithmetic is in `f64`
//! whatever the element type. The kernels are a bit-exact port of the pocketfft code scipy runs
//! (`pocketfft.rs`): FAST rounds coefficients half-to-even, and binary signals (grippers)
//! produce exact ties whose rounding depends on the last bit, so matching scipy to a tolerance
//! would not give identical tokens. Plans are cached per length and shared across threads
//! (`cache.rs`).
//!
//! FAST's own transforms of whole `(H, D)` chunks live here too: `forward.rs` (the encoder's
//! DCT-II, a folded matrix product with an exact fallback per column) and `inverse.rs` (the
//! decoder's DCT-III), both built on the dense matrices of `matrix.rs`.

use std::sync::Arc;

pub use crate::options::Norm;

mod axis;
mod cache;
pub(crate) mod forward;
pub(crate) mod inverse;
pub(crate) mod matrix;
mod pairs;
mod pocketfft;

use cache::Cache;

use crate::error::{Error, Result};
use crate::parallel;
use crate::sample::Sample;
use pocketfft::{scipy_norm_fct, PocketDct2, PocketDct3};

/// Which DCT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DctType {
    /// DCT-II (the forward transform FAST uses to encode).
    Two,
    /// DCT-III (the inverse of the orthonormal DCT-II; used to decode).
    Three,
}

/// The DCT types actok implements, by their scipy number (`type=2`).
impl DctType {
    /// The type numbered `number` in scipy's `type=` argument, or [`Error::InvalidArgument`].
    pub fn from_number(number: i64) -> Result<Self> {
        match number {
            2 => Ok(Self::Two),
            3 => Ok(Self::Three),
            other => Err(Error::InvalidArgument(format!(
                "type must be 2 or 3, got {other} (types 1 and 4 are not implemented)"
            ))),
        }
    }
}

impl Norm {
    /// The norm scipy's `idct` passes to the forward transform: backward and forward swap.
    pub fn flipped(self) -> Self {
        match self {
            Norm::Backward => Norm::Forward,
            Norm::Forward => Norm::Backward,
            Norm::Ortho => Norm::Ortho,
        }
    }
}

/// A fully specified transform: type, norm and scipy's `orthogonalize` flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DctSpec {
    /// DCT type.
    pub kind: DctType,
    /// Normalization.
    pub norm: Norm,
    /// scipy's `orthogonalize`: scales the first output (type 2) or input (type 3) so the
    /// orthonormal transform is orthogonal.
    pub orthogonalize: bool,
}

impl DctSpec {
    /// `scipy.fft.dct(x, type, norm=norm, orthogonalize=orthogonalize)`; `orthogonalize = None`
    /// means true exactly when `norm` is ortho, as in scipy.
    pub fn dct(kind: DctType, norm: Norm, orthogonalize: Option<bool>) -> Self {
        Self {
            kind,
            norm,
            orthogonalize: orthogonalize.unwrap_or(norm == Norm::Ortho),
        }
    }

    /// `scipy.fft.idct(x, type, norm=norm, orthogonalize=orthogonalize)`: the forward transform
    /// of the other type with the flipped norm.
    pub fn idct(kind: DctType, norm: Norm, orthogonalize: Option<bool>) -> Self {
        let other = match kind {
            DctType::Two => DctType::Three,
            DctType::Three => DctType::Two,
        };
        Self::dct(other, norm.flipped(), orthogonalize)
    }

    /// The orthonormal DCT-II FAST encodes with.
    pub const FAST_FORWARD: Self = Self {
        kind: DctType::Two,
        norm: Norm::Ortho,
        orthogonalize: true,
    };
    /// The orthonormal DCT-III FAST decodes with (`idct(type=2, norm="ortho")`).
    pub const FAST_INVERSE: Self = Self {
        kind: DctType::Three,
        norm: Norm::Ortho,
        orthogonalize: true,
    };
}

/// A planned kernel of one type and length.
enum Kernel {
    Two(PocketDct2),
    Three(PocketDct3),
}

/// The kernel of one type and length, planned once and shared by every thread.
fn kernel(kind: DctType, len: usize) -> Arc<Kernel> {
    static CACHE: Cache<(DctType, usize), Kernel> = Cache::new();
    let planned = cache::shared(&CACHE, (kind, len), || {
        Ok::<_, std::convert::Infallible>(match kind {
            DctType::Two => Kernel::Two(PocketDct2::new(len)),
            DctType::Three => Kernel::Three(PocketDct3::new(len)),
        })
    });
    planned.unwrap_or_else(|never| match never {})
}

/// A transform of one length, ready to run on many columns.
pub struct Transform {
    spec: DctSpec,
    len: usize,
    kernel: Arc<Kernel>,
    /// scipy's normalization factor, applied inside the kernel exactly where pocketfft applies it.
    fct: f64,
}

impl Transform {
    /// Plans a transform of length `len` (must be ≥ 1).
    pub fn new(spec: DctSpec, len: usize) -> Result<Self> {
        if len == 0 {
            return Err(Error::InvalidArgument(
                "invalid number of data points (0) along the transform axis: must be at least 1"
                    .into(),
            ));
        }
        // scipy's internal norm code: 0 backward, 1 ortho, 2 forward (`idct` is already mapped
        // to the other type with the flipped norm by `DctSpec::idct`, as scipy does).
        let inorm = match spec.norm {
            Norm::Backward => 0,
            Norm::Ortho => 1,
            Norm::Forward => 2,
        };
        Ok(Self {
            spec,
            len,
            kernel: kernel(spec.kind, len),
            fct: scipy_norm_fct(inorm, len),
        })
    }

    /// Length along the transform axis.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: a transform has at least one point.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The transform's specification.
    pub fn spec(&self) -> DctSpec {
        self.spec
    }

    /// Transforms one `(len, inner)` row-major block along its first axis.
    ///
    /// `input` and `output` hold `len * inner` elements; `scratch` grows as needed and can be
    /// reused across calls to avoid allocation.
    pub fn apply_block<T: Sample>(
        &self,
        input: &[T],
        output: &mut [f64],
        inner: usize,
        scratch: &mut DctScratch,
    ) {
        let n = self.len;
        debug_assert_eq!(input.len(), n * inner);
        debug_assert_eq!(output.len(), n * inner);
        let DctScratch { column, kernel } = scratch;
        column.resize(n, 0.0);
        for j in 0..inner {
            for (i, slot) in column.iter_mut().enumerate() {
                *slot = input[i * inner + j].to_f64();
            }
            match &*self.kernel {
                Kernel::Two(k) => k.exec(column, self.fct, self.spec.orthogonalize, kernel),
                Kernel::Three(k) => k.exec(column, self.fct, self.spec.orthogonalize, kernel),
            }
            for (i, value) in column.iter().enumerate() {
                output[i * inner + j] = *value;
            }
        }
    }
}

impl Transform {
    /// Transforms one contiguous column in place (`column.len()` must be the length).
    pub(crate) fn apply_column(&self, column: &mut [f64], scratch: &mut DctScratch) {
        debug_assert_eq!(column.len(), self.len);
        match &*self.kernel {
            Kernel::Two(k) => k.exec(
                column,
                self.fct,
                self.spec.orthogonalize,
                &mut scratch.kernel,
            ),
            Kernel::Three(k) => k.exec(
                column,
                self.fct,
                self.spec.orthogonalize,
                &mut scratch.kernel,
            ),
        }
    }
}

/// Reusable buffers for [`Transform::apply_block`].
#[derive(Default)]
pub struct DctScratch {
    column: Vec<f64>,
    kernel: Vec<f64>,
}

impl DctScratch {
    /// Reserves room for transforms of length `len`, so that [`Transform::apply_block`] and
    /// column transforms of that length allocate nothing (the real-time path,
    /// [`crate::FastTokenizer::encode_into`]).
    pub(crate) fn reserve(&mut self, len: usize) {
        crate::bpe::reserve_total(&mut self.column, len);
        crate::bpe::reserve_total(&mut self.kernel, len);
        pocketfft::reserve_thread_buffers(len);
    }
}

pub use axis::transform_along;

/// Transforms a row-major array of shape `shape = (outer, n, inner)` along its middle axis.
///
/// This is `scipy.fft.dct(x, axis=k)` for an array whose axes before `k` multiply to `outer` and
/// after `k` to `inner`. Runs in parallel over `outer` on actok's thread pool.
pub fn transform_axis<T: Sample, U: Sample>(
    spec: DctSpec,
    input: &[T],
    output: &mut [U],
    shape: [usize; 3],
) -> Result<()> {
    let [outer, n, inner] = shape;
    let block = n.checked_mul(inner).ok_or_else(|| overflow(shape))?;
    let total = outer.checked_mul(block).ok_or_else(|| overflow(shape))?;
    if input.len() != total || output.len() != total {
        return Err(Error::InvalidArgument(format!(
            "array of shape {shape:?} needs {total} elements, got input {} and output {}",
            input.len(),
            output.len()
        )));
    }
    let transform = Transform::new(spec, n)?;
    if total == 0 {
        return Ok(());
    }
    let init = || (DctScratch::default(), vec![0.0; block]);
    let min_parallel = parallel::min_parallel_items(block);
    parallel::for_each_block(
        output,
        block,
        min_parallel,
        init,
        |(scratch, wide), b, out| {
            transform.apply_block(&input[b * block..(b + 1) * block], wide, inner, scratch);
            for (o, w) in out.iter_mut().zip(wide.iter()) {
                *o = U::from_f64(*w);
            }
        },
    )
}

fn overflow(shape: [usize; 3]) -> Error {
    Error::InvalidArgument(format!("array of shape {shape:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct O(N²) evaluation of scipy's definitions (`docs/semantics.md#dct`).
    fn naive(spec: DctSpec, x: &[f64]) -> Vec<f64> {
        let n = x.len();
        let nf = n as f64;
        let mut x = x.to_vec();
        if spec.kind == DctType::Three && spec.orthogonalize {
            x[0] *= 2f64.sqrt();
        }
        let mut y: Vec<f64> = (0..n)
            .map(|k| match spec.kind {
                DctType::Two => {
                    2.0 * (0..n)
                        .map(|i| {
                            x[i] * (std::f64::consts::PI * k as f64 * (2 * i + 1) as f64
                                / (2.0 * nf))
                                .cos()
                        })
                        .sum::<f64>()
                }
                DctType::Three => {
                    x[0] + 2.0
                        * (1..n)
                            .map(|i| {
                                x[i] * (std::f64::consts::PI * (2 * k + 1) as f64 * i as f64
                                    / (2.0 * nf))
                                    .cos()
                            })
                            .sum::<f64>()
                }
            })
            .collect();
        let f = match spec.norm {
            Norm::Backward => 1.0,
            Norm::Forward => 1.0 / (2.0 * nf),
            Norm::Ortho => (1.0 / (2.0 * nf)).sqrt(),
        };
        for v in &mut y {
            *v *= f;
        }
        if spec.kind == DctType::Two && spec.orthogonalize {
            y[0] /= 2f64.sqrt();
        }
        y
    }

    fn all_specs() -> Vec<DctSpec> {
        let mut specs = Vec::new();
        for kind in [DctType::Two, DctType::Three] {
            for norm in [Norm::Backward, Norm::Ortho, Norm::Forward] {
                for orth in [false, true] {
                    specs.push(DctSpec {
                        kind,
                        norm,
                        orthogonalize: orth,
                    });
                }
            }
        }
        specs
    }

    #[test]
    fn dct_types_by_number() {
        assert_eq!(DctType::from_number(2).unwrap(), DctType::Two);
        assert_eq!(DctType::from_number(3).unwrap(), DctType::Three);
        for bad in [0, 1, 4, -2] {
            let message = DctType::from_number(bad).unwrap_err().to_string();
            assert!(message.starts_with("type must be 2 or 3"), "{message}");
        }
    }

    #[test]
    fn matches_definition() {
        for spec in all_specs() {
            for n in [1usize, 2, 3, 5, 7, 8, 13, 16, 50, 97] {
                let x: Vec<f64> = (0..n).map(|i| ((i * 37 % 11) as f64 - 5.0) / 3.0).collect();
                let mut out = vec![0.0; n];
                transform_axis(spec, &x, &mut out, [1, n, 1]).unwrap();
                let want = naive(spec, &x);
                let scale = want.iter().fold(1e-300f64, |m, v| m.max(v.abs()));
                for (a, b) in out.iter().zip(&want) {
                    assert!((a - b).abs() <= 1e-12 * scale, "{spec:?} n={n}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn ortho_pair_inverts() {
        let (h, d) = (50, 14);
        let x: Vec<f64> = (0..h * d).map(|i| (i as f64 * 0.37).sin()).collect();
        let mut c = vec![0.0; h * d];
        let mut back = vec![0.0; h * d];
        transform_axis(DctSpec::FAST_FORWARD, &x, &mut c, [1, h, d]).unwrap();
        transform_axis(DctSpec::FAST_INVERSE, &c, &mut back, [1, h, d]).unwrap();
        for (a, b) in x.iter().zip(&back) {
            assert!((a - b).abs() < 1e-13);
        }
    }

    #[test]
    fn idct_spec_flips_norm() {
        let s = DctSpec::idct(DctType::Two, Norm::Backward, None);
        assert_eq!(
            s,
            DctSpec {
                kind: DctType::Three,
                norm: Norm::Forward,
                orthogonalize: false
            }
        );
        assert_eq!(
            DctSpec::idct(DctType::Two, Norm::Ortho, None),
            DctSpec::FAST_INVERSE
        );
    }

    #[test]
    fn zero_length_is_an_error() {
        let err = transform_axis::<f64, f64>(DctSpec::FAST_FORWARD, &[], &mut [], [3, 0, 2]);
        assert!(matches!(err, Err(Error::InvalidArgument(_))));
    }

    #[test]
    fn empty_outer_is_fine() {
        transform_axis::<f64, f64>(DctSpec::FAST_FORWARD, &[], &mut [], [0, 5, 2]).unwrap();
    }
}
