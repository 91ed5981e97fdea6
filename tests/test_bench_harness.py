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

    def cell(fitted, h, d, content, ns, ref, tokens):
        row = {"fitted": fitted, "zero": "recipe", "H": h, "D": d, "content": content}
        return row | {"tokens_per_chunk": tokens}, ns, ref

    rows = []
    for base, ns, ref in [
        cell("15x8", 15, 8, "smooth", 20.0, 400.0, 12.0),
        cell("15x8", 160, 44, "zero", 10.0, 300.0, 2.0),
        cell("15x8", 10, 2, "noisy", 40.0, 600.0, 6.0),
    ]:
        rows.append(base | {"actok_ns_per_value": ns, "reference_ns_per_value": ref})
    sweep.add_ratios(rows)
    assert [r["vs_own"] for r in rows] == [1.0, 0.5, 2.0]
    assert [r["x_reference"] for r in rows] == [20.0, 30.0, 15.0]
    # The diagnosis: the 10x2 cell emits 0.3 ids per value against own's 0.1, and costs
    # 40 * 20 / 6 ns per id against own's 20 * 120 / 12.
    noisy = rows[2]
    assert noisy["tokens_per_value_vs_own"] == pytest.approx(3.0)
    assert noisy["vs_own_per_token"] == pytest.approx((40 * 20 / 6) / (20 * 120 / 12))
    text = sweep.diagnosis(rows)
    assert text.startswith("1 of 3 cells are above 1.5× own per value. 1 of them emit more ids")
    assert "(3.00–3.00×:" in text and "cost 0.67–0.67× own's time per emitted id" in text
    assert "The others" not in text
    # A cell above 1.5x that emits fewer ids per value is named apart.
    rows[1] |= {"content": "smooth", "actok_ns_per_value": 40.0, "tokens_per_chunk": 352.0}
    sweep.add_ratios(rows)
    text = sweep.diagnosis(rows)
    assert text.startswith("2 of 3 cells are above 1.5× own per value. 1 of them")
    others = "The others emit fewer ids per value and cost more per id: 15x8 recipe 160x44 smooth"
    assert others in text
    assert "(0.50× the ids per value, 4.00× the time per id)" in text


def test_thread_speed_ups_come_from_the_paired_samples_and_name_the_ceiling(harness):
    """The targets' thread speed-up is the paired samples' (``benches/scaling.py``) when the
    row has them, with the two-process ceiling beside it; else the medians' ratio."""
    row = {"actok_1_us": 10.0, "actok_all_us": 8.0, "actok_1_numpy_us": 9.0}
    row["actok_all_numpy_us"] = 4.5
    assert harness.thread_scaling_text(row) == "1.2x / 2.0x"
    pair = {"median_ratio": 1.81, "fastest_ratio": 1.9}
    row["scaling"] = {"lists": pair, "numpy": pair | {"median_ratio": 1.95}}
    assert harness.thread_scaling_text(row) == "1.81x / 1.95x (fastest 1.90x / 1.90x)"
    row["ceiling"] = {"median_ratio": 1.97, "rounds": [1.97]}
    assert harness.thread_scaling_text(row).endswith("; two processes 1.97x")
