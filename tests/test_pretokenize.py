"""The GPT-2 split (``ByteLevel`` pre-tokenizer, ``use_regex=True``) against ``tokenizers``.

Three implementations are compared:

* the oracle, ``tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)``; its
  pieces come back byte-level mapped and are mapped back to text through the inverse byte map (this
  relies only on the documented map, not on how the bindings count offsets);
* ``ref_split``, a pure-Python transcription of the scanning algorithm of the GPT-2 split
  (docs/semantics.md#pre-tokenization) using the character classes parsed out of the generated
  ``rust/actok/src/bpe/unicode_class.rs`` -- so it also checks that table against the oracle
  without the Rust bindings;
* the Rust split, ``actok._actok._pretokenize`` (those tests skip while the bindings lack it).

Every Unicode scalar value's class is checked by joining all code points of one predicted class into
one string after an anchor of that class ("a", "0", "!" or a tab). The regex can only return such a
string as a single piece if every character is in the anchor's class (each alternative matches
characters of one class, plus one optional leading U+0020, and the anchor is first), so a single
piece proves the whole group; since the four groups partition the code points, nothing can hide.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pre_tokenizers = pytest.importorskip("tokenizers.pre_tokenizers")

ROOT = Path(__file__).resolve().parents[1]
UNICODE_CLASS_RS = ROOT / "rust" / "actok" / "src" / "bpe" / "unicode_class.rs"
GENERATOR = ROOT / "scripts" / "gen_unicode_class.py"

N_SCALARS = 0x110000 - 0x800  # every code point but the surrogates
ANCHORS = {"L": "a", "N": "0", "W": "\t", "O": "!"}
CLASS_NAMES = {"L": "Letter", "N": "Number", "W": "Whitespace", "O": "Other"}


def _load_rust_split():
    try:
        from actok import _actok
    except ImportError:
        return None
    return getattr(_actok, "_pretokenize", None)


RUST_SPLIT = _load_rust_split()
requires_rust = pytest.mark.skipif(
    RUST_SPLIT is None, reason="actok._actok._pretokenize is not available"
)

# ---------------------------------------------------------------------------------------------
# The oracle


def _byte_to_symbol() -> dict[int, str]:
    """The byte-level map: printable bytes map to themselves, the 68 others to U+0100.."""
    keep = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    mapping = {b: chr(b) for b in keep}
    extra = (b for b in range(256) if b not in mapping)
    mapping.update((b, chr(0x100 + n)) for n, b in enumerate(extra))
    return mapping


BYTE_TO_SYMBOL = _byte_to_symbol()
# str.translate table: byte-level symbol -> the latin-1 character of its byte.
SYMBOL_TO_LATIN1 = {ord(sym): chr(b) for b, sym in BYTE_TO_SYMBOL.items()}
ORACLE = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)


def oracle_split(text: str) -> list[str]:
    """The pieces `tokenizers` makes of `text`, mapped back to plain text."""
    return [
        piece.translate(SYMBOL_TO_LATIN1).encode("latin-1").decode("utf-8")
        for piece, _ in ORACLE.pre_tokenize_str(text)
    ]


# ---------------------------------------------------------------------------------------------
# The pure-Python reference


@functools.cache
def classes() -> bytes:
    """Class letter (b"L", b"N", b"W" or b"O") of every code point, from the generated Rust."""
    text = UNICODE_CLASS_RS.read_text(encoding="utf-8")
    table = bytearray(b"O" * 0x110000)
    found = re.findall(r"\(0x([0-9A-F]+), 0x([0-9A-F]+), CharClass::(\w+)\),", text)
    for lo, hi, name in found:
        first, last = int(lo, 16), int(hi, 16)
        table[first : last + 1] = name[0].encode() * (last - first + 1)
    declared = sum(map(int, re.findall(r"RANGES: \[\(u32, u32, CharClass\); (\d+)\]", text)))
    assert declared > 0 and len(found) == declared, "could not parse unicode_class.rs"
    return bytes(table)


_L, _N, _W, _O = b"LNWO"
_CONTRACTION_1 = frozenset("stmd")
_CONTRACTION_2 = frozenset(("re", "ve", "ll"))


def ref_split(text: str) -> list[str]:
    """The GPT-2 split by the scanning algorithm of docs/semantics.md#pre-tokenization."""
    table = classes()
    cls = [table[ord(c)] for c in text]
    n = len(text)
    pieces = []
    i = 0
    while i < n:
        if text[i] == "'" and text[i + 1 : i + 2] in _CONTRACTION_1:
            k = i + 2
        elif text[i] == "'" and text[i + 1 : i + 3] in _CONTRACTION_2:
            k = i + 3
        else:
            j = i + 1 if text[i] == " " and i + 1 < n and cls[i + 1] != _W else i
            k = j + 1
            if cls[j] != _W:
                while k < n and cls[k] == cls[j]:
                    k += 1
            else:
                while k < n and cls[k] == _W:
                    k += 1
                if k < n and k - 1 > i:
                    k -= 1
        pieces.append(text[i:k])
        i = k
    return pieces


