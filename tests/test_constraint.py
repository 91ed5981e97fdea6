"""Constrained decoding (``FastTokenizer.constraint``, ``constraint_batch``, ``decode_prefix``).

Tokenizers: fitted by actok to random corpora and to the shared real data (lossless and
reference alphabets, zero on one byte and on two), and trained by the ``tokenizers`` library
with the reference recipe (``conftest.TOK_SPECS``: lossy alphabets, FAST+'s ``min_token``).

The oracle knows nothing of actok's automaton: it follows the raw bytes still pending and the
character count, judges each step with Python's strict UTF-8 decoder, takes each token's bytes
from the ``tokenizers`` library, and searches every token sequence (memoized) for a completion.
Every completion it claims is decoded by ``FastTokenizer.decode(on_error="raise")``.
"""

from __future__ import annotations

import sys
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
import pytest
import scipy.fft
from conftest import CHUNK_COUNTS, load_shared_data, random_chunks, require_shared_data
from fast_reference import token_bytes_table
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

import actok

BUNDLED = Path(actok.__file__).parent / "data" / "robosuite_fast"

sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))


# --------------------------------------------------------------------------------------------
# Tokenizers
# --------------------------------------------------------------------------------------------
# name: (where the chunks come from, (H, D) of the chunks, scale, alphabet, vocab_size)
SYNTHETIC = {
    "random_lossless_1byte": ("smooth", (10, 4), 10, "lossless", 512),
    "random_lossless_2byte": ("smooth", (10, 4), 100, "lossless", 1024),
    "random_reference_1byte": ("smooth", (10, 4), 10, "reference", 512),
    "random_reference_2byte": ("smooth", (10, 4), 100, "reference", 1024),
}
REAL = {
    "droid_lossless_1byte": ("droid_joint_8d", (15, 8), 10, "lossless", 1024),
    "droid_reference_2byte": ("droid_joint_8d", (15, 8), 50, "reference", 2048),
    "pusht_lossless_2byte": ("pusht_2d", (10, 2), 40, "lossless", 1024),
    "bridge_reference_1byte": ("bridge_7d", (5, 7), 10, "reference", 256),
}
# Trained by the `tokenizers` library (conftest): a lossy alphabet with missing codes, zero as
# a 2-byte letter (FAST+'s min_token), zero as 'A'.
REFERENCE_TRAINED = ["trap", "fastplus", "letterA"]
CASES = [*SYNTHETIC, *REAL, *REFERENCE_TRAINED, "bundled"]


class Case:
    """A tokenizer, its fitted shape, and its token bytes as ``tokenizers`` reads them."""

    def __init__(self, name: str, tok: actok.FastTokenizer, shape: tuple[int, int], ref):
        self.name = name
        self.tok = tok
        self.shape = shape
        self.table = token_bytes_table(ref)
        assert len(self.table) == tok.vocab_len

    @property
    def zero_bytes(self) -> int:
        return len(chr(-self.tok.min_token).encode())


def _fit(source: str, shape: tuple[int, int], scale, alphabet, vocab) -> actok.FastTokenizer:
    h, d = shape
    rng = np.random.default_rng(7)
    if source == "smooth":
        chunks = random_chunks(rng, 400, h, d, "smooth")
    else:
        data = load_shared_data()
        assert data is not None
        chunks = data[source].windows(h, 3 if source == "droid_joint_8d" else 1)
    return actok.FastTokenizer.fit(chunks, scale, vocab, alphabet=alphabet)


@cache
def _case(name: str, tmp: Path) -> Case:
    if name == "bundled":
        tok = actok.FastTokenizer.from_pretrained(BUNDLED)
        return Case(name, tok, (20, 7), Tokenizer.from_file(str(BUNDLED / "tokenizer.json")))
    spec = SYNTHETIC.get(name) or REAL[name]
    tok = _fit(*spec)
    tok.save_pretrained(tmp / name)
    return Case(name, tok, spec[1], Tokenizer.from_file(str(tmp / name / "tokenizer.json")))


