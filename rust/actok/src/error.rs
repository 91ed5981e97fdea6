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
    /// A value is NaN or infinite where finite values are required (fitting a tokenizer or a
    /// [`crate::Normalizer`], applying a normalizer): a single bad value would otherwise poison
    /// every statistic or send a non-number to a robot. (Encoding reports the same fault per
    /// chunk, as [`EncodeIssue::NotFinite`] inside [`Error::Encode`].)
    #[error("{context}: {quantity} {value} in {place} is not finite")]
    NotFinite {
        /// What was being done (`"cannot fit normalizer"`, `"cannot fit tokenizer"`, ...).
        context: &'static str,
        /// Whether the input value or a coefficient computed from it is not finite.
        quantity: Quantity,
        /// Where the value sits, in the terms of the caller's input.
        place: Place,
        /// The offending value.
        value: f64,
    },
    /// A token id a constraint refuses at this point of a sequence ([`crate::Constraint`],
    /// [`crate::ConstraintBatch`]): after it, no continuation decodes (or the row has ended).
    #[error("cannot advance {}: token id {id} at position {position} is not allowed after {state}: {reason}", RowText(*row))]
    NotAllowed {
        /// The row of a batch, `None` for a single [`crate::Constraint`].
        row: Option<usize>,
        /// How many tokens the sequence already holds (the position this id would take).
        position: usize,
        /// The id given (in the model's vocabulary when a batch maps ids).
        id: i128,
        /// Where the sequence was.
        state: ConstraintState,
        /// Why the id is refused there.
        reason: Refusal,
    },
    /// A value a [`crate::Normalizer`] refuses under its [`crate::OutOfRange`] policy: far
    /// outside the data it was fitted on (every policy), outside that data with `"raise"`, or a
    /// new value in a dimension that was constant in that data. Reported where the value sits
    /// (chunk, step and dimension when encoding).
    #[error("{context}: value {value} at {place} {issue}")]
    OutOfRange {
        /// What was being done (`"cannot encode"`, `"cannot apply normalizer"`, ...).
        context: &'static str,
        /// Where the value sits, in the terms of the caller's input.
        place: Place,
        /// The raw value.
        value: f64,
        /// Why it is refused, with the ranges involved.
        issue: RangeIssue,
    },
}

/// Why a normalizer refuses a value, for [`Error::OutOfRange`].
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum RangeIssue {
    /// Beyond the fitting data's range `(min, max)` by more than its span `max - min` (refused
    /// under every policy).
    Far {
        /// The fitting data's `(min, max)` in this dimension.
        seen: (f64, f64),
    },
    /// Outside the fitting data's range, with `out_of_range="raise"`.
    Unseen {
        /// The fitting data's `(min, max)` in this dimension.
        seen: (f64, f64),
    },
    /// The dimension held one value in the fitting data, so the normalizer has no scale for
    /// any other.
    Constant {
        /// That value.
        constant: f64,
    },
}

impl fmt::Display for RangeIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Far { seen } => write!(
                f,
                "is far outside the data the normalizer was fitted on (that data spans \
                 [{}, {}] here; beyond [{}, {}] values are refused under every out_of_range \
                 policy): are the actions in other units than the fitting data (degrees vs \
                 radians, millimetres vs metres), or is this another robot's or dataset's \
                 normalizer?",
                Short(seen.0),
                Short(seen.1),
                Short(seen.0 - (seen.1 - seen.0)),
                Short(seen.1 + (seen.1 - seen.0))
            ),
            Self::Unseen { seen } => write!(
                f,
                "is outside the data the normalizer was fitted on (that data spans [{}, {}] \
                 here) and out_of_range is \"raise\": use out_of_range=\"keep\" to map it \
                 beyond ±1, or refit the normalizer on data that includes it",
                Short(seen.0),
                Short(seen.1)
            ),
            Self::Constant { constant } => write!(
                f,
                "differs from {constant}, the only value this dimension had in the data the \
                 normalizer was fitted on, so the normalizer has no scale for it: refit on data \
                 where this dimension varies"
            ),
        }
    }
}

/// A range end written with 6 significant digits (`-3.37`, not `-3.3700000000000006`): the
/// ranges in messages are for reading; the offending value itself is written in full.
struct Short(f64);

