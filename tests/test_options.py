"""Every string option has one owner, the core's table: a bad value gets the same message from the
Python API, the CLI and the core (``check_option`` is the core's parser, reached directly), and the
CLI offers exactly the core's spellings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import actok
from actok import _actok
from actok._cli import main

BUNDLED = Path(actok.__file__).parent / "data" / "robosuite_fast"
SAMPLE = Path(actok.__file__).parent / "data" / "robosuite_lift_7d_20hz.npz"

# The core's messages, written out: a change to a table shows up here and in the Rust test.
MESSAGES = {
    "on_overflow": 'on_overflow must be "raise" or "clip", got "bogus"',
    "on_error": 'on_error must be "raise", "pad" or "zeros", got "bogus"',
    "alphabet": 'alphabet must be "lossless" or "reference", got "bogus"',
    "normalizer kind": (
        'normalizer kind must be "quantile", "meanstd", "minmax" or "identity", got "bogus"'
    ),
    "out_of_range": 'out_of_range must be "keep", "clip" or "raise", got "bogus"',
    "pad": 'pad must be "repeat_last" or "drop", got "bogus"',
    "norm": 'norm must be "backward", "ortho" or "forward", got "bogus"',
}


@pytest.fixture(scope="module")
def tok() -> actok.FastTokenizer:
    return actok.FastTokenizer.from_pretrained(BUNDLED)


def _python_call(option: str, tok: actok.FastTokenizer):
    chunks = np.zeros((2, 10, 7))
    return {
        "on_overflow": lambda: tok.encode(chunks, on_overflow="bogus"),
        "on_error": lambda: tok.decode([[1, 2]], 10, 7, on_error="bogus"),
        "alphabet": lambda: actok.FastTokenizer.fit(chunks, alphabet="bogus"),
        "normalizer kind": lambda: actok.Normalizer.fit(chunks[0], kind="bogus"),
        "out_of_range": lambda: actok.Normalizer.fit(chunks[0], out_of_range="bogus"),
        "pad": lambda: actok.chunk_episodes([chunks[0]], 3, pad="bogus"),
        "norm": lambda: actok.dct(chunks[0], norm="bogus"),
    }[option]


def _cli_args(option: str, tmp_path: Path) -> list[str] | None:
    out = str(tmp_path / "out")
    return {
        "on_overflow": ["encode", str(BUNDLED), str(SAMPLE), "-o", out, "--on-overflow", "bogus"],
        "on_error": ["decode", str(BUNDLED), str(SAMPLE), "-o", out, "--on-error", "bogus"],
        "alphabet": ["fit", "-o", out, "--alphabet", "bogus"],
        "normalizer kind": ["fit", "-o", out, "--normalize", "bogus"],
        "out_of_range": ["fit", "-o", out, "--out-of-range", "bogus"],
        "pad": ["fit", "-o", out, "--pad", "bogus"],
        "norm": None,  # the DCT has no command
    }[option]


def test_the_table_covers_every_option():
    assert set(_actok.OPTIONS) == set(MESSAGES)


@pytest.mark.parametrize("option", sorted(MESSAGES))
def test_core_python_and_cli_give_the_same_message(option, tok, tmp_path, capsys):
    expected = MESSAGES[option]
    with pytest.raises(actok.ActokError) as core:
        _actok.check_option(option, "bogus")
    assert str(core.value) == expected

    with pytest.raises(actok.ActokError) as python:
        _python_call(option, tok)()
    assert str(python.value) == expected

    args = _cli_args(option, tmp_path)
    if args is not None:
        with pytest.raises(SystemExit) as exit_:
            main(args)
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert err.strip().endswith(expected), err
        assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("option", sorted(MESSAGES))
def test_every_spelling_is_accepted_and_named(option):
    for name in _actok.OPTIONS[option]:
        assert _actok.check_option(option, name) == name


def test_cli_choices_come_from_the_table(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    help_text = capsys.readouterr().out
    for option in ("alphabet", "pad", "out_of_range"):
        assert "{" + ",".join(_actok.OPTIONS[option]) + "}" in help_text
    assert "{" + ",".join([*_actok.OPTIONS["normalizer kind"], "none"]) + "}" in help_text


def test_a_non_string_option_is_a_type_error(tok):
    with pytest.raises(TypeError):
        tok.encode(np.zeros((2, 10, 7)), on_overflow=1)
    with pytest.raises(TypeError):
        actok.chunk_episodes([np.zeros((4, 2))], 2, pad=None)


def test_dct_type_is_checked_by_the_core():
    with pytest.raises(actok.ActokError, match=r"^type must be 2 or 3, got 4 \(types 1 and 4"):
        actok.dct(np.ones(8), type=4)


# ------------------------------------------------------------------ core messages reach Python
@pytest.mark.parametrize("bad", [-1, 2**40, 2**64 + 1, -(2**100)])
def test_unknown_ids_get_the_core_message_whatever_their_width(tok, bad):
    """Ids beyond int64 (Python ints, uint64 arrays) reach the core and get its one message,
    "valid ids" included, instead of a message rebuilt in Python."""
    n = tok._inner.vocab_len
    expected = (
        f"cannot decode chunk 0: token id {bad} at position 1 is not in the vocabulary "
        f"(valid ids are 0 to {n - 1}, inclusive)"
    )
    with pytest.raises(actok.DecodeError) as err:
        tok.decode([[5, bad, 6]], 10, 7)
    assert str(err.value) == expected
    _, valid = tok.decode([[5, bad, 6]], 10, 7, on_error="pad", return_valid=True)
    assert valid.tolist() == [False]


def test_uint64_padded_ids_get_the_core_message(tok):
    ids = np.array([[5, 2**64 - 1, 6]], dtype=np.uint64)
    with pytest.raises(actok.DecodeError) as err:
        tok.decode((ids, np.array([3])), 10, 7)
    assert str(err.value).endswith(
        f"token id {2**64 - 1} at position 1 is not in the vocabulary "
        f"(valid ids are 0 to {tok._inner.vocab_len - 1}, inclusive)"
    )