@pytest.fixture(scope="session", params=CASES)
def case(request, tmp_path_factory, tok_cases) -> Case:
    name = request.param
    if name in REAL:
        require_shared_data()
    if name in REFERENCE_TRAINED:
        ref = tok_cases[name]
        shape = (10, 4)
        return Case(name, ref.tok, shape, ref.ref)
    return _case(name, tmp_path_factory.getbasetemp())


def test_cases_cover_both_alphabets_with_zero_on_one_and_two_bytes(tmp_path_factory):
    seen = set()
    for name, (_, _, _, alphabet, _) in SYNTHETIC.items():
        c = _case(name, tmp_path_factory.getbasetemp())
        seen.add((alphabet, c.zero_bytes))
        assert name.endswith(f"{c.zero_bytes}byte"), (name, c.tok.min_token)
    assert seen == {("lossless", 1), ("lossless", 2), ("reference", 1), ("reference", 2)}


def test_real_cases_have_the_zero_width_their_names_say(tmp_path_factory):
    require_shared_data()
    for name in REAL:
        c = _case(name, tmp_path_factory.getbasetemp())
        assert name.endswith(f"{c.zero_bytes}byte"), (name, c.tok.min_token)


# --------------------------------------------------------------------------------------------
# The oracle
# --------------------------------------------------------------------------------------------
def _utf8_step(pending: bytes, token: bytes) -> tuple[bytes, int] | None:
    """(bytes still pending, characters finished) after ``token``, or None when no
    continuation can make the bytes UTF-8."""
    s = pending + token
    try:
        return b"", len(s.decode("utf-8"))
    except UnicodeDecodeError as e:
        if e.end == len(s) and e.reason == "unexpected end of data":
            return s[e.start :], len(s[: e.start].decode("utf-8"))
        return None


class Oracle:
    """Brute force over (pending bytes, characters so far): module docs. Steps are computed
    lazily and the search stops at the first completion found, so only dead ends are searched
    in full (a pending character with no characters left to spend is one, without search)."""

    def __init__(self, table: list[bytes], n: int):
        self.table = table
        self.n = n
        self._steps: dict[tuple[bytes, int], tuple[bytes, int] | None] = {}
        self._memo: dict[tuple[bytes, int], bool] = {}

    def step(self, pending: bytes, count: int, i: int) -> tuple[bytes, int] | None:
        key = (pending, i)
        if key not in self._steps:
            self._steps[key] = _utf8_step(pending, self.table[i])
        s = self._steps[key]
        if s is None or count + s[1] > self.n:
            return None
        return s[0], count + s[1]

    def completable(self, pending: bytes, count: int) -> bool:
        if not pending and count == self.n:
            return True
        if pending and count == self.n:
            return False
        key = (pending, count)
        if key not in self._memo:
            self._memo[key] = any(
                self.table[i] and (s := self.step(pending, count, i)) and self.completable(*s)
                for i in range(len(self.table))
            )
        return self._memo[key]

    def mask(self, pending: bytes, count: int) -> np.ndarray:
        out = np.zeros(len(self.table), dtype=bool)
        for i in range(len(self.table)):
            s = self.step(pending, count, i)
            out[i] = s is not None and self.completable(*s)
        return out

    def witness(self, pending: bytes, count: int) -> list[int]:
        ids = []
        while pending or count != self.n:
            for i in range(len(self.table)):
                s = self.step(pending, count, i)
                if self.table[i] and s is not None and self.completable(*s):
                    ids.append(i)
                    pending, count = s
                    break
            else:
                raise AssertionError("a completable state has a completable next step")
        return ids


@lru_cache(maxsize=64)
def _oracle(case: Case, n: int) -> Oracle:
    """One oracle per tokenizer and length, shared by the examples (its caches are pure)."""
    return Oracle(case.table, n)


def _decodes(tok: actok.FastTokenizer, ids: list[int], h: int, d: int) -> bool:
    _, valid = tok.decode([ids], h, d, on_error="pad", return_valid=True)
    return bool(valid[0])


def _gumbel_pick(rng: np.random.Generator, logits: np.ndarray, mask: np.ndarray) -> int:
    """A sample from softmax(logits) restricted to the mask."""
    scores = np.where(mask, logits + rng.gumbel(size=logits.shape), -np.inf)
    return int(np.argmax(scores))


