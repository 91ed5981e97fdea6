#!/usr/bin/env python3
"""Generate ``rust/actok/src/bpe/unicode_class.rs``: the character classes of the GPT-2 split.

Usage (from anywhere)::

    python3 scripts/gen_unicode_class.py           # (re)write the Rust file
    python3 scripts/gen_unicode_class.py --check   # exit 1 if the committed file is stale

The GPT-2 split regex of ``tokenizers`` (``ByteLevel(use_regex=True)``) uses ``\\p{L}``,
``\\p{N}`` and ``\\s``. Its classes are:

* Letter: general categories Lu Ll Lt Lm Lo;
* Number: general categories Nd Nl No;
* Whitespace: the Unicode ``White_Space`` property (what Rust's ``char::is_whitespace`` tests; NOT
  Python's ``str.isspace``, which adds U+001C..U+001F);
* Other: everything else (marks, punctuation, symbols, controls, unassigned, private use).

Unicode version: **16.0.0**, through the ``unicodedata2`` PyPI package pinned to 16.0.0
(``pip install unicodedata2==16.0.0``); the standard library's ``unicodedata`` is NOT used. The
``tokenizers`` Python wheels run that regex on Oniguruma (the ``onig`` crate, 6.5.3 in tokenizers
0.23.3), whose tables are newer than Python 3.11's ``unicodedata`` (14.0.0). Checked empirically
against ``tokenizers`` 0.23.3 on all 1,112,064 Unicode scalar values (see
``tests/test_pretokenize.py``), the number of code points whose class differs from the oracle's is:

============================  ===========
class data                    mismatches
============================  ===========
stdlib unicodedata 14.0.0     9,392
unicodedata2 15.1.0           4,382
unicodedata2 16.0.0           0
unicodedata2 17.0.0           4,657
unicodedata2 18.0.0           17,480
============================  ===========

(e.g. U+1C89 CYRILLIC CAPITAL LETTER TJE, new in 16.0, is a letter for ``tokenizers``; U+088F,
new in 17.0, is not yet). If a future ``tokenizers`` moves to a newer Unicode, the full-range test
in ``tests/test_pretokenize.py`` fails and names the code points; bump ``UNICODE_VERSION`` here.

White_Space is not exposed by ``unicodedata``; it is listed below from PropList.txt (unchanged since
Unicode 6.3, when U+180E left it) and cross-checked against the general categories at generation
time and against ``char::is_whitespace`` by the generated Rust unit tests.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

UNICODE_VERSION = "16.0.0"
ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "rust" / "actok" / "src" / "bpe" / "unicode_class.rs"
COMMAND = "python3 scripts/gen_unicode_class.py"

#: Code points below this bound are classified by a direct table lookup in Rust.
TABLE_LEN = 0x800

#: Unicode White_Space (PropList.txt), as inclusive ranges.
WHITE_SPACE = [
    (0x0009, 0x000D),
    (0x0020, 0x0020),
    (0x0085, 0x0085),
    (0x00A0, 0x00A0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
]

#: Rust variant for each class letter; "O" (Other) is implicit (code points in no range).
VARIANTS = {"L": "Letter", "N": "Number", "W": "Whitespace"}


def load_unicodedata():
    """Return the ``unicodedata2`` module, checking it carries ``UNICODE_VERSION``."""
    try:
        import unicodedata2
    except ImportError:
        sys.exit(f"gen_unicode_class: needs `pip install unicodedata2=={UNICODE_VERSION}`")
    if unicodedata2.unidata_version != UNICODE_VERSION:
        sys.exit(
            f"gen_unicode_class: unicodedata2 has Unicode {unicodedata2.unidata_version}, "
            f"need {UNICODE_VERSION} (`pip install unicodedata2=={UNICODE_VERSION}`)"
        )
    return unicodedata2


def classes(ud) -> list[str]:
    """Class letter ("L", "N", "W" or "O") of every code point 0..=0x10FFFF."""
    white = {cp for lo, hi in WHITE_SPACE for cp in range(lo, hi + 1)}
    out = []
    for cp in range(0x110000):
        cat = ud.category(chr(cp))
        if cp in white:
            # White_Space chars are all separators or controls, never letters or numbers.
            assert cat in ("Zs", "Zl", "Zp", "Cc"), (hex(cp), cat)
            out.append("W")
        else:
            # Every space separator is White_Space.
            assert cat != "Zs", hex(cp)
            out.append(cat[0] if cat[0] in "LN" else "O")
    return out


def ranges(cls: list[str]) -> list[tuple[int, int, str]]:
    """Maximal runs of one non-Other class, as inclusive ``(first, last, class)``, split at
    ``TABLE_LEN`` so that no range straddles it."""
    out: list[tuple[int, int, str]] = []
    start = 0
    for cp in range(1, len(cls) + 1):
        if cp == len(cls) or cls[cp] != cls[start] or cp == TABLE_LEN:
            if cls[start] != "O":
                out.append((start, cp - 1, cls[start]))
            start = cp
    return out


def fmt_ranges(name: str, doc: str, rng: list[tuple[int, int, str]], kind: str) -> str:
    lines = [f"/// {doc}", f"{kind} {name}: [(u32, u32, CharClass); {len(rng)}] = ["]
    for lo, hi, c in rng:
        lines.append(f"    (0x{lo:04X}, 0x{hi:04X}, CharClass::{VARIANTS[c]}),")
    lines.append("];")
    return "\n".join(lines)


TEMPLATE = """\
// @generated by `{command}` (Unicode {version}). Do not edit by hand.

