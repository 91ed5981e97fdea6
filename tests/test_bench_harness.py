"""benches/harness.py writes its results only where told (``-o DIR``), never over the published
run in benches/results/ (tracked in git) unless ``--force``; refused before any measuring."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[1] / "benches" / "harness.py"
PUBLISHED = HARNESS.parent / "results"


@pytest.fixture(scope="module")
def harness():
    spec = importlib.util.spec_from_file_location("actok_bench_harness", HARNESS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_without_output_nothing_is_written(harness):
    assert harness.output_files(None, force=False) is None


def test_output_directory_gets_both_files(harness, tmp_path):
    out = tmp_path / "run"  # need not exist yet
    assert harness.output_files(out, force=False) == (out / "harness.json", out / "harness.md")


def test_existing_results_are_replaced_only_with_force(harness, tmp_path):
    (tmp_path / "harness.md").write_text("earlier run")
    with pytest.raises(SystemExit) as refused:
        harness.output_files(tmp_path, force=False)
    msg = str(refused.value.code)
    assert "harness.md" in msg and "--force" in msg and "benches/results/" in msg, msg
    assert harness.output_files(tmp_path, force=True) == (
        tmp_path / "harness.json",
        tmp_path / "harness.md",
    )
    assert (tmp_path / "harness.md").read_text() == "earlier run"


def test_the_published_run_is_refused_before_measuring(harness):
    """``-o benches/results`` without ``--force`` is refused, and the tracked files are intact."""
    before = {p.name: p.read_bytes() for p in PUBLISHED.iterdir()}
    assert {"harness.json", "harness.md"} <= before.keys()
    with pytest.raises(SystemExit) as refused:
        harness.main(["-o", str(PUBLISHED), "--quick"])
    assert "--force" in str(refused.value.code)
    assert {p.name: p.read_bytes() for p in PUBLISHED.iterdir()} == before


def test_the_published_sweep_is_refused_before_measuring(harness):
    """``--sweep-only`` writes sweep.json and sweep.md, and refuses the published ones too."""
    assert harness.output_files(PUBLISHED, True, harness.SWEEP_FILES) == (
        PUBLISHED / "sweep.json",
        PUBLISHED / "sweep.md",
    )
    before = {p.name: p.read_bytes() for p in PUBLISHED.iterdir()}
    assert {"sweep.json", "sweep.md"} <= before.keys()
    with pytest.raises(SystemExit) as refused:
        harness.main(["-o", str(PUBLISHED), "--sweep-only"])
    assert "--force" in str(refused.value.code)
    assert {p.name: p.read_bytes() for p in PUBLISHED.iterdir()} == before


def test_sweep_ratios_are_against_the_own_shape():
    """Each cell is compared with the same tokenizer on its fitted shape with smooth content."""
    sys.path.insert(0, str(HARNESS.parent))
    import sweep

    def cell(fitted, h, d, content, ns, ref):
        return {"fitted": fitted, "zero": "recipe", "H": h, "D": d, "content": content}, ns, ref

    rows = []
    for base, ns, ref in [
        cell("15x8", 15, 8, "smooth", 20.0, 400.0),
        cell("15x8", 160, 44, "zero", 10.0, 300.0),
        cell("15x8", 10, 2, "noisy", 40.0, 600.0),
    ]:
        rows.append(base | {"actok_ns_per_value": ns, "reference_ns_per_value": ref})
    sweep.add_ratios(rows)
    assert [r["vs_own"] for r in rows] == [1.0, 0.5, 2.0]
    assert [r["x_reference"] for r in rows] == [20.0, 30.0, 15.0]