# --------------------------------------------------------------------------------------------
# Soundness and maximality against the oracle
# --------------------------------------------------------------------------------------------
@settings(max_examples=10)
@given(h=st.integers(1, 3), d=st.integers(1, 2), seed=st.integers(0, 2**32 - 1))
def test_mask_is_exactly_the_ids_with_a_completion(case, h, d, seed):
    """At every step of random constrained walks: the mask is the oracle's; every excluded id
    raises DecodeError and moves nothing; is_complete is decode's verdict; completions the
    oracle finds for allowed ids really decode."""
    tok, n = case.tok, h * d
    oracle = _oracle(case, n)
    rng = np.random.default_rng(seed)
    c = tok.constraint(h, d)
    for _ in range(2):
        c.reset()
        pending, count, ids = b"", 0, []
        while True:
            expected = oracle.mask(pending, count)
            np.testing.assert_array_equal(c.mask(), expected, err_msg=f"after {ids}")
            assert c.is_complete == (not pending and count == n) == _decodes(tok, ids, h, d)
            for i in np.flatnonzero(~expected):
                with pytest.raises(actok.DecodeError, match=f"token id {i} at position"):
                    c.advance(int(i))
            assert (c.count, c.position) == (count, len(ids))
            allowed = np.flatnonzero(expected)
            for i in rng.choice(allowed, size=min(2, len(allowed)), replace=False):
                rest = oracle.witness(*oracle.step(pending, count, int(i)))
                assert _decodes(tok, [*ids, int(i), *rest], h, d)
            if len(allowed) == 0:
                assert c.is_complete
                break
            i = int(rng.choice(allowed))
            pending, count = oracle.step(pending, count, i)
            c.advance(i)
            ids.append(i)
        CHUNK_COUNTS["constraint: sequences checked step by step against the oracle"] += 1


# --------------------------------------------------------------------------------------------
# Sampling under the mask
# --------------------------------------------------------------------------------------------
@settings(max_examples=10)
@given(
    seed=st.integers(0, 2**32 - 1),
    temperature=st.sampled_from([0.1, 1.0, 5.0]),
    other_shape=st.tuples(st.integers(1, 12), st.integers(1, 9)),
)
def test_sequences_sampled_under_the_mask_all_decode(case, seed, temperature, other_shape):
    """Random logits (a fixed preference per token plus noise per step, as a model would have),
    sampled under the mask at the fitted shape and at another: every sequence decodes with
    on_error="raise", is_complete is true exactly at its end, and decode_prefix of every prefix
    is the zero-padded decode."""
    rng = np.random.default_rng(seed)
    tok = case.tok
    preference = rng.normal(size=tok.vocab_len) * temperature
    for h, d in [case.shape, other_shape]:
        c = tok.constraint(h, d)
        sequences = []
        for _ in range(6):
            c.reset()
            ids: list[int] = []
            while not c.is_complete:
                i = _gumbel_pick(rng, preference + rng.normal(size=tok.vocab_len), c.mask())
                c.advance(i)
                ids.append(i)
                assert c.is_complete == _decodes(tok, ids, h, d)
            assert not c.mask().any()
            sequences.append(ids)
        tok.decode(sequences, h, d, on_error="raise")
        CHUNK_COUNTS["constraint: sampled sequences decoded (single)"] += len(sequences)


@settings(max_examples=4)
@given(seed=st.integers(0, 2**32 - 1))
def test_batches_sampled_under_the_mask_all_decode(case, seed):
    """A (64, vocab) batch sampled step by step: every row completes, decodes, and its row of
    the batch mask was the single constraint's mask at every step."""
    rng = np.random.default_rng(seed)
    tok = case.tok
    h, d = case.shape
    rows = 64
    bc = tok.constraint_batch(rows, h, d)
    singles = [tok.constraint(h, d) for _ in range(rows)]
    preference = rng.normal(size=tok.vocab_len) * 2
    sequences: list[list[int]] = [[] for _ in range(rows)]
    out = np.empty((rows, tok.vocab_len), dtype=bool)
    while not bc.is_complete.all():
        masks = bc.mask(out=out)
        picks = np.full(rows, -1)
        for b in range(rows):
            if singles[b].is_complete:
                assert not masks[b].any()
                continue
            np.testing.assert_array_equal(masks[b], singles[b].mask())
            picks[b] = _gumbel_pick(rng, preference + rng.normal(size=tok.vocab_len), masks[b])
            singles[b].advance(int(picks[b]))
            sequences[b].append(int(picks[b]))
        bc.advance(picks)
        np.testing.assert_array_equal(bc.is_complete, [s.is_complete for s in singles])
    tok.decode(sequences, h, d, on_error="raise")
    CHUNK_COUNTS["constraint: sampled sequences decoded (batch rows)"] += rows


