//! Transforming an n-dimensional array along one axis given as numpy does (negative counts from
//! the end): the axis rule lives here so front-ends pass the user's axis through unchanged.

use super::{transform_axis, DctSpec};
use crate::error::{Error, Result};
use crate::sample::Sample;

/// `scipy.fft.dct(x, axis=axis)` (or `idct`, per `spec`) of a row-major array of shape `shape`.
///
/// `axis` may be negative (`-1` is the last axis). An array with no axes, or an axis outside
/// `-ndim..ndim`, is an [`Error::InvalidArgument`] naming both.
pub fn transform_along<T: Sample, U: Sample>(
    spec: DctSpec,
    input: &[T],
    output: &mut [U],
    shape: &[usize],
    axis: isize,
) -> Result<()> {
    let ndim = shape.len();
    if ndim == 0 {
        return Err(Error::InvalidArgument(
            "x must have at least one dimension".into(),
        ));
    }
    let resolved = if axis < 0 {
        axis.checked_add(ndim as isize)
    } else {
        Some(axis)
    };
    let axis = match resolved {
        Some(a) if (0..ndim as isize).contains(&a) => a as usize,
        _ => {
            return Err(Error::InvalidArgument(format!(
                "axis {axis} is out of range for an array of {ndim} dimensions"
            )))
        }
    };
    // Products of a numpy array's dimensions fit in usize: the array exists.
    let outer = shape[..axis].iter().product();
    let inner = shape[axis + 1..].iter().product();
    transform_axis(spec, input, output, [outer, shape[axis], inner])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dct::{DctType, Norm};

    #[test]
    fn negative_axes_count_from_the_end_and_bad_axes_are_named() {
        let spec = DctSpec::dct(DctType::Two, Norm::Ortho, None);
        let x: Vec<f64> = (0..24).map(f64::from).collect();
        let (mut a, mut b) = (vec![0.0; 24], vec![0.0; 24]);
        transform_along(spec, &x, &mut a, &[2, 3, 4], -2).unwrap();
        transform_along(spec, &x, &mut b, &[2, 3, 4], 1).unwrap();
        assert_eq!(a, b);
        for bad in [3, -4, isize::MIN, isize::MAX] {
            let msg = transform_along(spec, &x, &mut a, &[2, 3, 4], bad)
                .unwrap_err()
                .to_string();
            assert_eq!(
                msg,
                format!("axis {bad} is out of range for an array of 3 dimensions")
            );
        }
        let msg = transform_along(spec, &x[..1], &mut a[..1], &[], 0)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("at least one dimension"), "{msg}");
    }
}
