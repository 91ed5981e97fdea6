//! The decoded coefficient values of every token, precomputed for the decoder's fast path.
//!
//! Decoding concatenates the tokens' bytes, validates the UTF-8 and turns each character `c`
//! into the coefficient `(c + min_token) / scale`. When every token of a sequence is valid
//! UTF-8 on its own (almost always: a FAST token spells whole characters unless a merge joined
//! bytes across a character boundary), the concatenation is valid and its characters are the
//! tokens' characters in order, so the values can be copied per token without building or
//! validating the byte string. Sequences with any other token take the general path.

use crate::bpe::Bpe;

/// Per-token coefficient values.
#[derive(Clone, Debug)]
pub(crate) struct TokenValues {
    /// Token `i`'s values are `values[starts[i]..starts[i + 1]]`; `whole[i]` is false when the
    /// token's bytes are not valid UTF-8 on their own.
    starts: Vec<u32>,
    values: Vec<f64>,
    whole: Vec<bool>,
}

impl TokenValues {
    /// The values of `bpe`'s tokens under `min_token` and `scale`, computed by the same
    /// expression as the decoder's general path, so both give identical coefficients.
    pub(crate) fn new(bpe: &Bpe, min_token: i64, scale: f64) -> Self {
        let n = bpe.vocab_len();
        let mut starts = Vec::with_capacity(n + 1);
        let mut values = Vec::new();
        let mut whole = Vec::with_capacity(n);
        starts.push(0);
        for id in 0..n as u32 {
            let bytes = bpe.token_bytes(id).unwrap_or_default();
            match std::str::from_utf8(bytes) {
                Ok(text) => {
                    values.extend(text.chars().map(|c| (c as i64 + min_token) as f64 / scale));
                    whole.push(true);
                }
                Err(_) => whole.push(false),
            }
            starts.push(values.len() as u32);
        }
        Self {
            starts,
            values,
            whole,
        }
    }

    /// Writes the coefficients of `ids` into `out` (positions past the last one written are set
    /// to zero) and returns how many there are (also when more than `out` holds), or `None` when
    /// some id is unknown or not a whole token (then the caller takes the general path and `out`
    /// holds garbage).
    #[inline]
    pub(crate) fn write(&self, ids: &[i64], out: &mut [f64]) -> Option<usize> {
        let mut count = 0usize;
        for &id in ids {
            let i = usize::try_from(id).ok()?;
            if !*self.whole.get(i)? {
                return None;
            }
            let vals = &self.values[self.starts[i] as usize..self.starts[i + 1] as usize];
            // An element loop: tokens hold a few values, where a `memcpy` call costs more.
            for &v in vals {
                if let Some(slot) = out.get_mut(count) {
                    *slot = v;
                }
                count += 1;
            }
        }
        if count < out.len() {
            out[count..].fill(0.0);
        }
        Some(count)
    }
}