# --------------------------------------------------------------------------------------------
# Model vocabularies
# --------------------------------------------------------------------------------------------
@settings(max_examples=15)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["openpi", "scattered", "wider"]))
def test_mapped_batches_follow_the_single_constraints(seed, kind):
    """Masks in a model's vocabulary are the action masks moved through the map, end_id exactly
    when complete; finished rows allow end_id alone and take end_id or -1."""
    tok = actok.FastTokenizer.from_pretrained(BUNDLED)
    v = tok.vocab_len
    rng = np.random.default_rng(seed)
    h, d = 3, 2
    if kind == "openpi":
        width = v + 200
        vocab_map = actok.openpi_vocab_map(width, vocab_len=v)
        end_id = width - 1
    elif kind == "scattered":
        width = 10 * v
        vocab_map = rng.permutation(width)[:v]
        end_id = int(np.setdiff1d(np.arange(width), vocab_map)[0])
    else:
        width, vocab_map, end_id = v + 7, None, v + 3
    bc = tok.constraint_batch(5, h, d, vocab_map=vocab_map, model_vocab_size=width, end_id=end_id)
    assert (bc.batch, bc.width, bc.end_id) == (5, width, end_id)
    to_model = np.arange(v) if vocab_map is None else np.asarray(vocab_map)
    singles = [tok.constraint(h, d) for _ in range(5)]
    ended = np.zeros(5, dtype=bool)
    for _ in range(4 * h * d + 2):
        masks = bc.mask()
        picks = np.empty(5, dtype=np.int64)
        for b, c in enumerate(singles):
            expected = np.zeros(width, dtype=bool)
            if not ended[b]:
                expected[to_model] = c.mask()
            expected[end_id] = c.is_complete
            np.testing.assert_array_equal(masks[b], expected)
            assert masks[b].any(), "a sampler never sees an all-masked row"
            picks[b] = rng.choice(np.flatnonzero(masks[b]))
            if ended[b] and rng.random() < 0.5:
                picks[b] = -1
        bc.advance(picks)
        for b, p in enumerate(picks):
            if p == end_id:
                ended[b] = True
            elif p != -1:
                singles[b].advance(int(np.flatnonzero(to_model == p)[0]))
        np.testing.assert_array_equal(bc.finished, ended)
        np.testing.assert_array_equal(bc.is_complete, [c.is_complete for c in singles])
    assert ended.all()
    bc.reset()
    assert not bc.finished.any() and not bc.is_complete.any()


def test_openpi_map_is_its_own_formula():
    m = actok.openpi_vocab_map(257152, vocab_len=2048)
    assert m.dtype == np.int64 and m.shape == (2048,)
    np.testing.assert_array_equal(m, 257152 - 1 - 128 - np.arange(2048))
    np.testing.assert_array_equal(actok.openpi_vocab_map(10, 2, vocab_len=3), [7, 6, 5])


def test_batch_without_end_id_takes_the_sentinel_once_complete():
    tok = actok.FastTokenizer.from_pretrained(BUNDLED)
    bc = tok.constraint_batch(2, 1, 1)
    c = tok.constraint(1, 1)
    ids = []
    while not c.is_complete:
        i = int(np.flatnonzero(c.mask())[0])
        c.advance(i)
        ids.append(i)
    for i in ids:
        bc.advance([i, i])
    assert bc.is_complete.all() and not bc.finished.any()
    assert not bc.mask().any()
    bc.advance([-1, -1])
    bc.advance(np.array([-1, -1], dtype=np.int8))
    with pytest.raises(actok.DecodeError, match="row 0: token id 5 .* sequence is complete"):
        bc.advance([5, -1])


