//! The one error type of the core.

use std::fmt;
use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every way an actok call can fail.
///
/// Each variant names *what* was wrong and *where* (which chunk, which index, which file), because
/// the values involved end up as commands sent to robots: an error must be actionable, and nothing is
/// ever dropped or zeroed without the caller asking for it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An action chunk cannot be tokenized losslessly.
    #[error("cannot encode chunk {chunk} at flattened index {index}: {reason}")]
    Encode {
        /// Index of the chunk in the batch.
        chunk: usize,
        /// Row-major index of the coefficient inside the chunk's `(H, D)` matrix.
        index: usize,
        /// What was wrong with it.
        reason: EncodeIssue,
    },
    /// A token sequence does not decode to a valid chunk.
    #[error("cannot decode chunk {chunk}: {reason}")]
    Decode {
        /// Index of the sequence in the batch.
        chunk: usize,
        /// What was wrong with it.
        reason: DecodeIssue,
    },
    /// A tokenizer file is malformed or inconsistent.
    #[error("invalid tokenizer file {path}: {message}")]
    Format {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A tokenizer file or directory could not be read or written.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// An argument is out of its domain (shape, length, option, thread count).
    #[error("{0}")]
    InvalidArgument(String),
    /// An action value is NaN or infinite where finite values are required (fitting or applying
    /// a [`crate::Normalizer`]): a single bad value would otherwise poison every statistic or
    /// send a non-number to a robot.
    #[error(
        "{context}: value {value} at {}row {row}, dimension {dimension} is not finite",
        part_prefix(*.part)
    )]
    NotFinite {
        /// What was being done (`"cannot fit normalizer"`, `"cannot apply normalizer"`, ...).
        context: &'static str,
        /// Which array of a list (episode), when the input was a list of arrays.
        part: Option<usize>,
        /// Row (time step) inside that array.
        row: usize,
        /// Column (action dimension).
        dimension: usize,
        /// The offending value.
        value: f64,
    },
}

fn part_prefix(part: Option<usize>) -> String {
    part.map_or_else(String::new, |p| format!("episode {p}, "))
}

/// Why a coefficient could not be encoded.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EncodeIssue {
    /// The input action is NaN or infinite.
    NotFinite {
        /// The offending value.
        value: f64,
    },
    /// Every input value is finite, but this scaled DCT coefficient is not: the inputs are too
    /// large to transform (near `f64::MAX`), or the normalizer mapped them out of range.
    CoefficientNotFinite {
        /// The coefficient (infinite or NaN).
        value: f64,
    },
    /// The quantized coefficient is below the tokenizer's `min_token` (the reference clamps it).
    BelowMinToken {
        /// The quantized coefficient.
        quantized: f64,
        /// The tokenizer's `min_token`.
        min_token: i64,
    },
    /// The quantized coefficient maps to no Unicode scalar value (too large, or a surrogate).
    NotACharacter {
        /// The quantized coefficient.
        quantized: f64,
        /// The code point it would map to.
        code_point: f64,
    },
    /// The coefficient's character needs a byte-level symbol the vocabulary lacks (the reference
    /// drops it silently).
    NotInVocab {
        /// The quantized coefficient.
        quantized: i64,
        /// The byte-level symbol missing from the vocabulary.
        symbol: char,
    },
}

impl fmt::Display for EncodeIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFinite { value } => write!(f, "value {value} is not finite"),
            Self::CoefficientNotFinite { value } => write!(
                f,
                "the scaled DCT coefficient is {value}: the input values are too large to \
                 transform (are the actions normalized?)"
            ),
            Self::BelowMinToken {
                quantized,
                min_token,
            } => write!(
                f,
                "quantized coefficient {} is below min_token {min_token} \
                 (use on_overflow=\"clip\" to saturate)",
                Compact(*quantized)
            ),
            Self::NotACharacter {
                quantized,
                code_point,
            } => write!(
                f,
                "quantized coefficient {} maps to code point {}, which is not a Unicode scalar \
                 value (are the actions normalized? use on_overflow=\"clip\" to saturate)",
                Compact(*quantized),
                Compact(*code_point)
            ),
            Self::NotInVocab { quantized, symbol } => write!(
                f,
                "quantized coefficient {quantized} needs byte-level symbol {symbol:?} (U+{:04X}), \
                 which is not in the vocabulary (use on_overflow=\"clip\" to saturate)",
                *symbol as u32
            ),
        }
    }
}

/// An integer-valued `f64` written in full up to 2^53 (where every integer is exact) and in
/// scientific notation beyond, so that a coefficient of `1e300` does not print as 301 digits.
struct Compact(f64);

impl fmt::Display for Compact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.abs() < 9_007_199_254_740_992.0 {
            write!(f, "{}", self.0)
        } else {
            write!(f, "{:e}", self.0)
        }
    }
}

/// Why a token sequence could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeIssue {
    /// A token id is negative or not in the vocabulary.
    UnknownId {
        /// Position of the id in the sequence.
        position: usize,
        /// The id.
        id: i64,
        /// The vocabulary's size (valid ids are `0..vocab_len`).
        vocab_len: usize,
    },
    /// The tokens' bytes are not valid UTF-8.
    InvalidUtf8 {
        /// Byte offset of the first invalid byte.
        byte_offset: usize,
    },
    /// The sequence decodes to the wrong number of coefficients.
    WrongLength {
        /// Coefficients decoded.
        got: usize,
        /// `time_horizon * action_dim`.
        expected: usize,
    },
}

impl fmt::Display for DecodeIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownId { position, id, vocab_len } => write!(
                f,
                "token id {id} at position {position} is not in the vocabulary (valid ids are 0..{vocab_len})"
            ),
            Self::InvalidUtf8 { byte_offset } => {
                write!(f, "tokens decode to invalid UTF-8 at byte {byte_offset}")
            }
            Self::WrongLength { got, expected } => write!(
                f,
                "tokens decode to {got} coefficients, expected {expected} (time_horizon * action_dim)"
            ),
        }
    }
}

impl Error {
    pub(crate) fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::Format {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// A shape as Python prints a tuple (`(7,)`, `(2, 3)`), the way users see shapes in numpy.
pub(crate) fn shape_text(shape: &[usize]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(usize::to_string).collect();
            format!("({})", parts.join(", "))
        }
    }
}