impl fmt::Display for Short {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        if v == 0.0 || !v.is_finite() {
            return write!(f, "{v}");
        }
        let magnitude = v.abs().log10().floor() as i32;
        if (-4..15).contains(&magnitude) {
            let decimals = (5 - magnitude).max(0) as usize;
            let text = format!("{v:.decimals$}");
            let text = if text.contains('.') {
                text.trim_end_matches('0').trim_end_matches('.')
            } else {
                &text
            };
            f.write_str(text)
        } else {
            write!(f, "{v:.5e}")
        }
    }
}

/// What was not finite, for [`Error::NotFinite`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Quantity {
    /// An input value.
    Value,
    /// A scaled DCT coefficient computed from finite inputs (they were too large).
    Coefficient,
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Value => "value",
            Self::Coefficient => "scaled DCT coefficient",
        })
    }
}

/// Where a value sits, for [`Error::NotFinite`]: in the shape the caller gave the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Place {
    /// Row `row` (a time step), column `dimension` of a `(T, D)` array, or of episode `part` of
    /// a list of them.
    Row {
        /// Which array of a list (episode), when the input was a list of arrays.
        part: Option<usize>,
        /// Row (time step) inside that array.
        row: usize,
        /// Column (action dimension).
        dimension: usize,
    },
    /// Time step `step`, dimension `dimension` of chunk `chunk` of an `(N, H, D)` array.
    Chunk {
        /// The chunk.
        chunk: usize,
        /// Time step inside the chunk.
        step: usize,
        /// Action dimension.
        dimension: usize,
    },
    /// Row-major position `index` of chunk `chunk` of a batch named `of` (`"the training
    /// chunks"`); for a coefficient, `step` is its frequency row.
    Flattened {
        /// The chunk.
        chunk: usize,
        /// What the chunks are.
        of: &'static str,
        /// Row-major index inside the chunk's `(H, D)` matrix.
        index: usize,
        /// `index / D`.
        step: usize,
        /// `index % D`.
        dimension: usize,
    },
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Row {
                part,
                row,
                dimension,
            } => {
                if let Some(p) = part {
                    write!(f, "episode {p}, ")?;
                }
                write!(f, "row {row}, dimension {dimension}")
            }
            Self::Chunk {
                chunk,
                step,
                dimension,
            } => write!(f, "chunk {chunk}, step {step}, dimension {dimension}"),
            Self::Flattened {
                chunk,
                of,
                index,
                step,
                dimension,
            } => write!(
                f,
                "chunk {chunk} of {of} at flattened index {index} (time step {step}, \
                 dimension {dimension})"
            ),
        }
    }
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
        /// The coefficients this tokenizer represents around zero.
        representable: Option<Representable>,
    },
    /// The quantized coefficient maps to no Unicode scalar value (too large, or a surrogate).
    NotACharacter {
        /// The quantized coefficient.
        quantized: f64,
        /// The code point it would map to.
        code_point: f64,
        /// The coefficients this tokenizer represents around zero.
        representable: Option<Representable>,
    },
    /// The coefficient's character needs a byte-level symbol the vocabulary lacks (the reference
    /// drops it silently).
    NotInVocab {
        /// The quantized coefficient.
        quantized: i64,
        /// The byte-level symbol missing from the vocabulary.
        symbol: char,
        /// The coefficients this tokenizer represents around zero.
        representable: Option<Representable>,
    },
}

/// The unbroken range of quantized coefficients a tokenizer represents around zero, named in the
/// messages of coefficients it cannot represent (for a lossless fit it holds `min_token` to the
/// fitted maximum plus its margin, and often more). Representable values beyond a gap, such as
/// those past the surrogates, are not included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Representable {
    /// The smallest quantized coefficient of the range.
    pub lo: i64,
    /// The largest quantized coefficient of the range.
    pub hi: i64,
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
                representable,
            } => out_of_range(
                f,
                &Compact(*quantized),
                *representable,
                format_args!("below min_token {min_token}"),
            ),
            Self::NotACharacter {
                quantized,
                code_point,
                representable,
            } => out_of_range(
                f,
                &Compact(*quantized),
                *representable,
                format_args!(
                    "code point {} is not a Unicode scalar value",
                    Compact(*code_point)
                ),
            ),
            Self::NotInVocab {
                quantized,
                symbol,
                representable,
            } => out_of_range(
                f,
                quantized,
                *representable,
                format_args!(
                    "it needs byte-level symbol {symbol:?} (U+{:04X}), not in the vocabulary",
                    *symbol as u32
                ),
            ),
        }
    }
}