# ---------------------------------------------------------------------------------------------
# Sanity of the harness itself


def test_byte_map_is_the_tokenizers_alphabet():
    assert sorted(BYTE_TO_SYMBOL.values()) == sorted(pre_tokenizers.ByteLevel.alphabet())
    assert BYTE_TO_SYMBOL[0x20] == "\u0120" and BYTE_TO_SYMBOL[0xAD] == "\u0143"


def test_oracle_pieces_map_back_to_the_input():
    text = "it's  \u00e9t\u00e9 \U0001f600\u0301 12\u00a0\x00\t\n"
    assert "".join(oracle_split(text)) == text


def test_class_table_is_up_to_date():
    """The committed Rust table is what the generator writes (needs unicodedata2 16.0.0)."""
    ud = pytest.importorskip("unicodedata2")
    spec = importlib.util.spec_from_file_location("gen_unicode_class", GENERATOR)
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    if ud.unidata_version != gen.UNICODE_VERSION:
        pytest.skip(f"unicodedata2 has Unicode {ud.unidata_version}, not {gen.UNICODE_VERSION}")
    rendered = gen.render(gen.classes(ud))
    assert rendered == UNICODE_CLASS_RS.read_text(encoding="utf-8"), (
        "unicode_class.rs is stale: run python3 scripts/gen_unicode_class.py"
    )


# ---------------------------------------------------------------------------------------------
# Every code point


@functools.cache
def class_strings() -> dict[str, str]:
    """For each class, its anchor followed by every scalar value the table puts in that class."""
    table = classes()
    groups: dict[str, list[str]] = {k: [ANCHORS[k]] for k in ANCHORS}
    for cp in range(0x110000):
        if not 0xD800 <= cp <= 0xDFFF:
            groups[chr(table[cp])].append(chr(cp))
    return {k: "".join(v) for k, v in groups.items()}


def test_class_strings_partition_every_scalar_value():
    strings = class_strings()
    body = sorted(ord(c) for s in strings.values() for c in s[1:])
    assert len(body) == N_SCALARS == 1_112_064
    assert body == [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]


def _describe_breaks(text: str, pieces: list[str], cls: str) -> str:
    table = classes()
    starts = []
    pos = 0
    for piece in pieces[:-1]:
        pos += len(piece)
        starts.append(pos)
    shown = ", ".join(
        f"U+{ord(text[p]):04X} after U+{ord(text[p - 1]):04X} (table: {chr(table[ord(text[p])])})"
        for p in starts[:20]
    )
    return f"{len(pieces)} pieces instead of one run of {CLASS_NAMES[cls]}; breaks at {shown}"


@pytest.mark.parametrize("cls", list(ANCHORS))
def test_every_code_point_class_matches_tokenizers(cls):
    """The generated class table agrees with `tokenizers` on all 1,112,064 scalar values."""
    text = class_strings()[cls]
    pieces = oracle_split(text)
    assert pieces == [text], _describe_breaks(text, pieces, cls)
    assert ref_split(text) == [text]


