//! The GPT-2 split: the `ByteLevel` pre-tokenizer of Hugging Face `tokenizers` with
//! `use_regex: true`, i.e. the regex
//! `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`,
//! hand-written as a single left-to-right scan (reference doc, section 4 "Pre-tokenization").

use crate::bpe::unicode_class::{char_class, CharClass};

/// Splits `chars` into GPT-2 pieces, pushing the exclusive end index (in chars) of each piece onto
/// `ends` (it does not clear `ends`). Pieces are contiguous and cover `chars`; an empty input
/// yields no pieces.
pub(crate) fn split_pieces(chars: &[char], ends: &mut Vec<usize>) {
    let mut i = 0;
    while i < chars.len() {
        i = piece_end(chars, i);
        ends.push(i);
    }
}

/// Exclusive end of the piece that starts at `i` (`i < chars.len()`); always greater than `i`.
#[inline]
pub(super) fn piece_end(chars: &[char], i: usize) -> usize {
    let n = chars.len();
    let c = chars[i];
    // 1. Contractions: 's 't 're 've 'm 'll 'd (ASCII, case-sensitive).
    if c == '\'' {
        let len = contraction_len(&chars[i + 1..]);
        if len > 0 {
            return i + 1 + len;
        }
    }
    // 2. An optional single U+0020 before a letter, number or other run.
    let (j, class) = match chars.get(i + 1) {
        Some(&next) if c == ' ' => match char_class(next) {
            CharClass::Whitespace => (i, CharClass::Whitespace),
            class => (i + 1, class),
        },
        _ => (i, char_class(c)),
    };
    if class != CharClass::Whitespace {
        return run_end(chars, j + 1, class);
    }
    // 3. Whitespace, `\s+(?!\S)|\s+`: the last whitespace char before a non-whitespace one is left
    //    to start the next piece, unless it is the only one.
    let k = run_end(chars, i + 1, CharClass::Whitespace);
    if k < n && k - 1 > i {
        k - 1
    } else {
        k
    }
}

/// Length of the contraction suffix (`s t re ve m ll d`) at the start of `rest` (what follows an
/// apostrophe), or 0 if there is none.
#[inline]
fn contraction_len(rest: &[char]) -> usize {
    match rest {
        ['s' | 't' | 'm' | 'd', ..] => 1,
        ['r' | 'v', 'e', ..] | ['l', 'l', ..] => 2,
        _ => 0,
    }
}

