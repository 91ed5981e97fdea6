//! Where a fit places the quantized coefficients in Unicode: its `min_token`
//! (`docs/semantics.md#placement`).
//!
//! A coefficient `q` is the character `chr(q - min_token)`, and the GPT-2 pre-tokenizer cuts a
//! chunk's string wherever the character class (letter, number, whitespace, other) changes; BPE
//! never merges across those cuts. The reference takes `min_token` to be the smallest coefficient,
//! so zero, the most common coefficient, lands on whatever `chr(-min_token)` is: often a digit,
//! punctuation or a control character among letters, and chunks are cut into many pieces. Any
//! other `min_token` is just another number in `processor_config.json`: the reference processor
//! loads it and encodes and decodes exactly as actok does. This module lists the placements
//! [`Placement::Auto`] tries: the reference one and, for each class, the first run of code points
//! of one class wide enough for the whole fitted range, in each UTF-8 length.

use crate::bpe::unicode_class::{char_class, CharClass};
use crate::error::{Error, Result};
use crate::fast::fit_report::{PlacementReport, PlacementTrial};
use crate::fast::split::Split;
use crate::options::PlacementMode;

/// Highest code point a fit places a coefficient on: U+D7FF, just below the surrogates (which no
/// string can hold), as the reference recipe's range check implies.
pub(crate) const MAX_CODE: i64 = 0xD7FF;

/// How a fit chooses `min_token`, the coefficient of code point U+0000.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Placement {
    /// Try the reference placement and the candidates of [`Placement::Auto`]'s list (runs of one
    /// character class), fitting each on the first 80% of the chunks and counting tokens on the
    /// last 20%, and keep the one with the fewest tokens; the reference placement unless another
    /// is strictly better. The default with the lossless alphabet; with the reference alphabet it
    /// means [`Placement::Reference`].
    #[default]
    Auto,
    /// The reference recipe's: `min_token` is the lowest coefficient of the fitted range (with the
    /// lossless alphabet, the lowest coefficient minus the margin), so the range starts at U+0000.
    Reference,
    /// This `min_token`: the fitted range `[lo, hi]` lands on code points `[lo - m, hi - m]`,
    /// which must lie in U+0000..=U+D7FF (lossless alphabet only).
    MinToken(i64),
}

impl From<PlacementMode> for Placement {
    fn from(mode: PlacementMode) -> Self {
        match mode {
            PlacementMode::Auto => Self::Auto,
            PlacementMode::Reference => Self::Reference,
        }
    }
}

impl Placement {
    /// The placement spelled `text`: `"auto"`, `"reference"` or an integer `min_token` (what the
    /// CLI's `--placement` takes).
    pub fn parse(text: &str) -> Result<Self> {
        if let Ok(min_token) = text.trim().parse::<i64>() {
            return Ok(Self::MinToken(min_token));
        }
        use crate::options::Choice;
        PlacementMode::parse(text).map(Self::from).map_err(|_| {
            Error::InvalidArgument(format!(
                "placement must be \"auto\", \"reference\" or an integer min_token, got {text:?}"
            ))
        })
    }

    /// The name recorded in the fit report: `"auto"`, `"reference"` or `"min_token"`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Reference => "reference",
            Self::MinToken(_) => "min_token",
        }
    }
}

/// One placement to try: its `min_token` and how it is described in reports.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Candidate {
    /// The `min_token` it writes.
    pub(crate) min_token: i64,
    /// `"reference"`, or the class and first code point (`"letters from U+0100"`).
    pub(crate) label: String,
}

/// The reference placement of the range `[lo, hi]` (the coefficients the alphabet must cover).
pub(crate) fn reference(lo: i64) -> Candidate {
    Candidate {
        min_token: lo,
        label: "reference".into(),
    }
}

/// A fixed `min_token`, checked: the range `[lo, hi]` must land on U+0000..=U+D7FF.
pub(crate) fn fixed(min_token: i64, lo: i64, hi: i64) -> Result<Candidate> {
    let (first, last) = (lo.checked_sub(min_token), hi.checked_sub(min_token));
    match (first, last) {
        (Some(first), Some(last)) if first >= 0 && last <= MAX_CODE => Ok(Candidate {
            min_token,
            label: describe(first as u32, last as u32),
        }),
        _ => Err(Error::InvalidArgument(format!(
            "placement min_token={min_token} puts the fitted coefficient range [{lo}, {hi}] on \
             code points below U+0000 or above U+D7FF (the surrogates start at U+D800): choose a \
             min_token between {} and {lo}, or placement=\"auto\"",
            hi.saturating_sub(MAX_CODE)
        ))),
    }
}

/// The placements [`Placement::Auto`] tries for the range `[lo, hi]`: the reference one first,
/// then the others by the code point zero lands on (fewest UTF-8 bytes first), without repeats:
///
/// - zero in the middle of each run of at least [`MIN_RUN`] one-byte characters of one class
///   (`a..z`, `A..Z`, `!../`, the digits, ...), and of the longest two-byte run of each class,
///   when the range fits around it: the common small coefficients then share a class (a chunk is
///   cut only at its rare large ones) and cost one byte (or two) each;
/// - for letters, other characters (punctuation, symbols, marks, controls) and numbers, the
///   lowest run of code points of that one class holding the whole range (starting anywhere, from
///   U+0080 and from U+0800): every chunk is then one piece.
pub(crate) fn candidates(lo: i64, hi: i64) -> Vec<Candidate> {
    let width = hi - lo + 1;
    let mut found: Vec<Candidate> = Vec::new();
    let mut push = |min_token: i64, label: String| {
        if min_token != lo && found.iter().all(|c| c.min_token != min_token) {
            found.push(Candidate { min_token, label });
        }
    };
    let mut amid = |first: i64, last: i64, class: CharClass| {
        let zero = (first + last) / 2;
        if lo + zero >= 0 && hi + zero <= MAX_CODE {
            let name = class_name(class);
            push(
                -zero,
                format!("zero at U+{zero:04X}, amid {name} U+{first:04X}..U+{last:04X}"),
            );
        }
    };
    for (first, last, class) in runs(0, 0x7FF) {
        if first < 0x80 && last - first + 1 >= MIN_RUN {
            amid(first, last, class);
        }
    }
    for class in CLASSES {
        let longest = runs(0x80, 0x7FF).filter(|&(_, _, c)| c == class).fold(
            None,
            |best: Option<(i64, i64)>, (a, b, _)| match best {
                Some((x, y)) if y - x >= b - a => best,
                _ => Some((a, b)),
            },
        );
        if let Some((first, last)) = longest {
            amid(first, last, class);
        }
    }
    for class in CLASSES {
        for from in [0, 0x80, 0x800] {
            if let Some(first) = first_run(class, from, width) {
                push(
                    lo - first,
                    describe(first as u32, (first + width - 1) as u32),
                );
            }
        }
    }
    found.sort_by_key(|c| -c.min_token);
    let mut out = vec![reference(lo)];
    out.extend(found);
    out
}

/// The classes placements are made of (whitespace never: the pre-tokenizer splits on it).
const CLASSES: [CharClass; 3] = [CharClass::Letter, CharClass::Other, CharClass::Number];

/// Shortest one-byte run of one class that zero is placed amid.
const MIN_RUN: i64 = 6;

/// The maximal runs `(first, last, class)` of code points of one class (whitespace excluded)
/// within `from..=to`, in order.
fn runs(from: i64, to: i64) -> impl Iterator<Item = (i64, i64, CharClass)> {
    let class_of = |cp: i64| char_class(char::from_u32(cp as u32).expect("below the surrogates"));
    let mut cp = from;
    std::iter::from_fn(move || loop {
        if cp > to {
            return None;
        }
        let (first, class) = (cp, class_of(cp));
        while cp <= to && class_of(cp) == class {
            cp += 1;
        }
        if class != CharClass::Whitespace {
            return Some((first, cp - 1, class));
        }
    })
}

fn class_name(class: CharClass) -> &'static str {
    match class {
        CharClass::Letter => "letters",
        CharClass::Number => "numbers",
        CharClass::Whitespace => "whitespace",
        CharClass::Other => "other characters",
    }
}

/// The lowest code point `s >= from` such that `s..s + width` all have class `class` (and end at
/// or below [`MAX_CODE`]).
fn first_run(class: CharClass, from: i64, width: i64) -> Option<i64> {
    let mut start = from;
    for cp in from..=MAX_CODE {
        let c = char::from_u32(cp as u32).expect("below the surrogates");
        if char_class(c) != class {
            start = cp + 1;
        } else if cp - start + 1 >= width {
            return Some(start);
        }
    }
    None
}

/// `"letters from U+0100"`: the class of the range's characters (or `"mixed classes"`) and its
/// first code point.
fn describe(first: u32, last: u32) -> String {
    let class_of = |cp: u32| char_class(char::from_u32(cp).expect("below the surrogates"));
    let class = class_of(first);
    let uniform = (first..=last).all(|cp| class_of(cp) == class);
    let name = if uniform {
        class_name(class)
    } else {
        "mixed classes"
    };
    format!("{name} from U+{first:04X}")
}

/// One placement fitted on the training chunks: its report and its tokens per validation chunk.
pub(crate) struct Trial {
    pub(crate) report: PlacementTrial,
    pub(crate) counts: Vec<u32>,
}

pub(crate) fn mean(counts: &[u32]) -> f64 {
    counts.iter().map(|&c| f64::from(c)).sum::<f64>() / counts.len().max(1) as f64
}