# --------------------------------------------------------------------------------------------
# Anytime decoding
# --------------------------------------------------------------------------------------------
def _prefix_coefficients(table, ids, min_token, scale, n) -> np.ndarray:
    raw = b"".join(table[i] for i in ids)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        assert e.reason == "unexpected end of data" and e.end == len(raw)
        text = raw[: e.start].decode("utf-8")
    values = np.zeros(n)
    q = np.array([ord(ch) + min_token for ch in text], dtype=np.float64)
    values[: len(q)] = q / scale
    return values


@settings(max_examples=10)
@given(seed=st.integers(0, 2**32 - 1), name=st.sampled_from(["bundled", *SYNTHETIC]))
def test_decode_prefix_is_the_idct_of_the_zero_padded_coefficients(tmp_path_factory, seed, name):
    """Every prefix of a constrained sequence decodes (decode_prefix) to scipy's inverse DCT of
    its coefficients with the missing high frequencies zero; it is what decode(on_error="pad")
    gives such a prefix; valid only when complete."""
    case = _case(name, tmp_path_factory.getbasetemp())
    tok = case.tok
    rng = np.random.default_rng(seed)
    h, d = case.shape
    c = tok.constraint(h, d)
    ids: list[int] = []
    prefixes: list[list[int]] = [[]]
    while not c.is_complete:
        i = _gumbel_pick(rng, rng.normal(size=tok.vocab_len), c.mask())
        c.advance(i)
        ids.append(i)
        prefixes.append(list(ids))
    actions, valid = tok.decode_prefix(prefixes, h, d, return_valid=True)
    for b, prefix in enumerate(prefixes):
        coeffs = _prefix_coefficients(case.table, prefix, tok.min_token, tok.scale, h * d)
        expected = scipy.fft.idct(coeffs.reshape(h, d), type=2, axis=0, norm="ortho")
        # The inverse DCT agrees with scipy to ~1e-15 relative (docs/semantics.md#decode);
        # sampled tokens can stand for coefficients in the thousands.
        np.testing.assert_allclose(actions[b], expected, rtol=1e-13, atol=1e-12)
    np.testing.assert_array_equal(valid, [b == len(ids) for b in range(len(prefixes))])
    np.testing.assert_array_equal(actions, tok.decode(prefixes, h, d, on_error="pad"))
    # The padded (ids, lengths) form gives the same.
    width = len(ids)
    padded = np.zeros((len(prefixes), width), dtype=np.int64)
    for b, p in enumerate(prefixes):
        padded[b, : len(p)] = p
    lengths = np.array([len(p) for p in prefixes])
    np.testing.assert_array_equal(tok.decode_prefix((padded, lengths), h, d), actions)
    CHUNK_COUNTS["constraint: prefixes decoded against scipy"] += len(prefixes)


def test_decode_prefix_refuses_what_no_completion_can_fix():
    tok = actok.FastTokenizer.from_pretrained(BUNDLED)
    c = tok.constraint(2, 2)
    ids = []
    while not c.is_complete:
        i = int(np.flatnonzero(c.mask())[-1])
        c.advance(i)
        ids.append(i)
    # Zero is the two bytes C5 A2 here: the lone first byte is a prefix (nothing decoded yet),
    # the first byte twice is not.
    lead = Tokenizer.from_file(str(BUNDLED / "tokenizer.json")).token_to_id("\u00c5")
    actions, valid = tok.decode_prefix([[lead]], 2, 2, return_valid=True)
    assert not actions.any() and not valid[0]
    with pytest.raises(actok.DecodeError, match="chunk 0: tokens decode to invalid UTF-8"):
        tok.decode_prefix([[lead, lead]], 2, 2)
    with pytest.raises(actok.DecodeError, match="chunk 1: .*expected 4"):
        tok.decode_prefix([ids, ids + ids], 2, 2)
    with pytest.raises(actok.DecodeError, match="chunk 0: token id 5000 at position 1"):
        tok.decode_prefix([[ids[0], 5000]], 2, 2)
