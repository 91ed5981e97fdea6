"""``actok inspect --plot`` writes a readable PNG; ``import actok`` imports no optional extra."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import require_module

from actok._cli import main


def test_inspect_plot_writes_a_non_blank_png(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = require_module("matplotlib.image")
    tok = tmp_path / "tok"
    assert main(["fit", "-o", str(tok), "--vocab-size", "300", "--quiet"]) == 0
    capsys.readouterr()
    png = tmp_path / "report.png"
    args = ["inspect", str(tok), "--plot", str(png), "--sweep", "5", "10", "20", "--json"]
    assert main([*args, "--sweep-chunks", "300"]) == 0
    assert json.loads(capsys.readouterr().out)["plot"] == str(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = image.imread(png)
    assert pixels.shape[:2] == (900, 1500)
    rgb = pixels[..., :3].reshape(-1, 3)
    # Not blank: mostly white background, but lines, bars and text in several colours.
    assert (rgb.min(axis=1) < 0.5).mean() > 0.01
    assert len(np.unique((rgb * 8).astype(int), axis=0)) > 20


def test_import_actok_imports_no_optional_dependency() -> None:
    code = (
        "import sys, json, actok, actok._cli\n"
        "heavy = ['matplotlib', 'ray', 'pyarrow', 'torch']\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []
