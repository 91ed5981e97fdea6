"""Writes tests/fixtures/hf_layouts/transformers-<version>/: the directory that
``UniversalActionProcessor.save_pretrained`` writes under the installed transformers.

The processor is tests/hf_processor/processing_action_tokenizer.py (written from the spec; the
official file is not actok's to copy), built around a tokenizer trained with the reference
recipe (tests/fast_reference.py). Beside the saved directory, ``expected.json`` holds a few
chunks and the ids that processor gives them, which the layout tests compare with actok's.

Each layout comes from its own transformers release, installed in a throwaway environment::

    python3 -m venv /tmp/tf4 && /tmp/tf4/bin/pip install "transformers==4.57.*" numpy scipy
    /tmp/tf4/bin/python scripts/make_hf_layout_fixtures.py
    python3 -m venv /tmp/tf5 && /tmp/tf5/bin/pip install "transformers==5.25.*" numpy scipy
    /tmp/tf5/bin/python scripts/make_hf_layout_fixtures.py
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "hf_processor")]

import transformers  # noqa: E402
from fast_reference import train_reference_tokenizer  # noqa: E402
from processing_action_tokenizer import UniversalActionProcessor  # noqa: E402
from transformers import PreTrainedTokenizerFast  # noqa: E402

H, D = 10, 3


def chunks(n: int, seed: int) -> np.ndarray:
    """Smooth random walks in [-1, 1], like normalized teleoperation."""
    steps = np.random.default_rng(seed).normal(0, 0.08, (n, H, D))
    return np.cumsum(steps, axis=1).clip(-1, 1)


def main() -> None:
    version = transformers.__version__
    out = ROOT / "tests" / "fixtures" / "hf_layouts" / f"transformers-{version}"
    shutil.rmtree(out, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        trained = train_reference_tokenizer(
            chunks(300, seed=1), scale=10, vocab_size=320, out_dir=tmp, time_horizon=H, action_dim=D
        )
        config = json.loads((trained / "processor_config.json").read_text())
        tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(trained / "tokenizer.json"))
    processor = UniversalActionProcessor(
        tokenizer,
        scale=config["scale"],
        vocab_size=config["vocab_size"],
        min_token=config["min_token"],
        time_horizon=H,
        action_dim=D,
    )
    processor.save_pretrained(out / "saved")
    test_chunks = chunks(4, seed=2)
    expected = {
        "transformers": version,
        "chunks": test_chunks.tolist(),
        "ids": processor(test_chunks),
    }
    (out / "expected.json").write_text(json.dumps(expected) + "\n")
    for path in sorted(out.rglob("*")):
        print(path.relative_to(out))


if __name__ == "__main__":
    main()
