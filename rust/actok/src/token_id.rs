//! The one token id type, and the integers decoding accepts as ids.

use crate::error::DecodeIssue;

/// A token id: what [`crate::FastTokenizer::encode`] returns and [`crate::Bpe`] uses.
pub type TokenId = u32;

/// An integer that decoding accepts as a token id: [`TokenId`] itself (what `encode` returns), or
/// a wider or signed integer from an untrusted source (numpy `int64` arrays, `i32` padded rows).
///
/// A value that is negative or beyond `u32` is no id; decoding reports it, with its value, as
/// [`crate::DecodeIssue::UnknownId`] like any other id outside the vocabulary.
pub trait InputId: Copy + Send + Sync + 'static {
    /// The id, when the value is one a [`TokenId`] can hold.
    fn token_id(self) -> Option<TokenId>;
    /// The value as given, for error messages and length checks (`i128` holds every
    /// implementing type's values).
    fn value(self) -> i128;
}

/// Every integer type that holds ids: a value is an id when it converts to [`TokenId`]. `i128`
/// carries Python ints wider than 64 bits (the bindings' slow path).
macro_rules! input_ids {
    ($($t:ty),+) => {$(
        impl InputId for $t {
            #[inline]
            fn token_id(self) -> Option<TokenId> {
                TokenId::try_from(self).ok()
            }
            fn value(self) -> i128 {
                i128::from(self)
            }
        }
    )+};
}

input_ids!(u16, u32, i32, i64, u64, i128);

/// The one wording of the ids of a vocabulary of `len` tokens, inclusive at both ends, for every
/// message that states them (Rust's `0..len` reads as "up to len" to most users).
pub(crate) fn valid_ids_text(len: usize) -> String {
    match len.checked_sub(1) {
        Some(last) => format!("valid ids are 0 to {last}, inclusive"),
        None => "the vocabulary is empty, no id is valid".into(),
    }
}

/// The issue for an id outside the vocabulary at `position`: [`DecodeIssue::UnknownId`], or
/// [`DecodeIssue::IdOutOfRange`] when the value does not even fit `i64`.
pub(crate) fn unknown_id(position: usize, id: i128, vocab_len: usize) -> DecodeIssue {
    match i64::try_from(id) {
        Ok(id) => DecodeIssue::UnknownId {
            position,
            id,
            vocab_len,
        },
        Err(_) => DecodeIssue::IdOutOfRange {
            position,
            id,
            vocab_len,
        },
    }
}
