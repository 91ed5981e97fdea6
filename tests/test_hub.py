"""Hub ids in ``FastTokenizer.from_pretrained`` (issue 15): resolved by huggingface_hub into its
standard cache, only ``*.json`` fetched, ``HF_HUB_OFFLINE`` honoured.

No network: the cache is populated by huggingface_hub's own download code from a hub served on
loopback (tests/fake_hub.py), then read offline with that server gone. Each load runs in a
subprocess, because huggingface_hub reads ``HF_HOME``/``HF_HUB_OFFLINE``/``HF_ENDPOINT`` once,
at import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import require_module
from fake_hub import FakeHub, repo_files

import actok

HERE = Path(__file__).resolve().parent
LAYOUTS = HERE / "fixtures" / "hf_layouts"
REPO = "acme/fast-tok"


@pytest.fixture(autouse=True)
def _hub_installed():
    require_module("huggingface_hub")


def _repo(layout: str) -> dict[str, bytes]:
    """A FAST repository as the hub holds one: the saved directory, the processor's code (which
    must never be fetched, let alone run) and a README."""
    files = repo_files(LAYOUTS / layout / "saved")
    files["processing_action_tokenizer.py"] = b"raise SystemExit('actok ran hub code')\n"
    files["README.md"] = b"# a FAST tokenizer\n"
    return files


def _layout(major: str) -> str:
    return next(
        p.name for p in sorted(LAYOUTS.iterdir()) if p.name.startswith(f"transformers-{major}")
    )


def _load(repo_id: str, home: Path, *, endpoint: str | None = None, offline: bool, **kw: str):
    """Runs ``from_pretrained(repo_id, **kw)`` in a fresh interpreter; returns the
    CompletedProcess, whose stdout's last line is the ids of the layout's test chunks as JSON."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_HOME=str(home), HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1")
    env["HF_HUB_OFFLINE"] = "1" if offline else "0"
    if endpoint:
        env["HF_ENDPOINT"] = endpoint
    chunks = json.loads((LAYOUTS / _layout("5") / "expected.json").read_text())["chunks"]
    code = (
        "import json, sys, numpy as np, actok\n"
        f"tok = actok.FastTokenizer.from_pretrained({repo_id!r}, **{kw!r})\n"
        f"print(json.dumps(tok.encode(np.array({chunks!r}))))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("major", ["4", "5"])
def test_hub_id_is_fetched_json_only_then_loads_offline(tmp_path, major):
    layout = _layout(major)
    expected = json.loads((LAYOUTS / layout / "expected.json").read_text())["ids"]
    home = tmp_path / "hf-home"
    with FakeHub({REPO: _repo(layout)}) as hub:
        online = _load(REPO, home, endpoint=hub.endpoint, offline=False)
    assert online.returncode == 0, online.stderr[-3000:]
    assert json.loads(online.stdout.splitlines()[-1]) == expected
    assert hub.fetched(), hub.requests
    assert all(name.endswith(".json") for name in hub.fetched()), hub.fetched()
    cached = [p.name for p in (home / "hub").rglob("*") if p.is_file() or p.is_symlink()]
    assert not any(name.endswith(".py") or name == "README.md" for name in cached), cached

    # The server is gone: offline, the same id loads from the cache alone.
    offline = _load(REPO, home, offline=True)
    assert offline.returncode == 0, offline.stderr[-3000:]
    assert json.loads(offline.stdout.splitlines()[-1]) == expected


def test_missing_hub_id_offline_says_what_and_where(tmp_path):
    result = _load("acme/no-such-tok", tmp_path / "hf-home", offline=True)
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("actok.LoadError: cannot load 'acme/no-such-tok'"), message
    assert "revision main" in message and "HF_HUB_OFFLINE is on" in message, message
    assert str(tmp_path / "hf-home" / "hub" / "models--acme--no-such-tok") in message, message


def test_missing_hub_id_online_names_the_repository(tmp_path):
    with FakeHub({REPO: _repo(_layout("5"))}) as hub:
        result = _load("acme/other", tmp_path / "hf-home", endpoint=hub.endpoint, offline=False)
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert "cannot load 'acme/other'" in message and "RepositoryNotFoundError" in message, message
    assert hub.fetched() == []


def test_a_missing_plain_name_is_a_missing_directory_not_a_download(tmp_path):
    """Only "org/name" is read as a hub id: a mistyped local name never goes to the network."""
    with FakeHub({"my-tok": {}}) as hub:
        result = _load("my-tok", tmp_path / "hf-home", endpoint=hub.endpoint, offline=False)
    assert result.returncode != 0
    assert "actok.LoadError: cannot access my-tok" in result.stderr, result.stderr[-2000:]
    assert hub.requests == []


def test_revision_is_passed_to_the_hub(tmp_path):
    with FakeHub({REPO: _repo(_layout("5"))}) as hub:
        result = _load(REPO, tmp_path / "hf", endpoint=hub.endpoint, offline=False, revision="v1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert ("GET", f"/api/models/{REPO}/revision/v1") in hub.requests, hub.requests


def test_revision_with_a_local_directory_is_refused():
    bundled = Path(actok.__file__).parent / "data" / "robosuite_fast"
    with pytest.raises(actok.ActokError, match="revision='v1' applies to hub ids"):
        actok.FastTokenizer.from_pretrained(bundled, revision="v1")


def test_without_huggingface_hub_a_hub_id_names_the_extra():
    code = (
        "import sys; sys.modules['huggingface_hub'] = None\n"
        "import actok\n"
        "try:\n"
        "    actok.FastTokenizer.from_pretrained('acme/fast-tok')\n"
        "except ImportError as e:\n"
        "    print(type(e).__name__, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "MissingExtra" in out.stdout and "pip install 'actok[hub]'" in out.stdout, out


def test_import_actok_does_not_import_huggingface_hub():
    code = "import sys, actok; print('huggingface_hub' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out


def test_hub_ids_are_only_org_slash_name():
    from actok import _hub

    assert _hub.is_repo_id("physical-intelligence/fast")
    assert _hub.is_repo_id("lerobot/fast-action-tokenizer")
    for not_an_id in ["fast", "a/b/c", "./a", "/abs/path", "a/../b", "a--b/c", "a/", "-a/b"]:
        assert not _hub.is_repo_id(not_an_id), not_an_id


def test_cli_takes_a_hub_id(tmp_path):
    """`actok encode org/name ...` resolves the id once, offline from the cache here."""
    home = tmp_path / "hf-home"
    with FakeHub({REPO: _repo(_layout("5"))}) as hub:
        assert _load(REPO, home, endpoint=hub.endpoint, offline=False).returncode == 0
    episode = np.cumsum(np.random.default_rng(3).normal(0, 0.05, (40, 3)), axis=0).clip(-1, 1)
    np.save(tmp_path / "episode.npy", episode)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_HOME=str(home), HF_HUB_OFFLINE="1")
    out = tmp_path / "ids.npz"
    args = ["encode", REPO, str(tmp_path / "episode.npy"), "-o", str(out), "--quiet"]
    result = subprocess.run(
        [sys.executable, "-m", "actok", *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert out.is_file()
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "actok",
            "encode",
            "acme/gone",
            str(tmp_path / "episode.npy"),
            "-o",
            str(tmp_path / "x.npz"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 2
    assert missing.stderr.startswith("actok: error: cannot load 'acme/gone'"), missing.stderr
