//! Every option a user spells as a string (`on_error="pad"`, `--pad drop`, `norm="ortho"`): one
//! table of spellings per option, owned here, so that the core, the Python bindings and the CLI
//! accept exactly the same words and refuse every other one with the same message.
//!
//! The bindings convert a Python `str` through [`Choice::parse`] and the CLI takes its `choices`
//! from [`Choice::names`]; neither keeps a list of its own. The meaning of each value is
//! documented on its enum (`docs/semantics.md` has the full semantics).

use std::fmt;

use crate::dct::{DctType, Norm};
use crate::error::{Error, Result};
use crate::fast::chunking::ChunkPad;
use crate::fast::fit::FitAlphabet;
use crate::fast::normalizer::NormalizerKind;
use crate::fast::tokenizer::{OnDecodeError, Overflow};

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

choice!(NormalizerKind, "normalizer kind", [
    "quantile" => NormalizerKind::Quantile,
    "meanstd" => NormalizerKind::MeanStd,
    "minmax" => NormalizerKind::MinMax,
    "identity" => NormalizerKind::Identity,
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

    #[test]
    fn dct_types_by_number() {
        assert_eq!(DctType::from_number(2).unwrap(), DctType::Two);
        assert_eq!(DctType::from_number(3).unwrap(), DctType::Three);
        for bad in [0, 1, 4, -2] {
            let message = DctType::from_number(bad).unwrap_err().to_string();
            assert!(message.starts_with("type must be 2 or 3"), "{message}");
        }
    }
}
