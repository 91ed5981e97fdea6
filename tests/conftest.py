"""Shared fixtures: reference tokenizers trained with the FAST recipe, real data, chunk helpers."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fast_reference import (
    chunk_from_q,
    encodable_table,
    load_reference,
    train_reference_tokenizer,
)
from hypothesis import HealthCheck, settings
from tokenizers import Tokenizer

REPO_ROOT = Path(__file__).resolve().parents[1]


def bundled_universal():
    """The bundled tokenizer without its recorded ``time_horizon`` (a universal tokenizer, as
    the reference's ``fit`` leaves them), for tests that feed chunks of many shapes and are
    about something other than the shape check."""
    import tempfile

    import actok

    bundled = Path(actok.__file__).parent / "data" / "robosuite_fast"
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(bundled / "tokenizer.json", tmp)
        config = json.loads((bundled / "processor_config.json").read_text())
        config["time_horizon"] = None
        (Path(tmp) / "processor_config.json").write_text(json.dumps(config))
        return actok.FastTokenizer.from_pretrained(tmp)


SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

settings.register_profile(
    "actok",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "actok"))

# Chunks checked per test, summed per kind and printed at the end of the session.
CHUNK_COUNTS: Counter[str] = Counter()


def pytest_terminal_summary(terminalreporter):
    if CHUNK_COUNTS:
        terminalreporter.section("actok parity: chunks checked")
        for key in sorted(CHUNK_COUNTS):
            terminalreporter.write_line(f"{key}: {CHUNK_COUNTS[key]}")


# --------------------------------------------------------------------------------------------
# Real data (../shared/data, never shipped with the project)
# --------------------------------------------------------------------------------------------
REAL_FILES = {
    "droid_joint_8d": "droid100_jointpos_gripper_8d_15hz.npz",
    "droid_cart_6d": "droid100_cartesian_action_6d_15hz.npz",
    "pusht_2d": "pusht_2d_10hz.npz",
    "bridge_7d": "bridge_octo_debug_train_7d_5hz.npz",
    "robosuite_wipe_6d": "robosuite_wipe_6d_20hz.npz",
    "robosuite_lift_7d": "robosuite_lift_7d_20hz.npz",
}


@dataclass
class RealDataset:
    name: str
    actions: np.ndarray  # (T, D) float32 as stored
    episode_ends: np.ndarray
    fps: int
    normalized: np.ndarray = field(init=False)  # (T, D) float64 in [-1, 1]

    def __post_init__(self):
        self.normalized = quantile_normalize(self.actions)

    def episodes(self) -> list[np.ndarray]:
        return np.split(self.normalized, self.episode_ends[:-1])

    def windows(self, horizon: int, stride: int = 1) -> np.ndarray:
        """(N, horizon, D) windows inside episodes (float64, normalized)."""
        return episode_windows(self.normalized, self.episode_ends, horizon, stride)


def quantile_normalize(actions: np.ndarray, lo_q: float = 0.01, hi_q: float = 0.99) -> np.ndarray:
    """Per dimension: the 1st/99th percentiles go to -1/+1, then clip to [-1, 1] (data README)."""
    a = np.asarray(actions, dtype=np.float64)
    lo = np.quantile(a, lo_q, axis=0)
    hi = np.quantile(a, hi_q, axis=0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    return np.clip(2.0 * (a - lo) / span - 1.0, -1.0, 1.0)


def episode_windows(
    actions: np.ndarray, episode_ends: np.ndarray, horizon: int, stride: int = 1
) -> np.ndarray:
    """All windows of ``horizon`` steps that stay inside one episode, every ``stride`` steps."""
    out = []
    for ep in np.split(actions, np.asarray(episode_ends)[:-1]):
        n = ep.shape[0]
        if n < horizon:
            continue
        starts = np.arange(0, n - horizon + 1, stride)
        idx = starts[:, None] + np.arange(horizon)[None, :]
        out.append(ep[idx])
    if not out:
        return np.zeros((0, horizon, actions.shape[1]))
    return np.concatenate(out)


# The real-data tests need ../shared/data. In CI (CI set) a missing folder or file is a test
# failure naming it: CI always has the data beside the clone, so its absence is a broken setup,
# not a reason to pass. A user's clone has no such folder, so locally the data's rules of use
# apply (skip cleanly, with a clear message), unless ACTOK_REQUIRE_SHARED_DATA=1 asks for the CI
# behaviour.
REQUIRE_SHARED_DATA_ENV = "ACTOK_REQUIRE_SHARED_DATA"


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def in_ci() -> bool:
    return _env_flag("CI")


def shared_data_required() -> bool:
    """Whether missing real data fails the tests (CI, or the developer asked) or skips them."""
    return in_ci() or _env_flag(REQUIRE_SHARED_DATA_ENV)


def missing_shared_data() -> list[Path]:
    """The expected real-data paths that do not exist (the folder alone if it is missing)."""
    if not SHARED_DATA.is_dir():
        return [SHARED_DATA]
    return [SHARED_DATA / f for f in REAL_FILES.values() if not (SHARED_DATA / f).is_file()]


def require_shared_data() -> Path:
    """``../shared/data`` with every file of ``REAL_FILES`` in it; if anything is missing, fail
    naming it (CI, or ACTOK_REQUIRE_SHARED_DATA=1), else skip naming it."""
    missing = missing_shared_data()
    if not missing:
        return SHARED_DATA
    names = ", ".join(map(str, missing))
    where = "It lives beside the project, in ../shared/data (not part of a clone)."
    if not shared_data_required():
        pytest.skip(
            f"real robot data missing ({names}); skipped outside CI. {where} "
            f"Set {REQUIRE_SHARED_DATA_ENV}=1 to make this a failure."
        )
    pytest.fail(f"real robot data missing: {names}. {where}", pytrace=False)


def require_module(name: str) -> Any:
    """``name``, imported; if it is not installed, fail in CI (the test extras install it, so
    its absence is a broken setup) and skip elsewhere, naming the extra that provides it."""
    try:
        return __import__("importlib").import_module(name)
    except ImportError as err:
        message = f"{name} is not installed ({err}): pip install 'actok[test]' provides it"
        if in_ci():
            pytest.fail(message, pytrace=False)
        # Also at module level (a test module that needs the extra throughout).
        pytest.skip(message + "; skipped outside CI", allow_module_level=True)


@lru_cache(maxsize=1)
def load_shared_data() -> dict[str, RealDataset] | None:
    """All real datasets; None only when data is missing and that is allowed (outside CI, see
    :func:`require_shared_data`; otherwise missing data fails the test that asked for it)."""
    if missing_shared_data() and not shared_data_required():
        return None
    require_shared_data()
    out = {}
    for name, fname in REAL_FILES.items():
        p = SHARED_DATA / fname
        with np.load(p) as z:
            out[name] = RealDataset(
                name=name,
                actions=np.array(z["actions"]),
                episode_ends=np.array(z["episode_ends"]),
                fps=int(round(float(z["fps"]))),
            )
    return out


@pytest.fixture(scope="session")
def shared_data() -> dict[str, RealDataset]:
    """Every real dataset of ``REAL_FILES`` (fails if one is missing, see
    :func:`require_shared_data`)."""
    require_shared_data()
    data = load_shared_data()
    assert data is not None and set(data) == set(REAL_FILES)
    return data


# --------------------------------------------------------------------------------------------
# Synthetic chunks
# --------------------------------------------------------------------------------------------
def random_chunks(
    rng: np.random.Generator, batch: int, horizon: int, dim: int, kind: str = "smooth"
) -> np.ndarray:
    """(batch, horizon, dim) float64 test chunks.

    kinds: ``smooth`` (sinusoid + random walk + a little noise, clipped to [-1, 1], like normalized
    actions), ``rough`` (uniform in [-1, 1]), ``wide`` (smooth times up to 4: unnormalized, often
    out of the tokenizer's range), ``tiny`` (close to zero: mostly zero coefficients).
    """
    t = np.arange(horizon)[None, :, None] / max(horizon, 1)
    if kind == "rough":
        return rng.uniform(-1.0, 1.0, (batch, horizon, dim))
    offset = rng.uniform(-1.0, 1.0, (batch, 1, dim))
    amp = rng.uniform(0.0, 1.0, (batch, 1, dim)) ** 2
    freq = rng.uniform(0.0, 3.0, (batch, 1, dim))
    phase = rng.uniform(0.0, 2 * np.pi, (batch, 1, dim))
    walk = np.cumsum(rng.normal(0.0, 0.05, (batch, horizon, dim)), axis=1)
    noise = rng.normal(0.0, 1.0, (batch, horizon, dim)) * rng.choice(
        [0.0, 0.005, 0.03], size=(batch, 1, 1)
    )
    x = offset + amp * np.sin(2 * np.pi * freq * t + phase) + walk + noise
    if kind == "smooth":
        return np.clip(x, -1.0, 1.0)
    if kind == "wide":
        return x * rng.uniform(1.0, 4.0, (batch, 1, 1))
    if kind == "tiny":
        return np.clip(x, -1.0, 1.0) * 0.02
    raise ValueError(kind)


def mixed_random_chunks(rng: np.random.Generator, batch: int, horizon: int, dim: int):
    """A batch mixing all kinds (mostly smooth), shuffled."""
    kinds = rng.choice(["smooth", "rough", "wide", "tiny"], size=batch, p=[0.6, 0.1, 0.2, 0.1])
    out = np.empty((batch, horizon, dim))
    for k in ("smooth", "rough", "wide", "tiny"):
        sel = kinds == k
        if sel.any():
            out[sel] = random_chunks(rng, int(sel.sum()), horizon, dim, k)
    return out


# --------------------------------------------------------------------------------------------
# Reference tokenizers
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TokSpec:
    name: str
    scale: float
    vocab_size: int
    min_token: int | None = None  # None: the real recipe (data min)
    alphabet_size: int | None = None
    outlier: int | None = None  # add one training coefficient this low (spec section 5 trap)
    note: str = ""


TOK_SPECS = [
    TokSpec("s10_v1024", 10, 1024, note="paper defaults, real recipe"),
    TokSpec("s50_v4096", 50, 4096, note="real recipe, alphabet > 324 (all byte symbols)"),
    TokSpec("s5_v256", 5, 256, note="real recipe, tiny alphabet"),
    TokSpec("fastplus", 10, 2048, min_token=-354, alphabet_size=709, note="zero -> U+0162"),
    TokSpec("digit0", 12.5, 1024, min_token=-48, alphabet_size=400, note="zero -> '0'"),
    TokSpec("letterA", 10, 512, min_token=-65, alphabet_size=128, note="zero -> 'A', trap"),
    TokSpec("trap", 10, 512, outlier=-150, note="real recipe; codes 1..32 missing from vocab"),
]
TOK_NAMES = [s.name for s in TOK_SPECS]


def _training_chunks(spec: TokSpec) -> list[np.ndarray]:
    rng = np.random.default_rng(1234)
    chunks: list[np.ndarray] = []
    for h, d, n in [(15, 8, 300), (10, 7, 200), (20, 6, 200), (8, 2, 200), (32, 3, 100)]:
        chunks.extend(random_chunks(rng, n, h, d, "smooth"))
    data = load_shared_data()
    if data is not None:
        for name, h, stride in [
            ("droid_joint_8d", 15, 30),
            ("droid_cart_6d", 15, 60),
            ("pusht_2d", 10, 20),
            ("bridge_7d", 5, 5),
            ("robosuite_lift_7d", 20, 20),
        ]:
            chunks.extend(data[name].windows(h, stride))
    if spec.outlier is not None:
        q = np.zeros((15, 8))
        q[3, 2] = spec.outlier
        chunks.append(chunk_from_q(q, spec.scale))
    return chunks


class TokCase:
    """One trained tokenizer directory with its reference and actok views."""

    def __init__(self, spec: TokSpec, path: Path, ref: Tokenizer, cfg: dict[str, Any]):
        self.spec = spec
        self.path = path
        self.ref = ref
        self.cfg = cfg
        self._actok: Any = None
        self._table: np.ndarray | None = None

    def __repr__(self) -> str:
        return f"TokCase({self.spec.name}: min_token={self.cfg['min_token']}, scale={self.scale})"

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def min_token(self) -> int:
        return int(self.cfg["min_token"])

    @property
    def scale(self) -> float:
        return self.cfg["scale"]

    @property
    def tok(self):
        """``actok.FastTokenizer`` loaded from the directory."""
        if self._actok is None:
            import actok

            self._actok = actok.FastTokenizer.from_pretrained(self.path)
        return self._actok

    @property
    def encodable(self) -> np.ndarray:
        """(0x110000,) bool table of code points the vocab can encode."""
        if self._table is None:
            self._table = encodable_table(self.ref)
        return self._table


@pytest.fixture(scope="session")
def tokenizer_dirs(tmp_path_factory) -> dict[str, Path]:
    """Every reference tokenizer of TOK_SPECS, trained once per session."""
    root = tmp_path_factory.mktemp("fast_tokenizers")
    out = {}
    for spec in TOK_SPECS:
        out[spec.name] = train_reference_tokenizer(
            _training_chunks(spec),
            spec.scale,
            spec.vocab_size,
            root / spec.name,
            min_token=spec.min_token,
            alphabet_size=spec.alphabet_size,
        )
    return out


@pytest.fixture(scope="session")
def tok_cases(tokenizer_dirs) -> dict[str, TokCase]:
    out = {}
    for spec in TOK_SPECS:
        path = tokenizer_dirs[spec.name]
        ref, cfg = load_reference(path)
        out[spec.name] = TokCase(spec=spec, path=path, ref=ref, cfg=cfg)
    return out


@pytest.fixture(scope="session", params=TOK_NAMES)
def tok_case(request, tok_cases) -> TokCase:
    """Parametrized over every reference tokenizer."""
    return tok_cases[request.param]


@pytest.fixture(scope="session")
def legacy_merges_dir(tokenizer_dirs, tmp_path_factory) -> Path:
    """The fastplus tokenizer rewritten with merges as ``"a b"`` strings (older writers)."""
    src = tokenizer_dirs["fastplus"]
    dst = tmp_path_factory.mktemp("legacy") / "fastplus_legacy"
    shutil.copytree(src, dst)
    tj = json.loads((dst / "tokenizer.json").read_text())
    merges = tj["model"]["merges"]
    assert merges and isinstance(merges[0], list)
    tj["model"]["merges"] = [f"{a} {b}" for a, b in merges]
    (dst / "tokenizer.json").write_text(json.dumps(tj, ensure_ascii=False))
    return dst


@pytest.fixture(scope="session")
def real_windows(shared_data) -> dict[str, np.ndarray]:
    """Normalized windows of real data at several horizons (needs ../shared/data)."""
    plans = [  # (dataset, H, stride): about 10,000 windows in all
        ("droid_joint_8d", 15, 17),
        ("droid_joint_8d", 30, 41),
        ("droid_cart_6d", 15, 19),
        ("droid_cart_6d", 8, 23),
        ("pusht_2d", 10, 9),
        ("pusht_2d", 50, 37),
        ("bridge_7d", 5, 1),
        ("bridge_7d", 10, 1),
        ("robosuite_wipe_6d", 20, 1),
        ("robosuite_lift_7d", 20, 3),
        ("robosuite_lift_7d", 1, 7),
    ]
    out = {}
    for name, h, stride in plans:
        w = shared_data[name].windows(h, stride)
        assert len(w), f"no window of {h} steps in {name}"
        out[f"{name}_H{h}"] = w
    return out


def spin_during(call) -> int:
    """How many Python-level loop iterations another thread completed while `call` ran (more
    than a few thousand: the GIL was released during the call)."""
    counter = [0]
    stop = threading.Event()
    started = threading.Event()

    def spin() -> None:
        started.set()
        while not stop.is_set():
            counter[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    started.wait()
    before = counter[0]
    call()
    during = counter[0] - before
    stop.set()
    t.join()
    return during
