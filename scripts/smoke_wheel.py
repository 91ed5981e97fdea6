"""Smoke test of an installed actok: what a user does first, on any platform a wheel is built for.

Run by scripts/build_wheels.sh (wheels in fresh environments without a Rust toolchain, and the
sdist) and by .github/workflows/release.yml on each wheel's own platform. Needs only the package
and its one dependency (numpy); run it from outside the source tree, so that `import actok` can only
find the installed package. Exits non-zero, with the failing check's message, on any failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import numpy as np

import actok


def check_installed_not_source() -> None:
    """The package imported is the installed one (not a source tree on sys.path)."""
    location = Path(actok.__file__).resolve()
    assert "site-packages" in location.parts, f"actok imported from {location}, not an install"
    print(f"actok {actok.__version__} from {location.parent}")


def check_fit_round_trip() -> None:
    """Fit a tiny tokenizer, encode, decode: the round trip is within quantization error."""
    steps = np.random.default_rng(0).normal(0, 0.05, (64, 10, 3))
    chunks = np.cumsum(steps, axis=1).clip(-1, 1)
    tok = actok.FastTokenizer.fit(chunks, scale=10, vocab_size=300)
    ids = tok.encode(chunks[:8])
    assert len(ids) == 8 and all(len(row) > 0 for row in ids), ids
    back = tok.decode(ids, time_horizon=10, action_dim=3)
    assert back.shape == (8, 10, 3), back.shape
    # Rounding to 1/scale per DCT coefficient: the reconstruction error stays small.
    error = float(np.abs(back - chunks[:8]).max())
    assert error < 0.2, f"round-trip error {error}"
    with tempfile.TemporaryDirectory() as tmp:
        tok.save_pretrained(tmp)
        again = actok.FastTokenizer.from_pretrained(tmp)
        assert again.encode(chunks[:8]) == ids, "a saved tokenizer encodes differently"
    print(f"fit, encode, decode: {sum(map(len, ids))} ids, max error {error:.3f}")


def check_bundled_tokenizer() -> None:
    """The tokenizer shipped inside the package loads and round-trips a chunk of its sample."""
    data = Path(actok.__file__).parent / "data"
    tok = actok.FastTokenizer.from_pretrained(data / "robosuite_fast")
    with np.load(data / "robosuite_lift_7d_20hz.npz") as sample:
        actions = sample["actions"]
    norm = (actions[:20] - actions.mean(0)) / (np.abs(actions).max(0) + 1e-9)
    ids = tok.encode(norm[None])
    back = tok.decode(ids, time_horizon=20, action_dim=actions.shape[1])
    assert back.shape == (1, 20, actions.shape[1]), back.shape
    print(f"bundled tokenizer: {len(ids[0])} ids for a 20x{actions.shape[1]} chunk")


def check_cli() -> None:
    """The `actok` console script is installed and runs."""
    name = "actok.exe" if os.name == "nt" else "actok"
    script = Path(sysconfig.get_path("scripts")) / name
    out = subprocess.run([str(script), "--help"], check=True, capture_output=True, text=True)
    assert "fit" in out.stdout, out.stdout
    print(f"{script} --help: ok")


def main() -> int:
    print(f"Python {sys.version.split()[0]} on {sysconfig.get_platform()}")
    check_installed_not_source()
    check_fit_round_trip()
    check_bundled_tokenizer()
    check_cli()
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
