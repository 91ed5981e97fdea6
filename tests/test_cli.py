"""The ``actok`` command line, run in-process and as the installed console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from terminal import stderr_on_a_terminal

import actok
from actok._cli import main

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SAMPLE_NAME = "robosuite_lift_7d_20hz.npz"


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "tok"
    assert main(["fit", "-o", str(out), "--vocab-size", "512", "--quiet"]) == 0
    return out


def test_fit_on_embedded_sample_writes_a_loadable_tokenizer(fitted: Path) -> None:
    names = sorted(p.name for p in fitted.iterdir())
    assert names == [
        "actok_normalizer.json",
        "bpe_tokenizer",  # transformers 5.x's place for the tokenizer files
        "processor_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    tok = actok.FastTokenizer.from_pretrained(fitted)
    assert tok.time_horizon == 20  # 1 second of the 20 Hz sample
    assert tok.action_dim == 7
    assert tok.normalizer is not None and tok.normalizer.kind == "quantile"
    # The HF files alone still describe a FAST tokenizer the `tokenizers` library can read.
    tokenizers = pytest.importorskip("tokenizers")
    assert tokenizers.Tokenizer.from_file(str(fitted / "tokenizer.json")).get_vocab_size() > 0


def test_inspect_json_report(fitted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(fitted), "--json", "--sweep", "5", "10"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["horizon"] == 20 and report["action_dim"] == 7
    assert report["naive_tokens"] == 140
    t = report["tokens"]
    assert 0 < t["mean"] <= t["max"] and t["p50"] <= t["p99"] <= t["max"]
    assert report["compression"] == pytest.approx(140 / t["mean"])
    # Lossless vocabulary and data it was fitted on: nothing out of range, error within the
    # quantization bound (each coefficient off by <= 0.5/scale; the orthonormal IDCT keeps norms).
    assert report["out_of_range"]["chunks_with_unrepresentable_coefficients"] == 0
    bound = 0.5 / report["scale"] * np.sqrt(20)
    assert report["error_normalized"]["max_abs"] <= bound
    assert [row["scale"] for row in report["sweep"]] == [5.0, 10.0]
    coarse, fine = report["sweep"]
    assert coarse["mean_tokens"] < fine["mean_tokens"]
    assert coarse["rmse"] > fine["rmse"]


def test_inspect_text_report(fitted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(fitted), "--sweep"]) == 0
    out = capsys.readouterr().out
    assert "tokens per chunk" in out and "naive binning" in out and "RMSE" in out
    assert "scale sweep" not in out


def test_encode_decode_files_round_trip(fitted: Path, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.npz"
    assert main(["encode", str(fitted), str(_sample()), "-o", str(tokens)]) == 0
    with np.load(tokens) as z:
        ids, offsets = z["ids"], z["offsets"]
        assert int(z["time_horizon"]) == 20 and int(z["action_dim"]) == 7
    assert ids.dtype == np.int32 and offsets[0] == 0 and offsets[-1] == len(ids)

    out = tmp_path / "actions.npy"
    assert main(["decode", str(fitted), str(tokens), "-o", str(out)]) == 0
    decoded = np.load(out)
    tok = actok.FastTokenizer.from_pretrained(fitted)
    episodes = actok.read_episodes(_sample()).episodes
    chunks = actok.chunk_episodes(episodes, 20)
    assert decoded.shape == chunks.shape
    expected = tok.decode(tok.encode(chunks), time_horizon=20, action_dim=7)
    np.testing.assert_array_equal(decoded, expected)


def test_encode_ready_made_chunks(fitted: Path, tmp_path: Path) -> None:
    # Chunks of the data the tokenizer was fitted on: random values would be refused by its
    # normalizer (dimensions 3 and 4 of the sample are constant).
    episodes = actok.read_episodes(Path(actok.__file__).parent / "data" / SAMPLE_NAME)
    chunks = actok.chunk_episodes(episodes, 20)[:5]
    src = tmp_path / "chunks.npy"
    np.save(src, chunks)
    tokens = tmp_path / "t.npz"
    assert main(["encode", str(fitted), str(src), "--chunks", "-o", str(tokens)]) == 0
    with np.load(tokens) as z:
        assert len(z["offsets"]) == 6


def test_errors_are_one_line_with_status_2(
    fitted: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fit", str(tmp_path / "missing.npz"), "-o", str(tmp_path / "x")]) == 2
    assert "missing.npz" in capsys.readouterr().err

    no_fps = tmp_path / "a.npy"
    np.save(no_fps, np.zeros((30, 2)))
    assert main(["fit", str(no_fps), "-o", str(tmp_path / "y"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("actok: error:") and "--horizon" in err

    bad = tmp_path / "bad.npz"
    np.savez(bad, ids=np.array([1, 2], dtype=np.int32), offsets=np.array([0, 5]))
    assert main(["decode", str(fitted), str(bad), "-o", str(tmp_path / "o.npy")]) == 2
    assert "not a token file" in capsys.readouterr().err

    assert main(["encode", str(fitted), str(no_fps), "--chunks", "-o", str(tmp_path / "z")]) == 2
    assert "(N, H, D)" in capsys.readouterr().err


def test_malformed_sequences_follow_on_error(fitted: Path, tmp_path: Path) -> None:
    tokens = tmp_path / "t.npz"
    np.savez(
        tokens,
        ids=np.array([10**6], dtype=np.int32),
        offsets=np.array([0, 1]),
        time_horizon=np.int64(20),
        action_dim=np.int64(7),
    )
    out = tmp_path / "o.npy"
    assert main(["decode", str(fitted), str(tokens), "-o", str(out)]) == 2
    assert not out.exists()
    assert main(["decode", str(fitted), str(tokens), "-o", str(out), "--on-error", "zeros"]) == 0
    assert np.load(out).shape == (1, 20, 7)


def test_decode_with_another_tokenizer_names_the_token_file(
    fitted: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ids of a 3-D tokenizer decoded with the 7-D one: one line saying the shape came from the
    token file, what the tokenizer's normalizer is for, and the likely cause."""
    rng = np.random.default_rng(1)
    data = tmp_path / "d3.npz"
    np.savez(data, actions=np.cumsum(rng.normal(0, 0.1, (400, 3)), axis=0), fps=np.float64(20))
    other = tmp_path / "tok3"
    assert main(["fit", str(data), "-o", str(other), "--vocab-size", "300", "--quiet"]) == 0
    tokens = tmp_path / "ids3.npz"
    assert main(["encode", str(other), str(data), "-o", str(tokens)]) == 0
    capsys.readouterr()
    assert main(["decode", str(fitted), str(tokens), "-o", str(tmp_path / "o.npy")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("actok: error:"), err
    for words in (
        "chunks of 20x3, from the token file",
        "cannot decode to action_dim=3",
        "normalizer is for 7-dimensional actions",
        "another tokenizer",
    ):
        assert words in err, err
    assert "actions have" not in err, err
    assert err.count("another tokenizer") == 1, err

    # The other way round, without a normalizer to disagree: the ids fail to decode, and the
    # message names the tokenizer's own chunk shape beside the file's.
    plain = tmp_path / "tok3-plain"
    main(["fit", str(data), "-o", str(plain), "--normalize", "none", "--vocab-size", "300"])
    tokens7 = tmp_path / "ids7.npz"
    assert main(["encode", str(fitted), str(_sample()), "-o", str(tokens7)]) == 0
    capsys.readouterr()
    assert main(["decode", str(plain), str(tokens7), "-o", str(tmp_path / "o.npy")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot decode chunk 0" in err, err
    for words in ("chunks of 20x7, from the token file", "fitted on chunks of 20x3"):
        assert words in err, err
    assert "another tokenizer?" in err, err


def test_fit_refuses_a_non_empty_directory_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tok"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    args = ["fit", "-o", str(out), "--vocab-size", "300", "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "exists and is not empty" in err and "--force" in err, err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]  # nothing written
    # --force writes the tokenizer beside the file that was there
    assert main([*args, "--force"]) == 0
    assert (out / "notes.txt").read_text() == "mine"
    assert actok.FastTokenizer.from_pretrained(out).vocab_size == 300
    # an empty existing directory needs no --force
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["fit", "-o", str(empty), "--vocab-size", "300", "--quiet"]) == 0


def test_outputs_are_written_exactly_where_named(
    fitted: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``-o NAME`` without a suffix: the file is NAME (numpy would have written NAME.npy or
    NAME.npz), and the report names the file that exists."""
    tokens, actions = tmp_path / "ids", tmp_path / "actions"
    assert main(["encode", str(fitted), str(_sample()), "-o", str(tokens)]) == 0
    assert main(["decode", str(fitted), str(tokens), "-o", str(actions)]) == 0
    out = capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["actions", "ids"]
    assert f"into {tokens}\n" in out and f"into {actions}\n" in out, out
    assert np.load(actions).shape == (len(np.load(tokens)["offsets"]) - 1, 20, 7)


def test_progress_bar_only_on_a_terminal(tmp_path: Path) -> None:
    """``actok fit`` draws its bar when stderr is a terminal (a pseudo-terminal here) and writes
    nothing to stderr when it is a pipe or a file."""
    script = str(Path(sys.executable).parent / "actok")
    args = [script, "fit", "--vocab-size", "300", "-o"]
    piped = subprocess.run([*args, str(tmp_path / "a")], capture_output=True, text=True)
    assert piped.returncode == 0 and piped.stderr == "", piped.stderr

    seen = stderr_on_a_terminal([*args, str(tmp_path / "b")])
    assert b"actok fit merges" in seen, seen[:300]


def test_normalize_takes_the_python_kinds_and_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--normalize`` takes Python's kind names, and ``none`` for ``normalizer=None``; a bad
    value is refused listing every accepted name, ``none`` included."""
    for name, kind in (("identity", "identity"), ("minmax", "minmax"), ("none", None)):
        out = tmp_path / name
        args = ["fit", "-o", str(out), "--normalize", name, "--vocab-size", "300", "--quiet"]
        assert main(args) == 0
        norm = actok.FastTokenizer.from_pretrained(out).normalizer
        assert (norm and norm.kind) == kind
    with pytest.raises(SystemExit) as exit_:
        main(["fit", "-o", str(tmp_path / "x"), "--normalize", "bogus"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    for name in ("quantile", "meanstd", "minmax", "identity", "none", '"bogus"'):
        assert name in err.split("--normalize: must be", 1)[1], err


def test_stdout_closed_early_is_not_an_error(tmp_path: Path) -> None:
    """``actok ... | head``: when the reader has gone, no "actok: error: Broken pipe" line and
    no "Exception ignored" from the exit flush."""
    script = str(Path(sys.executable).parent / "actok")
    args = [script, "fit", "-o", str(tmp_path / "t"), "--vocab-size", "300", "--quiet"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # no reader left before the command prints anything
    err = proc.stderr.read().decode()
    assert proc.wait(120) == 1
    assert err == "", err


def test_console_script_is_installed() -> None:
    # pip puts the `actok` entry point next to the interpreter it installs into.
    script = Path(sys.executable).parent / "actok"
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == f"actok {actok.__version__}"


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "actok", "--help"], capture_output=True, text=True, check=True
    )
    assert "fit" in done.stdout and "inspect" in done.stdout


def _sample() -> Path:
    return Path(actok.__file__).resolve().parent / "data" / "robosuite_lift_7d_20hz.npz"


def test_threads_zero_means_the_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--threads 0`` is documented as actok's default; it used to reach the core's
    ``set_num_threads(0)`` outside the error handler and end in a traceback."""
    actok.set_num_threads(None)
    default = actok.get_num_threads()
    try:
        actok.set_num_threads(1)
        out = tmp_path / "tok"
        assert (
            main(["--threads", "0", "fit", "-o", str(out), "--vocab-size", "512", "--quiet"]) == 0
        )
        assert actok.get_num_threads() == default
        assert (out / "tokenizer.json").is_file()
        with pytest.raises(SystemExit) as exit_:
            main(["--threads", "-1", "fit", "-o", str(tmp_path / "x")])
        assert exit_.value.code == 2
        assert "--threads must be >= 0" in capsys.readouterr().err
    finally:
        actok.set_num_threads(None)