/// Whether `a` spends more tokens than `b` on the same chunks beyond noise: the mean of the
/// per-chunk differences exceeds two of its standard errors.
fn clearly_more(a: &[u32], b: &[u32]) -> bool {
    let n = a.len() as f64;
    let d: Vec<f64> = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) - f64::from(y))
        .collect();
    let m = d.iter().sum::<f64>() / n;
    let var = d.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0).max(1.0);
    m > 0.0 && m > 2.0 * (var / n).sqrt()
}

/// The placement `auto` keeps: the first trial (the reference, then by fewest bytes) that spends
/// no more tokens than the reference one and not clearly more than the fewest (beyond two
/// standard errors of the per-chunk difference), so that noise in a small validation split does
/// not pick a placement, and on a tie the cheaper characters win.
pub(crate) fn choose_trial(trials: Vec<Trial>, split: &Split) -> PlacementReport {
    let tokens = |i: usize| trials[i].report.tokens_per_chunk;
    let best = (0..trials.len()).fold(0, |best, i| if tokens(i) < tokens(best) { i } else { best });
    let kept = (0..trials.len())
        .find(|&i| tokens(i) <= tokens(0) && !clearly_more(&trials[i].counts, &trials[best].counts))
        .unwrap_or(best);
    let reference = tokens(0);
    let reason = match (kept, best) {
        (0, 0) => format!(
            "no placement spent fewer tokens than the reference one ({reference:.3} per \
             validation chunk)"
        ),
        (0, _) => format!(
            "the fewest tokens ({:.3} per validation chunk, {}) are within noise of the \
             reference placement's {reference:.3}",
            tokens(best),
            trials[best].report.label
        ),
        (k, b) => {
            let change = (tokens(k) / reference - 1.0) * 100.0;
            let fewest = if k == b {
                "the fewest tokens".to_string()
            } else {
                format!(
                    "within noise of the fewest ({:.3}, {}) with cheaper characters",
                    tokens(b),
                    trials[b].report.label
                )
            };
            format!(
                "{fewest}: {:.3} per validation chunk against {reference:.3} with the reference \
                 placement ({change:+.1}%)",
                tokens(k)
            )
        }
    };
    let kept_report = trials[kept].report.clone();
    PlacementReport {
        requested: "auto".into(),
        min_token: kept_report.min_token,
        label: kept_report.label,
        reason,
        training_chunks: split.training.len(),
        validation_chunks: split.validation.len(),
        candidates: trials.into_iter().map(|t| t.report).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_start_with_the_reference_and_hold_the_range_in_one_class() {
        let list = candidates(-45, 45);
        assert_eq!(list[0], reference(-45));
        assert!(list.len() >= 4, "{list:?}");
        for c in list[1..].iter().filter(|c| !c.label.starts_with("zero at")) {
            let (first, last) = ((-45 - c.min_token) as u32, (45 - c.min_token) as u32);
            let class = char_class(char::from_u32(first).unwrap());
            assert!((first..=last).all(|cp| char_class(char::from_u32(cp).unwrap()) == class));
            assert!(!c.label.starts_with("mixed"), "{c:?}");
        }
        // Latin-1 and Latin Extended letters hold 91 code points from U+00F8.
        assert!(
            list.iter().any(|c| c.label == "letters from U+00F8"),
            "{list:?}"
        );
        // Zero amid a..z: the small coefficients are one-byte letters.
        let amid = list
            .iter()
            .find(|c| c.label.contains("amid letters U+0061..U+007A"));
        assert_eq!(amid.map(|c| c.min_token), Some(-0x6D), "{list:?}");
    }

    #[test]
    fn a_range_wider_than_every_run_of_a_class_has_no_candidate_of_it() {
        let list = candidates(0, 30_000);
        assert!(
            list[1..].iter().all(|c| c.label.starts_with("zero at")),
            "{list:?}"
        );
        let cjk = candidates(0, 20_000);
        assert!(
            cjk.iter().any(|c| c.label == "letters from U+4E00"),
            "{cjk:?}"
        );
    }

    #[test]
    fn fixed_placements_are_checked() {
        assert_eq!(fixed(-300, -45, 45).unwrap().label, "letters from U+00FF");
        assert!(fixed(-40, -45, 45).is_err());
        assert!(fixed(-60_000, -45, 45).is_err());
        assert!(fixed(i64::MIN, -45, 45).is_err());
    }

    #[test]
    fn placements_parse() {
        assert_eq!(Placement::parse("auto").unwrap(), Placement::Auto);
        assert_eq!(Placement::parse("reference").unwrap(), Placement::Reference);
        assert_eq!(Placement::parse("-256").unwrap(), Placement::MinToken(-256));
        let err = Placement::parse("letters").unwrap_err().to_string();
        assert!(
            err.contains("\"auto\", \"reference\" or an integer"),
            "{err}"
        );
    }
}
