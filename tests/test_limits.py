"""Resource limits: the caps on what a tokenizer directory may hold (each refused with a
:class:`actok.LoadError` naming the limit and the actual value, quickly and without a memory
blow-up), and memory that stays flat over a million encode/decode calls."""

from __future__ import annotations

import gc
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import bundled_universal

import actok

BUNDLED = Path(actok.__file__).parent / "data" / "robosuite_fast"

MAX_TOKENIZER_FILE_BYTES = 256 << 20
MAX_VOCAB_SIZE = 1 << 20
MAX_MERGES = 1 << 22
MAX_TOKEN_CHARS = 1 << 16
MAX_CONFIG_FILE_BYTES = 1 << 20
MAX_NORMALIZER_FILE_BYTES = 4 << 20


def _dir(path: Path, tokenizer: dict | None = None, config: dict | None = None) -> Path:
    path.mkdir()
    for name, content in (("tokenizer.json", tokenizer), ("processor_config.json", config)):
        if content is None:
            shutil.copy(BUNDLED / name, path / name)
        else:
            (path / name).write_text(json.dumps(content), encoding="utf-8")
    return path


def _tokenizer_json() -> dict:
    return json.loads((BUNDLED / "tokenizer.json").read_text(encoding="utf-8"))


def _load_error(path: Path, file: str) -> str:
    with pytest.raises(actok.LoadError) as ei:
        actok.FastTokenizer.from_pretrained(path)
    msg = str(ei.value)
    assert str(path / file) in msg, msg
    return msg


def test_tokenizer_file_size_cap(tmp_path):
    """One byte past 256 MiB (a sparse file of NULs: no disk used, and NUL is valid UTF-8, so
    the size check is what fires)."""
    path = _dir(tmp_path / "t")
    with open(path / "tokenizer.json", "wb") as f:
        f.truncate(MAX_TOKENIZER_FILE_BYTES + 1)
    msg = _load_error(path, "tokenizer.json")
    assert f"is {MAX_TOKENIZER_FILE_BYTES + 1} bytes, more than the limit of 268435456" in msg


def test_config_file_size_cap(tmp_path):
    """The real config padded with spaces: accepted at 1 MiB, refused one byte past it."""
    text = (BUNDLED / "processor_config.json").read_text()
    path = _dir(tmp_path / "at")
    (path / "processor_config.json").write_text(text.ljust(MAX_CONFIG_FILE_BYTES))
    assert actok.FastTokenizer.from_pretrained(path).scale == 10
    path = _dir(tmp_path / "past")
    (path / "processor_config.json").write_text(text.ljust(MAX_CONFIG_FILE_BYTES + 1))
    msg = _load_error(path, "processor_config.json")
    assert "is 1048577 bytes, more than the limit of 1048576 bytes" in msg, msg


def test_normalizer_file_size_cap(tmp_path):
    """A saved normalizer padded with spaces: loaded beside the tokenizer at 4 MiB, refused one
    byte past it (from its size, before it is read)."""
    norm = actok.Normalizer.fit(np.arange(12.0).reshape(4, 3))
    text = norm.to_json()
    path = _dir(tmp_path / "at")
    (path / "actok_normalizer.json").write_text(text.ljust(MAX_NORMALIZER_FILE_BYTES))
    assert actok.FastTokenizer.from_pretrained(path).normalizer == norm
    path = _dir(tmp_path / "past")
    (path / "actok_normalizer.json").write_text(text.ljust(MAX_NORMALIZER_FILE_BYTES + 1))
    msg = _load_error(path, "actok_normalizer.json")
    assert "is 4194305 bytes, more than the limit of 4194304 bytes" in msg, msg


def test_vocab_size_cap(tmp_path):
    tj = _tokenizer_json()
    vocab = tj["model"]["vocab"]
    n = len(vocab)
    for i in range(MAX_VOCAB_SIZE + 1 - n):
        vocab[f"z{i}"] = n + i
    msg = _load_error(_dir(tmp_path / "t", tj), "tokenizer.json")
    assert "model.vocab has 1048577 tokens, more than the limit of 1048576" in msg, msg


def test_merge_count_cap(tmp_path):
    """Short entries (the count is checked before any entry is), so the file stays ~25 MB."""
    tj = _tokenizer_json()
    tj["model"]["merges"] = ["a b"] * (MAX_MERGES + 1)
    msg = _load_error(_dir(tmp_path / "t", tj), "tokenizer.json")
    assert "model.merges has 4194305 entries, more than the limit of 4194304" in msg, msg


def test_token_length_cap(tmp_path):
    """A token of 2**16 characters loads; one of 2**16 + 1 is refused, naming its id."""
    tj = _tokenizer_json()
    n = len(tj["model"]["vocab"])
    tj["model"]["vocab"]["a" * MAX_TOKEN_CHARS] = n
    big = actok.FastTokenizer.from_pretrained(_dir(tmp_path / "at", tj))
    assert big._inner.vocab_len == n + 1
    tj = _tokenizer_json()
    tj["model"]["vocab"]["a" * (MAX_TOKEN_CHARS + 1)] = n
    msg = _load_error(_dir(tmp_path / "past", tj), "tokenizer.json")
    assert f"model.vocab token {n} " in msg, msg
    assert "is 65537 characters long, more than the limit of 65536" in msg, msg


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.soak
@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")
def test_memory_flat_over_a_million_calls():
    """10**6 encode + decode pairs of a (1, 10, 2) chunk (about 20 s): the resident set grows by
    less than 4 MiB after warm-up (a leak of even 8 bytes per call would show as 16 MB)."""
    tok = bundled_universal()  # its recorded horizon is 20; these chunks are (10, 2)
    rng = np.random.default_rng(0)
    chunks = rng.uniform(-1, 1, (16, 1, 10, 2))
    for i in range(20_000):  # warm-up: thread-local buffers, allocator arenas, caches
        x = chunks[i % 16]
        tok.decode(tok.encode(x), 10, 2)
    gc.collect()
    before = _rss_bytes()
    n = 1_000_000
    worst = 0.0
    for i in range(n):
        x = chunks[i % 16]
        out = tok.decode(tok.encode(x), 10, 2)
        if i % 16 == 0:
            worst = max(worst, float(np.abs(out - x).max()))
    gc.collect()
    after = _rss_bytes()
    growth = after - before
    print(f"RSS before {before / 2**20:.1f} MiB, after {after / 2**20:.1f} MiB, growth {growth} B")
    assert growth < 4 * 2**20, f"RSS grew by {growth / 2**20:.2f} MiB over {n} calls"
    assert worst <= 0.5 * np.sqrt(10) / tok.scale + 1e-9


@pytest.mark.parametrize("min_token", [-354, -(2**52)])
def test_scale_too_small_for_finite_actions(tmp_path, min_token):
    """A scale near 1e-300 used to load and decode ids to ±inf (or ±3.5e302) marked valid: now
    refused, naming the scale, min_token and the limit (found while fuzzing the config)."""
    config = {"scale": 1e-300, "vocab_size": 4, "min_token": min_token}
    msg = _load_error(_dir(tmp_path / "t", config=config), "processor_config.json")
    assert f'is too small for "min_token" {min_token}' in msg, msg
    assert "more than the limit of 1e300" in msg, msg