@requires_rust
@pytest.mark.parametrize("cls", list(ANCHORS))
def test_every_code_point_class_rust(cls):
    text = class_strings()[cls]
    pieces = RUST_SPLIT(text)
    assert pieces == [text], _describe_breaks(text, pieces, cls)


def _context_code_points() -> list[int]:
    """Everything below U+3400 (the scripts with the most class changes), both sides of every
    class boundary above, and the end of the last plane."""
    table = classes()
    cps = set(range(0x3400))
    for cp in range(0x3401, 0x110000):
        if table[cp] != table[cp - 1]:
            cps.update((cp - 1, cp))
    cps.update(range(0x10FF00, 0x110000))
    return sorted(cp for cp in cps if not 0xD800 <= cp <= 0xDFFF)


@functools.cache
def context_text() -> str:
    """Each code point c between letters, digits and punctuation, after one and after two spaces,
    doubled, after an apostrophe, after a tab and before a newline."""
    return "".join(
        f"a{c}a0{c}0!{c}! {c}{c}'{c}\t{c}  {c}\n" for c in map(chr, _context_code_points())
    )


@functools.cache
def context_oracle() -> list[str]:
    return oracle_split(context_text())


def assert_same_pieces(got: list[str], want: list[str]) -> None:
    """Compares long piece lists, reporting only the first difference (pytest's diff of lists of
    a million pieces would take minutes)."""
    if got == want:
        return
    i = next((i for i, (g, w) in enumerate(zip(got, want)) if g != w), min(len(got), len(want)))
    lo = max(i - 3, 0)
    pytest.fail(
        f"pieces differ from index {i} (of {len(got)} vs {len(want)}): "
        f"got {got[lo : i + 4]!r}, want {want[lo : i + 4]!r}"
    )


def test_code_points_in_context_reference_matches_tokenizers():
    assert_same_pieces(ref_split(context_text()), context_oracle())


@requires_rust
def test_code_points_in_context_rust():
    assert_same_pieces(RUST_SPLIT(context_text()), context_oracle())


@functools.cache
def unicode_boundaries() -> list[int]:
    """Both sides of every class boundary of Unicode 16.0, from ``unicodedata2`` (pinned to 16.0.0
    by the test extras; no mismatch with ``tokenizers``, see the generator's docs) and, for
    White_Space, Python's ``isspace`` less U+001C..U+001F: independent of the Rust table and of
    where its source lives, so an off-by-one at any end of one of its ranges is probed."""
    ud = importlib.import_module("unicodedata2")
    assert ud.unidata_version == "16.0.0", ud.unidata_version

    def cls(cp: int) -> str:
        ch = chr(cp)
        if ch.isspace() and not 0x1C <= cp <= 0x1F:
            return "W"
        cat = ud.category(ch)
        return cat[0] if cat[0] in "LN" else "O"

    cps = {0, 0x10FFFF}
    prev = cls(0)
    for cp in range(1, 0x110000):
        c = cls(cp)
        if c != prev:
            cps.update((cp - 1, cp))
        prev = c
    return sorted(cp for cp in cps if not 0xD800 <= cp <= 0xDFFF)


def test_both_sides_of_every_class_boundary_rust():
    """The Rust split equals `tokenizers` on the code points on both sides of every boundary
    between Letter, Number, Whitespace and Other, each in the contexts of ``context_text``."""
    assert RUST_SPLIT is not None, "actok._actok._pretokenize is missing from the bindings"
    cps = unicode_boundaries()
    assert len(cps) > 2_000, len(cps)  # Unicode 16.0: 2,821 code points
    text = "".join(f"a{c}a0{c}0!{c}! {c}{c}'{c}\t{c}  {c}\n" for c in map(chr, cps))
    assert_same_pieces(RUST_SPLIT(text), oracle_split(text))


# ---------------------------------------------------------------------------------------------
# Hand-checked cases

