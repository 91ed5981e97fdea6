"""``actok inspect``: the raw round trip first, per dimension, the sweep's notes, and no-DATA runs.

Every figure is checked against a direct computation with the public API on the same chunks
(``tok.decode(tok.encode(x))``), on tokenizers fitted here on the bundled robosuite Lift sample or
on small synthetic data.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import numpy as np
import pytest

import actok
from actok import _inspect
from actok._cli import SAMPLE, main

# Unicode's White_Space property (PropList.txt); the GPT-2 split's \s.
WHITE_SPACE = {*range(0x9, 0xE), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B)}
WHITE_SPACE |= {0x2028, 0x2029, 0x202F, 0x205F, 0x3000}

LIFT_SWEEP = ["2.5", "5", "10", "20", "40"]


@pytest.fixture(scope="module")
def lift_tok(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tokenizer fitted by `actok fit` on the bundled sample with FAST's recipe (the quantile
    normalizer clips the tails: ``--out-of-range clip``), the case where clipping is reported."""
    out = tmp_path_factory.mktemp("inspect") / "lift"
    assert main(["fit", "-o", str(out), "--out-of-range", "clip", "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def lift_reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """FAST's recipe with the reference placement (min_token the smallest coefficient less the
    margin): the one whose sweep shows the non-monotone token counts zero's character causes."""
    out = tmp_path_factory.mktemp("inspect") / "lift_reference"
    args = ["fit", "-o", str(out), "--out-of-range", "clip", "--placement", "reference"]
    assert main([*args, "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def lift_keep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same with the defaults: the normalizer keeps the tails."""
    out = tmp_path_factory.mktemp("inspect") / "lift_keep"
    assert main(["fit", "-o", str(out), "--quiet"]) == 0
    return out


def _lift_chunks() -> np.ndarray:
    return actok.chunk_episodes(actok.read_episodes(SAMPLE).episodes, 20)


def _json_report(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["inspect", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _clipped_outside_quantiles(normalizer: actok.Normalizer, x: np.ndarray) -> np.ndarray:
    """What a quantile normalizer clips, from its fitted range alone (not from apply)."""
    assert normalizer.low is not None and normalizer.high is not None
    return np.count_nonzero((x < normalizer.low) | (x > normalizer.high), axis=(0, 1))


def test_headline_is_the_raw_round_trip(lift_tok: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = _json_report(capsys, str(lift_tok), "--sweep")
    tok = actok.FastTokenizer.from_pretrained(lift_tok)
    raw = _lift_chunks()
    with pytest.warns(actok.ClippingWarning) as record:
        ids = tok.encode(raw)
    err = tok.decode(ids, time_horizon=20, action_dim=7) - raw.astype(np.float64)
    rt = report["round_trip_raw"]
    assert rt["rmse"] == pytest.approx(np.sqrt(np.mean(err**2)), rel=1e-9)
    assert rt["max_abs"] == pytest.approx(np.max(np.abs(err)), rel=1e-12)
    # The quantile normalizer clips this sample's tails, so the round trip is far worse than the
    # tokenization alone: the figure the old report hid.
    assert rt["max_abs"] > 10 * report["error_normalized"]["max_abs"]

    assert tok.normalizer is not None
    clipped = _clipped_outside_quantiles(tok.normalizer, raw)
    assert clipped.sum() > 0
    assert report["out_of_range"]["values_clipped_by_normalizer"] == clipped.sum()
    assert record[0].message.counts == clipped.tolist()  # encode reports the same counts
    rows = report["per_dimension"]
    assert [row["dim"] for row in rows] == list(range(7))
    assert [row["name"] for row in rows] == actok.read_episodes(SAMPLE).dim_names
    np.testing.assert_array_equal([row["clipped"] for row in rows], clipped)
    np.testing.assert_array_equal([row["min"] for row in rows], raw.min(axis=(0, 1)))
    np.testing.assert_array_equal([row["max"] for row in rows], raw.max(axis=(0, 1)))
    np.testing.assert_allclose(
        [row["rmse"] for row in rows], np.sqrt(np.mean(err**2, axis=(0, 1))), rtol=1e-9
    )
    np.testing.assert_allclose(
        [row["max_abs"] for row in rows], np.max(np.abs(err), axis=(0, 1)), rtol=1e-12
    )

    assert main(["inspect", str(lift_tok), "--sweep"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"round trip (raw units)  RMSE {rt['rmse']:.5g}  max|err| ")
    assert "tokenizer.decode(tokenizer.encode(x)) vs x" in lines[1]
    assert f"{clipped.sum()} of {raw.size} values" in lines[2] and "clipped" in lines[2]
    head = lines.index("per dimension (raw units; min/max: the data's range):")
    assert lines[head + 1].split() == ["dim", "name", "min", "max", "RMSE", "max|err|", "clipped"]
    first = lines[head + 2].split()
    assert first[:2] == ["0", "a0"] and int(first[-1]) == clipped[0]
    assert float(first[5]) == pytest.approx(rows[0]["max_abs"], rel=1e-3)
    tokenization = next(i for i, line in enumerate(lines) if line.startswith("tokenization only"))
    assert tokenization > head + 8  # after the table
    assert "(normalized units)" in lines[tokenization]


def test_tokenization_only_figure_is_the_bare_tokenizer_on_normalized_data(
    lift_tok: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = _json_report(capsys, str(lift_tok), "--sweep")
    tok = actok.FastTokenizer.from_pretrained(lift_tok)
    assert tok.normalizer is not None
    with pytest.warns(actok.ClippingWarning):
        y = tok.normalizer.apply(_lift_chunks().astype(np.float64))
    bare = tok.with_normalizer(None)
    err = bare.decode(bare.encode(y), time_horizon=20, action_dim=7) - y
    assert report["error_normalized"]["rmse"] == pytest.approx(np.sqrt(np.mean(err**2)), rel=1e-9)
    assert report["error_normalized"]["max_abs"] == pytest.approx(np.max(np.abs(err)), rel=1e-9)
    assert "error_raw" not in report  # was tokenization-only in raw units, not a round trip


def test_without_a_normalizer_the_round_trip_is_the_tokenization(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(3)
    chunks = np.cumsum(rng.normal(0, 0.05, size=(200, 10, 3)), axis=1)
    tok = actok.FastTokenizer.fit(chunks, scale=10, vocab_size=300)
    tok.save_pretrained(tmp_path / "tok")
    np.save(tmp_path / "data.npy", chunks)
    argv = [str(tmp_path / "tok"), str(tmp_path / "data.npy"), "--pad", "drop", "--sweep"]
    report = _json_report(capsys, *argv)
    assert report["normalizer"] is None and report["chunks"] == 200
    err = tok.decode(tok.encode(chunks), time_horizon=10, action_dim=3) - chunks
    assert report["round_trip_raw"]["max_abs"] == pytest.approx(np.max(np.abs(err)), rel=1e-12)
    assert report["round_trip_raw"] == pytest.approx(report["error_normalized"], rel=1e-12)
    assert [row["clipped"] for row in report["per_dimension"]] == [0, 0, 0]
    assert all("name" not in row for row in report["per_dimension"])

    assert main(["inspect", *argv]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "no normalizer" in lines[1] and lines[2] == ""
    head = lines.index("per dimension (raw units; min/max: the data's range):")
    assert lines[head + 1].split() == ["dim", "min", "max", "RMSE", "max|err|"]  # no clip column


def test_bundled_tokenizer_on_the_bundled_sample(capsys: pytest.CaptureFixture[str]) -> None:
    bundled = Path(actok.__file__).parent / "data" / "robosuite_fast"  # no normalizer, no D
    report = _json_report(capsys, str(bundled), "--sweep")
    assert report["data_is_sample"] is True and report["normalizer"] is None
    tok = actok.FastTokenizer.from_pretrained(bundled)
    raw = _lift_chunks()
    err = tok.decode(tok.encode(raw), time_horizon=20, action_dim=7) - raw
    assert report["round_trip_raw"]["rmse"] == pytest.approx(np.sqrt(np.mean(err**2)), rel=1e-9)
    assert report["round_trip_raw"]["max_abs"] == pytest.approx(np.max(np.abs(err)), rel=1e-12)
    assert main(["inspect", str(bundled), "--sweep"]) == 0
    out = capsys.readouterr().out
    assert "tokenization only" in out and "(raw units: no normalizer)" in out


def test_batches_add_up_to_the_whole(
    lift_tok: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = _json_report(capsys, str(lift_tok), "--sweep")
    # 7 chunks of 20x7 per batch: 198 batches, the last one short.
    monkeypatch.setattr(_inspect, "BATCH_VALUES", 7 * 140 + 5)
    batched = _json_report(capsys, str(lift_tok), "--sweep")
    for key in ("round_trip_raw", "error_normalized"):
        assert batched[key]["rmse"] == pytest.approx(whole[key]["rmse"], rel=1e-9)
        assert batched[key]["max_abs"] == whole[key]["max_abs"]
    assert batched["tokens"] == whole["tokens"]
    assert batched["out_of_range"] == whole["out_of_range"]
    for a, b in zip(batched["per_dimension"], whole["per_dimension"]):
        assert a.pop("name") == b.pop("name")
        assert a == pytest.approx(b, rel=1e-9)


def test_an_error_in_a_later_batch_says_how_to_number_its_chunk(
    lift_tok: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chunks = _lift_chunks()[:12].copy()
    chunks[10, 3, 2] = np.nan
    np.save(tmp_path / "nan.npy", chunks)
    monkeypatch.setattr(_inspect, "BATCH_VALUES", 4 * 140)  # batches of 4 chunks
    argv = ["inspect", str(lift_tok), str(tmp_path / "nan.npy"), "--pad", "drop", "--sweep"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("actok: error:") and err.count("\n") == 1
    # Chunk 10 is chunk 2 of the batch starting at 8.
    assert "chunk 2" in err and "NaN" in err and "add 8 to the chunk number" in err


def _gpt2_class(codepoint: int) -> str:
    category = unicodedata.category(chr(codepoint))
    if category.startswith("L"):
        return "letter"
    if category.startswith("N"):
        return "number"
    return "whitespace" if codepoint in WHITE_SPACE else "other"


def test_keep_policy_round_trip_stays_within_the_quantization_bound(
    lift_keep: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the default policy nothing is clipped: the tails are counted as kept, and the raw
    round trip is the tokenization error scaled back (<= 0.5/scale * sqrt(H) normalized, times
    each dimension's half range)."""
    report = _json_report(capsys, str(lift_keep), "--sweep")
    tok = actok.FastTokenizer.from_pretrained(lift_keep)
    norm = tok.normalizer
    assert norm is not None and norm.out_of_range == "keep"
    raw = _lift_chunks()
    outside = _clipped_outside_quantiles(norm, raw)
    oor = report["out_of_range"]
    assert oor["normalizer_policy"] == "keep" and oor["values_clipped_by_normalizer"] == 0
    assert oor["values_outside_fitted_range"] == outside.sum() > 0
    half_range = (norm.high - norm.low) / 2
    bound = 0.5 / tok.scale * np.sqrt(20) * half_range + 1e-9
    per_dim = np.array([row["max_abs"] for row in report["per_dimension"]])
    assert (per_dim <= bound).all(), (per_dim, bound)
    assert main(["inspect", str(lift_keep), "--sweep"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"{outside.sum()} of {raw.size} values" in lines[2] and "kept" in lines[2], lines[2]
    assert "out_of_range=keep" in "\n".join(lines)
    head = lines.index("per dimension (raw units; min/max: the data's range):")
    assert lines[head + 1].split()[-1] == "outside"


def test_sweep_records_zero_character_and_explains_only_true_cases(
    lift_reference: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = _json_report(capsys, str(lift_reference), "--sweep", *LIFT_SWEEP)
    tok = actok.FastTokenizer.from_pretrained(lift_reference)
    assert tok.normalizer is not None
    with pytest.warns(actok.ClippingWarning):  # FAST's recipe clips the tails, and says so
        sample = tok.normalizer.apply(_lift_chunks().astype(np.float64))  # 1384 chunks: all used
    rows = report["sweep"]
    for row in rows:
        assert row["placement"] == "reference"  # the tokenizer's own
        fitted = actok.FastTokenizer.fit(
            sample, scale=row["scale"], vocab_size=1024, placement="reference"
        )
        assert row["min_token"] == fitted.min_token
        assert row["zero_codepoint"] == -fitted.min_token
        assert row["zero_class"] == _gpt2_class(row["zero_codepoint"])

    fewer = [(a, b) for a, b in zip(rows, rows[1:]) if b["mean_tokens"] < a["mean_tokens"]]
    steps = report["sweep_non_monotone"]
    assert [(s["from_scale"], s["to_scale"]) for s in steps] == [
        (a["scale"], b["scale"]) for a, b in fewer
    ]
    changed = [a["zero_class"] != b["zero_class"] for a, b in fewer]
    assert [s["zero_class_changed"] for s in steps] == changed
    # This sample has both kinds: 2.5 -> 5 (zero stays "other") and 10 -> 20 (number -> letter).
    assert True in changed and False in changed

    assert main(["inspect", str(lift_reference), "--sweep", *LIFT_SWEEP]) == 0
    out = capsys.readouterr().out
    notes = out[out.index("note: ") :].split("note: ")[1:]
    assert len(notes) == len(fewer)
    for note, (a, b), blamed in zip(notes, fewer, changed):
        assert note.startswith(f"scale {a['scale']:g} -> {b['scale']:g} gives fewer tokens")
        assert ("chr(0 - min_token)" in note) == blamed
        assert ("not the cause" in note) == (not blamed)
        if blamed:
            assert f"U+{a['zero_codepoint']:04X} ({a['zero_class']})" in " ".join(note.split())


def test_the_placement_chosen_from_data_makes_the_sweep_monotone(
    lift_tok: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Lift's non-monotone counts above come from zero's character: with placement="auto" (the
    default, and what the sweep then fits with) each scale gets its placement, and tokens grow
    with the scale."""
    report = _json_report(capsys, str(lift_tok), "--sweep", *LIFT_SWEEP)
    rows = report["sweep"]
    assert all(row["placement"] == "auto" for row in rows)
    assert report["sweep_non_monotone"] == []
    tokens = [row["mean_tokens"] for row in rows]
    assert tokens == sorted(tokens)


def test_sweep_without_fewer_tokens_has_no_note() -> None:
    rows = [
        {"scale": s, "mean_tokens": t, "zero_class": c}
        for s, t, c in [(5, 8.0, "other"), (10, 8.0, "letter"), (20, 9.5, "number")]
    ]
    assert _inspect._non_monotone(rows) == []  # equal or more tokens: monotone, whatever the class


def test_no_data_says_it_uses_the_bundled_sample(
    lift_tok: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = _json_report(capsys, str(lift_tok), "--sweep")
    assert report["data_is_sample"] is True and report["data"] == str(SAMPLE)
    assert main(["inspect", str(lift_tok), "--sweep"]) == 0
    data_line = next(
        line for line in capsys.readouterr().out.splitlines() if line.startswith("data")
    )
    assert "no DATA given: the bundled sample" in data_line
    given = _json_report(capsys, str(lift_tok), str(SAMPLE), "--sweep")
    assert given["data_is_sample"] is False


@pytest.mark.parametrize(
    ("horizon", "dim", "shape"),
    [(30, 26, "30x26"), (600, 7, "600x7")],
    ids=["other dimensions", "longer than the sample's episodes"],
)
def test_no_data_refuses_shapes_the_sample_cannot_provide(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], horizon: int, dim: int, shape: str
) -> None:
    rng = np.random.default_rng(1)
    chunks = np.cumsum(rng.normal(0, 0.05, size=(8, horizon, dim)), axis=1)
    actok.FastTokenizer.fit(chunks, vocab_size=300, normalizer="minmax").save_pretrained(
        tmp_path / "tok"
    )
    assert main(["inspect", str(tmp_path / "tok")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("actok: error: no DATA given") and err.count("\n") == 1
    assert shape in err and "7-D episodes of at most" in err
    assert f"actok inspect {tmp_path / 'tok'} DATA" in err