//! Character classes of the GPT-2 split: general categories `\\p{{L}}` and `\\p{{N}}` and
//! the `White_Space` property, as the `tokenizers` library's regex engine (Unicode {version})
//! sees them.

/// Character class used by the GPT-2 split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CharClass {{
    /// `\\p{{L}}`: general categories Lu, Ll, Lt, Lm, Lo.
    Letter,
    /// `\\p{{N}}`: general categories Nd, Nl, No.
    Number,
    /// Unicode `White_Space` (what `char::is_whitespace` tests).
    Whitespace,
    /// Anything else: marks, punctuation, symbols, controls, unassigned, private use.
    Other,
}}

/// Code points below this bound are classified by a direct lookup in `TABLE`.
const TABLE_LEN: usize = 0x{table_len:X};

/// Class of `c`: Letter = \\p{{L}} (Lu Ll Lt Lm Lo), Number = \\p{{N}} (Nd Nl No),
/// Whitespace = Unicode White_Space (`char::is_whitespace`), Other = everything else.
#[inline]
pub(crate) fn char_class(c: char) -> CharClass {{
    let cp = c as usize;
    if cp < TABLE_LEN {{
        TABLE[cp]
    }} else {{
        high_class(c as u32)
    }}
}}

/// Class of a code point at or above `TABLE_LEN`: binary search in `HIGH_RANGES`.
fn high_class(cp: u32) -> CharClass {{
    let i = HIGH_RANGES.partition_point(|&(_, last, _)| last < cp);
    match HIGH_RANGES.get(i) {{
        Some(&(first, _, class)) if first <= cp => class,
        _ => CharClass::Other,
    }}
}}

/// Direct lookup table of the classes of the code points below `TABLE_LEN`.
static TABLE: [CharClass; TABLE_LEN] = build_table();

/// Expands `LOW_RANGES` into `TABLE` at compile time.
const fn build_table() -> [CharClass; TABLE_LEN] {{
    let mut table = [CharClass::Other; TABLE_LEN];
    let mut i = 0;
    while i < LOW_RANGES.len() {{
        let (first, last, class) = LOW_RANGES[i];
        let mut cp = first as usize;
        while cp <= last as usize {{
            table[cp] = class;
            cp += 1;
        }}
        i += 1;
    }}
    table
}}

{low}

{high}

#[cfg(test)]
mod tests {{
    use super::*;

    /// Class by a linear scan of both range tables: the definition `char_class` must agree with.
    fn class_by_scan(cp: u32) -> CharClass {{
        LOW_RANGES
            .iter()
            .chain(HIGH_RANGES.iter())
            .find(|&&(first, last, _)| first <= cp && cp <= last)
            .map_or(CharClass::Other, |&(_, _, class)| class)
    }}

