//! FAST's one mapping between a quantized coefficient and text: the coefficient `q` is the
//! character of code point `q - min_token`, and decoding turns a character of code point `cp`
//! back into the value `(cp + min_token) / scale`. Encoding, decoding, the per-token values,
//! the representable range and fitting all go through it.

/// The code of one tokenizer: its `min_token` and `scale`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct CoefficientCode {
    min_token: i64,
    scale: f64,
}

impl CoefficientCode {
    pub(crate) fn new(min_token: i64, scale: f64) -> Self {
        Self { min_token, scale }
    }

    /// The tokenizer's `min_token`: the coefficient of code point 0.
    pub(crate) fn min_token(self) -> i64 {
        self.min_token
    }

    /// The code point of quantized coefficient `q` (an integer-valued `f64`), as an `f64` so that
    /// any `q` can be tested against the valid range first. Exact whenever the result is a code
    /// point: both operands are integers and so is their difference.
    #[inline]
    pub(crate) fn code_point(self, q: f64) -> f64 {
        q - self.min_token as f64
    }

    /// The quantized coefficient of code point `cp`.
    #[inline]
    pub(crate) fn quantized(self, cp: u32) -> i64 {
        i64::from(cp) + self.min_token
    }

    /// The decoded (unscaled) coefficient of character `c`.
    #[inline]
    pub(crate) fn value(self, c: char) -> f64 {
        self.quantized(c as u32) as f64 / self.scale
    }
}
