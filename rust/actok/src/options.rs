//! Every option a user spells as a string (`on_error="pad"`, `--pad drop`, `norm="ortho"`): one
//! table of spellings per option, owned here, so that the core, the Python bindings and the CLI
//! accept exactly the same words and refuse every other one with the same message.
//!
//! The option enums themselves are defined here too, so every module that takes an option
//! depends on this one and not the reverse.
//!
//! The bindings convert a Python `str` through [`Choice::parse`] and the CLI takes its `choices`
//! from [`Choice::names`]; neither keeps a list of its own. The meaning of each value is
//! documented on its enum (`docs/semantics.md` has the full semantics).

use std::fmt;

use crate::error::{Error, Result};

/// An option spelled as a string: its name and its table of accepted spellings.
pub trait Choice: Copy + PartialEq + Sized + 'static {
    /// The option's name in every front-end's messages (`"on_error"`).
    const OPTION: &'static str;
    /// Each accepted spelling with its value, in the order messages list them. A value's first
    /// spelling is its name ([`Choice::name`]); later ones are aliases.
    const CHOICES: &'static [(&'static str, Self)];

    /// The spelling that names `self` (what is written to files and shown in messages).
    fn name(self) -> &'static str {
        Self::CHOICES
            .iter()
            .find(|(_, value)| *value == self)
            .map(|(name, _)| *name)
            .expect("every value of an option has a spelling in its table")
    }

    /// Every accepted spelling, in table order (the CLI's `choices`).
    fn names() -> Vec<&'static str> {
        Self::CHOICES.iter().map(|(name, _)| *name).collect()
    }

    /// The value spelled `text`, or [`Error::InvalidArgument`] listing every accepted spelling.
    fn parse(text: &str) -> Result<Self> {
        Self::CHOICES
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, value)| *value)
            .ok_or_else(|| Error::InvalidArgument(refusal(Self::OPTION, &Self::names(), text)))
    }
}

/// `option must be "a", "b" or "c", got "x"`: the one message for an unknown spelling.
fn refusal(option: &str, names: &[&str], got: &str) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    let listed = match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    format!("{option} must be {listed}, got {got:?}")
}

// ---------------------------------------------------------------------------------------------
// The options
// ---------------------------------------------------------------------------------------------

/// What to do with a coefficient the tokenizer cannot represent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Overflow {
    /// Fail with [`Error::Encode`] naming the chunk and index (the default).
    #[default]
    Raise,
    /// Saturate to the nearest representable value.
    Clip,
}

/// What to do with a token sequence that does not decode to a valid chunk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnDecodeError {
    /// Fail with [`Error::Decode`] naming the chunk and reason (the default).
    #[default]
    Raise,
    /// Keep the decodable prefix of coefficients and zero-fill the rest (the missing high
    /// frequencies); extra coefficients beyond `H×D` are ignored.
    Pad,
    /// Return an all-zero chunk, as the reference does (literal zeros, also when a normalizer is
    /// attached: the normalizer's inverse is not applied to a chunk that did not decode).
    Zeros,
}

/// Which characters start out in the vocabulary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FitAlphabet {
    /// The reference recipe, exactly: `chr(0..=max_token - min_token)` with `min_token` and
    /// `max_token` the corpus's extremes, and the reference's error when
    /// `max_token - min_token > vocab_size`. Byte-level symbols that the training data never
    /// produces may be missing from the vocabulary, so some in-range coefficients cannot be
    /// encoded (the reference drops them silently; actok raises), and `chr(0..=32)` entries are
    /// dead (byte-level mapping never produces them).
    Reference,
    /// Every byte-level symbol needed to spell the characters of the fitted range is in the
    /// vocabulary, so every coefficient in it encodes losslessly, with no dead entries.
    ///
    /// Range policy: with `lo`/`hi` the smallest/largest quantized coefficient of the corpus and
    /// `margin = max(1, ceil((hi - lo) / 10))`, the guaranteed range is
    /// `[lo - margin, hi + margin]`, clamped to `±ceil(scale·√H)` when fitted through a
    /// normalizer that clips to `[-1, 1]` (no chunk encode can meet reaches further;
    /// `docs/semantics.md#lossless-alphabet`); `min_token` is the placement's ([`crate::Placement`]:
    /// the range's low end for the reference placement). Values outside it follow the
    /// encoder's overflow policy: an [`Error::Encode`] by default, saturation to the nearest
    /// representable value with [`Overflow::Clip`].
    #[default]
    Lossless,
}

/// How a fit chooses `min_token`, spelled as a word (an integer `min_token` is the third way:
/// [`crate::Placement::MinToken`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PlacementMode {
    /// Choose from data: [`crate::Placement::Auto`].
    #[default]
    Auto,
    /// The reference recipe's: [`crate::Placement::Reference`].
    Reference,
}

/// Which statistics a [`crate::Normalizer`] uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NormalizerKind {
    /// 1st/99th percentile to -1/+1 (FAST's recommendation).
    Quantile,
    /// `(x - mean) / std`, population std.
    MeanStd,
    /// Min/max to -1/+1.
    MinMax,
    /// No change (useful to record that actions are already normalized).
    Identity,
}

