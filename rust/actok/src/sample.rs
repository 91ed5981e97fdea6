//! Element types accepted as action input.

/// A floating-point element type actions can be given in.
///
/// All arithmetic happens in `f64`; `f32` input is widened exactly, so results do not depend on
/// the input precision beyond the input values themselves.
pub trait Sample: Copy + Send + Sync + 'static {
    /// Widens to `f64` (exact for `f32`).
    fn to_f64(self) -> f64;
    /// Narrows from `f64` (round to nearest for `f32`).
    fn from_f64(value: f64) -> Self;
}

impl Sample for f64 {
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline]
    fn from_f64(value: f64) -> Self {
        value
    }
}

impl Sample for f32 {
    #[inline]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline]
    fn from_f64(value: f64) -> Self {
        value as f32
    }
}