/// The one message for a coefficient the tokenizer cannot represent. It leads with the usual
/// cause: such coefficients come from actions that are not normalized, or in other units than
/// the fit data, far more often than from a vocabulary gap; clipping would hide that bug, so it
/// is offered last and as what it is, a loss of data.
fn out_of_range(
    f: &mut fmt::Formatter<'_>,
    quantized: &dyn fmt::Display,
    representable: Option<Representable>,
    detail: fmt::Arguments<'_>,
) -> fmt::Result {
    f.write_str(
        "the actions are likely not normalized, or in other units or scale than this tokenizer's \
         fit data: ",
    )?;
    match representable {
        Some(Representable { lo, hi }) => write!(
            f,
            "quantized coefficient {quantized} is outside {lo} to {hi}, the range the tokenizer \
             represents"
        )?,
        None => write!(
            f,
            "quantized coefficient {quantized} is not representable (the vocabulary represents \
             no coefficient)"
        )?,
    }
    write!(
        f,
        " ({detail}); attach or fit a Normalizer, or refit on this data (on_overflow=\"clip\" \
         saturates, losing data)"
    )
}

/// An integer-valued `f64` written in full up to 2^53 (where every integer is exact) and in
/// scientific notation with four significant digits beyond, so that a coefficient of `1e300`
/// prints as `1e300`, not as 301 digits or as `5.000000000000001e300` (its last digits carry
/// no meaning for the user).
struct Compact(f64);

impl fmt::Display for Compact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.abs() < 9_007_199_254_740_992.0 {
            return write!(f, "{}", self.0);
        }
        let text = format!("{:.3e}", self.0);
        match text.split_once('e') {
            Some((mantissa, exponent)) if mantissa.contains('.') => {
                let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
                write!(f, "{mantissa}e{exponent}")
            }
            _ => f.write_str(&text),
        }
    }
}

/// Where a constrained sequence stands, for [`Error::NotAllowed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConstraintState {
    /// Coefficients (characters) finished so far.
    pub count: usize,
    /// Coefficients a complete sequence holds (`H·D`).
    pub expected: usize,
    /// The character begun but not finished, if any.
    pub pending: Option<crate::constraint::Pending>,
    /// The row was ended with its end id.
    pub finished: bool,
}

impl fmt::Display for ConstraintState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} of {} coefficients", self.count, self.expected)?;
        if let Some(p) = self.pending {
            write!(f, ", with {p}")?;
        }
        if self.finished {
            f.write_str(", ended by the end id")?;
        }
        Ok(())
    }
}

/// Why a constraint refuses a token id, for [`Error::NotAllowed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The id is not in the vocabulary.
    UnknownId {
        /// The vocabulary's size.
        vocab_len: usize,
    },
    /// The id (of the model's vocabulary) is neither a mapped action token nor the end id.
    NotMapped {
        /// The model's vocabulary size.
        width: usize,
    },
    /// The token's bytes are not valid UTF-8 after what the sequence holds.
    InvalidUtf8,
    /// The token finishes more coefficients than the sequence still needs.
    TooMany {
        /// Coefficients the token finishes.
        chars: usize,
        /// Coefficients still missing.
        remaining: usize,
    },
    /// Valid here, but no token sequence after it finishes exactly `H·D` coefficients (it leaves
    /// a character, or a count, that nothing in the vocabulary completes).
    NoCompletion,
    /// The sequence is already complete.
    Complete,
    /// The row was ended with the end id: only the end id or the sentinel `-1` may follow.
    Finished {
        /// The end id.
        end_id: usize,
    },
    /// The end id, given before the row is complete.
    EndTooEarly,
    /// The sentinel `-1` (no token), given for a row that is not complete.
    SentinelTooEarly,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownId { vocab_len } => write!(
                f,
                "it is not in the vocabulary ({})",
                crate::token_id::valid_ids_text(*vocab_len)
            )?,
            Self::NotMapped { width } => write!(
                f,
                "it is neither the model id of an action token nor the end id (model ids are 0 \
                 to {}, inclusive)",
                width.saturating_sub(1)
            )?,
            Self::InvalidUtf8 => f.write_str("its bytes are not valid UTF-8 there")?,
            Self::TooMany { chars, remaining } => write!(
                f,
                "it finishes {chars} coefficients, more than the {remaining} still missing"
            )?,
            Self::NoCompletion => f.write_str(
                "no token sequence after it finishes exactly time_horizon * action_dim \
                 coefficients (it leaves a character or a count the vocabulary cannot complete)",
            )?,
            Self::Complete => {
                return f.write_str(
                    "the sequence is complete: end it (in a batch, give the end id or the \
                     sentinel -1 for this row) or reset()",
                )
            }
            Self::Finished { end_id } => {
                return write!(
                    f,
                    "the row has ended; only the end id {end_id} or the sentinel -1 may follow"
                )
            }
            Self::EndTooEarly => {
                f.write_str("the end id is allowed only once the row is complete")?
            }
            Self::SentinelTooEarly => f.write_str(
                "the sentinel -1 (no token) is only for rows that are complete; this one is not",
            )?,
        }
        f.write_str(" (sample the next id where the mask is True)")
    }
}