CASES = [
    ("", []),
    ("it's", ["it", "'s"]),
    (
        "don't we'll they're I've I'm he'd",
        ["don", "'t", " we", "'ll", " they", "'re", " I", "'ve", " I", "'m", " he", "'d"],
    ),
    ("'ll'd", ["'ll", "'d"]),
    ("'ree", ["'re", "e"]),
    ("'S", ["'", "S"]),
    ("IT'S", ["IT", "'", "S"]),
    ("'l", ["'", "l"]),
    ("!'s", ["!'", "s"]),
    ("''s", ["''", "s"]),
    (" 's", [" '", "s"]),
    ("x 're", ["x", " '", "re"]),
    ("a b", ["a", " b"]),
    (" 12", [" 12"]),
    (" !!", [" !!"]),
    (" \u0162", [" \u0162"]),
    (" \u0301", [" \u0301"]),
    ("a   b", ["a", "  ", " b"]),
    ("  12", [" ", " 12"]),
    ("1 2  3   ", ["1", " 2", " ", " 3", "   "]),
    ("a  ", ["a", "  "]),
    ("   ", ["   "]),
    ("a\tb", ["a", "\t", "b"]),
    ("a \tb", ["a", " ", "\t", "b"]),
    ("a\t b", ["a", "\t", " b"]),
    ("a\n\nb", ["a", "\n", "\n", "b"]),
    (" \n a", [" \n", " a"]),
    ("abc123!?def", ["abc", "123", "!?", "def"]),
    ("\u0162\u0162\u0100", ["\u0162\u0162\u0100"]),
    ("e\u0301", ["e", "\u0301"]),
    ("a\u0345", ["a", "\u0345"]),
    ("\u2160\u2161", ["\u2160\u2161"]),
    ("1\u2160\u00b2", ["1\u2160\u00b2"]),
    ("a\x1cb", ["a", "\x1c", "b"]),
    ("a\u00a0b", ["a", "\u00a0", "b"]),
    ("a\u0085 b", ["a", "\u0085", " b"]),
    ("\u00a0\u0085x", ["\u00a0", "\u0085", "x"]),
    ("\u1c89\u1c8a", ["\u1c89\u1c8a"]),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_hand_checked_cases(text, expected):
    assert oracle_split(text) == expected
    assert ref_split(text) == expected


@requires_rust
@pytest.mark.parametrize(("text", "expected"), CASES)
def test_hand_checked_cases_rust(text, expected):
    assert RUST_SPLIT(text) == expected


# ---------------------------------------------------------------------------------------------
# Random strings rich in class boundaries

BOUNDARY_CHARS = (
    "0123456789aAzZsStTrReEvVmMlLdDxX\u00e9\u00df"
    " \t\n\r\x0b\x0c\u00a0\u0085\u1680\u2000\u2028\u3000\x1c\x1f\u180e\u200b"
    "''''!?.,-()\"#\u00ad\u00b7"
    "\u0301\u0345\u2160\u2169\u3007\u00b2\u00bd\u2460\U00010d40\u1c89"
    "\u0162\u0100\u0143\x00\x7f\ufffd\U0001f600"
)
FRAGMENTS = ("'s 't 're 've 'm 'll 'd 'S 'T 'RE 'LL 'r 'v 'l").split() + [
    " '",
    "  ",
    "   ",
    "\r\n",
    " \n",
    "\t ",
    "''",
    " 1",
    " a",
    " !",
]

boundary_texts = st.lists(
    st.one_of(
        st.sampled_from(BOUNDARY_CHARS),
        st.sampled_from(FRAGMENTS),
        st.characters(min_codepoint=0x300, max_codepoint=0x36F),
        st.characters(min_codepoint=0x100, max_codepoint=0x143),
        st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF),
        st.characters(codec="utf-8"),
    ),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(boundary_texts)
def test_random_reference_matches_tokenizers(text):
    assert ref_split(text) == oracle_split(text)


@requires_rust
@settings(max_examples=600, deadline=None)
@given(boundary_texts)
def test_random_rust_matches_tokenizers(text):
    assert RUST_SPLIT(text) == oracle_split(text)