/// What a [`crate::Normalizer`] does with a value outside the range it was fitted to
/// (`docs/semantics.md#out-of-range`).
///
/// Whatever the policy, a value *far* outside the data the normalizer was fitted on (beyond its
/// observed min/max by more than the observed span) is refused: it is almost always a unit or
/// normalizer mix-up (degrees into a radians fit), not a tail.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OutOfRange {
    /// Map every value with the same affine map, beyond -1/+1 for the tails; nothing is lost
    /// (the default). A tokenizer fitted through the normalizer sized its alphabet from these
    /// unclipped values.
    #[default]
    Keep,
    /// Saturate values outside the fitted range to its ends (FAST's recipe for quantile
    /// normalization), counting them: lossy, so only when asked for.
    Clip,
    /// Refuse any value outside what the fit saw (its observed min/max).
    Raise,
}

/// How to treat chunks that would run past the end of an episode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ChunkPad {
    /// Every start `t < T_i` is used; steps past the end repeat the episode's last action (the
    /// LeRobot / openpi convention: the robot holds its final command).
    #[default]
    RepeatLast,
    /// Only chunks that lie fully inside the episode (`t <= T_i - H`); an episode shorter than `H`
    /// contributes no chunk.
    Drop,
}

/// Normalization mode, with scipy's names and meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Norm {
    /// No scaling on the forward transform (scipy's `None` / `"backward"`).
    #[default]
    Backward,
    /// Orthonormal scaling (`"ortho"`).
    Ortho,
    /// Scaling by `1/(2N)` on the forward transform (`"forward"`).
    Forward,
}

/// Implements [`Choice`] from a table, plus `FromStr` and `Display` through it.
macro_rules! choice {
    ($ty:ty, $option:literal, [$($name:literal => $value:expr),+ $(,)?]) => {
        impl Choice for $ty {
            const OPTION: &'static str = $option;
            const CHOICES: &'static [(&'static str, Self)] = &[$(($name, $value)),+];
        }

        impl std::str::FromStr for $ty {
            type Err = Error;

            fn from_str(text: &str) -> Result<Self> {
                <$ty as Choice>::parse(text)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(Choice::name(*self))
            }
        }
    };
}

choice!(Overflow, "on_overflow", [
    "raise" => Overflow::Raise,
    "clip" => Overflow::Clip,
]);

choice!(OnDecodeError, "on_error", [
    "raise" => OnDecodeError::Raise,
    "pad" => OnDecodeError::Pad,
    "zeros" => OnDecodeError::Zeros,
]);

choice!(FitAlphabet, "alphabet", [
    "lossless" => FitAlphabet::Lossless,
    "reference" => FitAlphabet::Reference,
]);

choice!(PlacementMode, "placement", [
    "auto" => PlacementMode::Auto,
    "reference" => PlacementMode::Reference,
]);

choice!(NormalizerKind, "normalizer kind", [
    "quantile" => NormalizerKind::Quantile,
    "meanstd" => NormalizerKind::MeanStd,
    "minmax" => NormalizerKind::MinMax,
    "identity" => NormalizerKind::Identity,
]);

choice!(OutOfRange, "out_of_range", [
    "keep" => OutOfRange::Keep,
    "clip" => OutOfRange::Clip,
    "raise" => OutOfRange::Raise,
]);

choice!(ChunkPad, "pad", [
    "repeat_last" => ChunkPad::RepeatLast,
    "drop" => ChunkPad::Drop,
]);

choice!(Norm, "norm", [
    "backward" => Norm::Backward,
    "ortho" => Norm::Ortho,
    "forward" => Norm::Forward,
]);

#[cfg(test)]
mod tests {
    use super::*;

    fn check<T: Choice + fmt::Debug + std::str::FromStr<Err = Error> + fmt::Display>(
        expected_message: &str,
    ) {
        for (name, value) in T::CHOICES {
            assert_eq!(T::parse(name).unwrap(), *value);
            assert_eq!(name.parse::<T>().unwrap(), *value);
        }
        for value in T::CHOICES.iter().map(|(_, v)| *v) {
            assert_eq!(T::parse(value.name()).unwrap(), value);
            assert_eq!(value.to_string(), value.name());
        }
        let err = T::parse("bogus").unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)));
        assert_eq!(err.to_string(), expected_message);
    }

    #[test]
    fn every_option_parses_its_names_and_refuses_others_with_one_message() {
        check::<Overflow>(r#"on_overflow must be "raise" or "clip", got "bogus""#);
        check::<OnDecodeError>(r#"on_error must be "raise", "pad" or "zeros", got "bogus""#);
        check::<FitAlphabet>(r#"alphabet must be "lossless" or "reference", got "bogus""#);
        check::<NormalizerKind>(
            r#"normalizer kind must be "quantile", "meanstd", "minmax" or "identity", got "bogus""#,
        );
        check::<OutOfRange>(r#"out_of_range must be "keep", "clip" or "raise", got "bogus""#);
        check::<ChunkPad>(r#"pad must be "repeat_last" or "drop", got "bogus""#);
        check::<Norm>(r#"norm must be "backward", "ortho" or "forward", got "bogus""#);
    }

    #[test]
    fn messages_quote_what_was_given() {
        let err = OnDecodeError::parse("with \"quotes\"").unwrap_err();
        assert!(
            err.to_string().ends_with(r#"got "with \"quotes\"""#),
            "{err}"
        );
    }
}