    #[test]
    fn ranges_are_sorted_disjoint_and_split_at_the_table_bound() {{
        let all: Vec<_> = LOW_RANGES.iter().chain(HIGH_RANGES.iter()).collect();
        for w in all.windows(2) {{
            assert!(w[0].0 <= w[0].1 && w[0].1 < w[1].0, "{{w:?}}");
        }}
        assert!(LOW_RANGES.iter().all(|r| (r.1 as usize) < TABLE_LEN));
        assert!(HIGH_RANGES.iter().all(|r| (r.0 as usize) >= TABLE_LEN));
        assert!(HIGH_RANGES.iter().all(|r| r.2 != CharClass::Other));
    }}

    #[test]
    fn lookup_matches_the_tables_and_white_space_for_every_char() {{
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {{
            let class = char_class(c);
            assert_eq!(class == CharClass::Whitespace, c.is_whitespace(), "{{c:?}}");
            if (c as u32) < 0x3400 {{
                assert_eq!(class, class_by_scan(c as u32), "{{c:?}}");
            }}
        }}
        for cp in (0x3400..=0x10FFFF).step_by(97) {{
            if let Some(c) = char::from_u32(cp) {{
                assert_eq!(char_class(c), class_by_scan(cp), "{{c:?}}");
            }}
        }}
    }}

    #[test]
    fn hand_checked_classes() {{
        use CharClass::{{Letter, Number, Other, Whitespace}};
        let cases = [
            ('a', Letter),
            ('Z', Letter),
            ('\\u{{e9}}', Letter),
            ('\\u{{100}}', Letter),
            ('\\u{{143}}', Letter),
            ('\\u{{162}}', Letter),
            // Lm and Lt.
            ('\\u{{2b0}}', Letter),
            ('\\u{{1c5}}', Letter),
            // New in Unicode 16.0, so a letter; U+088F is new in 17.0, so not yet.
            ('\\u{{1c89}}', Letter),
            ('\\u{{88f}}', Other),
            // Nd, No, Nl, and an Nd new in Unicode 16.0.
            ('0', Number),
            ('\\u{{b2}}', Number),
            ('\\u{{2160}}', Number),
            ('\\u{{10d40}}', Number),
            // Combining marks (U+0345 is Alphabetic, yet not a letter).
            ('\\u{{301}}', Other),
            ('\\u{{345}}', Other),
            ('\\'', Other),
            ('!', Other),
            ('\\u{{0}}', Other),
            // Python's isspace() is true for U+001C; White_Space is not.
            ('\\u{{1c}}', Other),
            ('\\u{{180e}}', Other),
            ('\\u{{200b}}', Other),
            ('\\u{{e000}}', Other),
            ('\\u{{10ffff}}', Other),
            (' ', Whitespace),
            ('\\t', Whitespace),
            ('\\n', Whitespace),
            ('\\u{{85}}', Whitespace),
            ('\\u{{a0}}', Whitespace),
            ('\\u{{3000}}', Whitespace),
        ];
        for (c, class) in cases {{
            assert_eq!(char_class(c), class, "{{c:?}}");
        }}
    }}
}}
"""


def render(cls: list[str]) -> str:
    rng = ranges(cls)
    low = [r for r in rng if r[0] < TABLE_LEN]
    high = [r for r in rng if r[0] >= TABLE_LEN]
    return TEMPLATE.format(
        command=COMMAND,
        version=UNICODE_VERSION,
        table_len=TABLE_LEN,
        low=fmt_ranges(
            "LOW_RANGES",
            "Non-Other runs below `TABLE_LEN` (inclusive `(first, last, class)`); only expanded "
            "into `TABLE`.",
            low,
            "const",
        ),
        high=fmt_ranges(
            "HIGH_RANGES",
            "Non-Other runs at or above `TABLE_LEN` (inclusive `(first, last, class)`), sorted "
            "and disjoint;\n/// code points in none of them are Other.",
            high,
            "static",
        ),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the Rust file is stale")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    text = render(classes(load_unicodedata()))
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
        if current != text:
            print(f"{args.output} is stale: run `{COMMAND}`", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