/// First index at or after `from` whose char is not of `class` (or `chars.len()`).
#[inline]
fn run_end(chars: &[char], from: usize, class: CharClass) -> usize {
    chars[from..]
        .iter()
        .position(|&c| char_class(c) != class)
        .map_or(chars.len(), |p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The pieces of `text` as strings.
    fn split(text: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        let mut ends = Vec::new();
        split_pieces(&chars, &mut ends);
        let mut start = 0;
        ends.iter()
            .map(|&end| {
                let piece = chars[start..end].iter().collect();
                start = end;
                piece
            })
            .collect()
    }

    /// Asserts the split of `text`; every expectation here was also checked against `tokenizers`.
    #[track_caller]
    fn check(text: &str, expected: &[&str]) {
        assert_eq!(split(text), expected, "split of {text:?}");
    }

    #[test]
    fn empty_input_yields_no_pieces() {
        check("", &[]);
        let mut ends = vec![7];
        split_pieces(&[], &mut ends);
        assert_eq!(ends, [7]);
    }

    #[test]
    fn does_not_clear_ends() {
        let mut ends = vec![3];
        split_pieces(&['a', ' ', 'b'], &mut ends);
        assert_eq!(ends, [3, 1, 3]);
    }

    #[test]
    fn contractions() {
        check("it's", &["it", "'s"]);
        check(
            "don't we'll they're I've I'm he'd",
            &[
                "don", "'t", " we", "'ll", " they", "'re", " I", "'ve", " I", "'m", " he", "'d",
            ],
        );
        check("'ll'd", &["'ll", "'d"]);
        check("'ree", &["'re", "e"]);
    }

    #[test]
    fn non_contractions() {
        // Case-sensitive: 'S is an apostrophe then a letter.
        check("'S", &["'", "S"]);
        check("IT'S", &["IT", "'", "S"]);
        check("'l", &["'", "l"]);
        check("'r", &["'", "r"]);
        check("'", &["'"]);
        // An "other" run swallows apostrophes; so does a space-prefixed one.
        check("!'s", &["!'", "s"]);
        check("''s", &["''", "s"]);
        check(" 's", &[" '", "s"]);
        check("x 're", &["x", " '", "re"]);
    }

    #[test]
    fn single_space_prefixes_letters_numbers_and_others() {
        check("a b", &["a", " b"]);
        check(" 12", &[" 12"]);
        check(" !!", &[" !!"]);
        check(" \u{162}", &[" \u{162}"]);
        check(" \u{301}", &[" \u{301}"]);
    }

    #[test]
    fn several_spaces_before_a_word_leave_the_last_one_to_it() {
        check("a   b", &["a", "  ", " b"]);
        check("  12", &[" ", " 12"]);
        check("a  \u{301}", &["a", " ", " \u{301}"]);
        check("1 2  3   ", &["1", " 2", " ", " 3", "   "]);
    }

    #[test]
    fn trailing_and_lone_whitespace() {
        check("a  ", &["a", "  "]);
        check(" ", &[" "]);
        check("   ", &["   "]);
        check("\t\t", &["\t\t"]);
    }

    #[test]
    fn tabs_and_newlines() {
        check("a\tb", &["a", "\t", "b"]);
        check("a \tb", &["a", " ", "\t", "b"]);
        check("a\t b", &["a", "\t", " b"]);
        check("a\n\nb", &["a", "\n", "\n", "b"]);
        check(" \n a", &[" \n", " a"]);
    }

    #[test]
    fn mixed_classes() {
        check("abc123!?def", &["abc", "123", "!?", "def"]);
        check("\u{162}\u{162}\u{100}", &["\u{162}\u{162}\u{100}"]);
    }

    #[test]
    fn combining_marks_are_other() {
        check("e\u{301}", &["e", "\u{301}"]);
        check("a\u{345}", &["a", "\u{345}"]);
    }

    #[test]
    fn letter_numbers_are_numbers() {
        check("\u{2160}\u{2161}", &["\u{2160}\u{2161}"]);
        check("1\u{2160}", &["1\u{2160}"]);
    }

    #[test]
    fn white_space_is_unicode_white_space() {
        // U+001C is not White_Space (Python's isspace() says it is).
        check("a\u{1c}b", &["a", "\u{1c}", "b"]);
        check("\u{1c}\u{1c}", &["\u{1c}\u{1c}"]);
        check("a\u{a0}b", &["a", "\u{a0}", "b"]);
        check("a\u{85} b", &["a", "\u{85}", " b"]);
    }

    /// Characters chosen to sit on every boundary of the split.
    fn boundary_char() -> impl Strategy<Value = char> {
        prop_oneof![
            prop::sample::select(vec![
                ' ', ' ', '\t', '\n', '\r', '\u{a0}', '\u{85}', '\u{1c}', '\u{3000}', '\'', '\'',
                's', 't', 'r', 'e', 'v', 'm', 'l', 'd', 'S', 'a', '0', '9', '!', '.', '\u{301}',
                '\u{345}', '\u{2160}', '\u{b2}', '\u{162}', '\u{100}', '\u{143}',
            ]),
            any::<char>(),
        ]
    }

    proptest! {
        #[test]
        fn pieces_are_contiguous_non_empty_and_cover_the_input(
            chars in prop::collection::vec(boundary_char(), 0..48),
        ) {
            let mut ends = vec![usize::MAX];
            split_pieces(&chars, &mut ends);
            let mut start = 0;
            for &end in &ends[1..] {
                prop_assert!(start < end && end <= chars.len(), "{:?} in {:?}", ends, chars);
                let piece = &chars[start..end];
                // Each piece is a contraction, a whitespace run, or an optional U+0020 and a run
                // of one non-whitespace class.
                let body = if piece[0] == ' ' && piece.len() > 1 { &piece[1..] } else { piece };
                let class = char_class(body[0]);
                let contraction = piece[0] == '\'' && contraction_len(&piece[1..]) == piece.len() - 1;
                prop_assert!(
                    contraction || body.iter().all(|&c| char_class(c) == class),
                    "{:?} in {:?}", piece, chars
                );
                start = end;
            }
            prop_assert_eq!(start, chars.len());
        }
    }
}