/// "row 3" or "the sequence", for [`Error::NotAllowed`].
struct RowText(Option<usize>);

impl fmt::Display for RowText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(row) => write!(f, "row {row}"),
            None => f.write_str("the sequence"),
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
        /// The vocabulary's size (valid ids are 0 to `vocab_len - 1`).
        vocab_len: usize,
    },
    /// A token id beyond what `i64` holds (a Python int or `u64` that large): not in the
    /// vocabulary either, reported with its whole value.
    IdOutOfRange {
        /// Position of the id in the sequence.
        position: usize,
        /// The id.
        id: i128,
        /// The vocabulary's size (valid ids are 0 to `vocab_len - 1`).
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
            Self::UnknownId { position, id, vocab_len } => {
                unknown_id_text(f, *position, i128::from(*id), *vocab_len)
            }
            Self::IdOutOfRange { position, id, vocab_len } => {
                unknown_id_text(f, *position, *id, *vocab_len)
            }
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

/// The one message for an id outside the vocabulary, whatever integer type carried it.
fn unknown_id_text(
    f: &mut fmt::Formatter<'_>,
    position: usize,
    id: i128,
    vocab_len: usize,
) -> fmt::Result {
    write!(
        f,
        "token id {id} at position {position} is not in the vocabulary ({})",
        crate::token_id::valid_ids_text(vocab_len)
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_values_are_named_where_the_caller_put_them() {
        let err = |quantity, place| {
            Error::NotFinite {
                context: "cannot do it",
                quantity,
                place,
                value: f64::NAN,
            }
            .to_string()
        };
        let row = |part| Place::Row {
            part,
            row: 3,
            dimension: 1,
        };
        assert_eq!(
            err(Quantity::Value, row(None)),
            "cannot do it: value NaN in row 3, dimension 1 is not finite"
        );
        assert_eq!(
            err(Quantity::Value, row(Some(2))),
            "cannot do it: value NaN in episode 2, row 3, dimension 1 is not finite"
        );
        let chunk = Place::Chunk {
            chunk: 4,
            step: 0,
            dimension: 2,
        };
        assert_eq!(
            err(Quantity::Value, chunk),
            "cannot do it: value NaN in chunk 4, step 0, dimension 2 is not finite"
        );
        let flat = Place::Flattened {
            chunk: 2,
            of: "the training chunks",
            index: 10,
            step: 3,
            dimension: 1,
        };
        assert_eq!(
            err(Quantity::Coefficient, flat),
            "cannot do it: scaled DCT coefficient NaN in chunk 2 of the training chunks at \
             flattened index 10 (time step 3, dimension 1) is not finite"
        );
    }

    #[test]
    fn huge_values_print_with_four_significant_digits() {
        let text = |v: f64| Compact(v).to_string();
        assert_eq!(text(-354.0), "-354");
        assert_eq!(text(9_007_199_254_740_991.0), "9007199254740991");
        assert_eq!(text(5.000000000000001e300), "5e300");
        assert_eq!(text(-1.23456e20), "-1.235e20");
        assert_eq!(text(f64::INFINITY), "inf");
    }

    #[test]
    fn shapes_print_as_python_tuples() {
        assert_eq!(shape_text(&[]), "()");
        assert_eq!(shape_text(&[7]), "(7,)");
        assert_eq!(shape_text(&[2, 0, 5]), "(2, 0, 5)");
    }
}
