"""Every directory layout a FAST processor is found in loads, and actok's own resolves through
``AutoProcessor`` in transformers 4.x and 5.x (issue 15).

The fixtures under tests/fixtures/hf_layouts/ were written by each transformers release's own
``save_pretrained`` (scripts/make_hf_layout_fixtures.py says how), with a processor class
written from the spec (tests/hf_processor/), since the official one is not actok's to copy.
The AutoProcessor tests run that class under the transformers of the test environment (5.x)
and under 4.x from a second environment the test command makes (``ACTOK_TRANSFORMERS4_PYTHON``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import in_ci, require_module

import actok

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures" / "hf_layouts"
PROCESSOR = HERE / "hf_processor" / "processing_action_tokenizer.py"
TRANSFORMERS4_ENV = "ACTOK_TRANSFORMERS4_PYTHON"
LAYOUTS = sorted(p.name for p in FIXTURES.iterdir())


def _expected(layout: str) -> dict:
    return json.loads((FIXTURES / layout / "expected.json").read_text())


def test_both_transformers_layouts_are_fixtures():
    assert [name.split("-")[1].split(".")[0] for name in LAYOUTS] == ["4", "5"], LAYOUTS
    assert (FIXTURES / LAYOUTS[0] / "saved" / "tokenizer.json").is_file()
    assert not (FIXTURES / LAYOUTS[1] / "saved" / "tokenizer.json").exists()
    assert (FIXTURES / LAYOUTS[1] / "saved" / "bpe_tokenizer" / "tokenizer.json").is_file()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_layout_saved_by_transformers_gives_the_processor_ids(layout):
    expected = _expected(layout)
    tok = actok.FastTokenizer.from_pretrained(FIXTURES / layout / "saved")
    assert (tok.time_horizon, tok.action_dim) == (10, 3)
    assert tok.encode(np.array(expected["chunks"])) == expected["ids"]


def _saved(tmp_path: Path) -> Path:
    tok = actok.FastTokenizer.from_pretrained(FIXTURES / LAYOUTS[0] / "saved")
    out = tmp_path / "saved"
    tok.save_pretrained(out)
    return out


def test_save_writes_what_autoprocessor_needs_in_both_versions(tmp_path):
    out = _saved(tmp_path)
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == [
        "bpe_tokenizer/tokenizer.json",
        "bpe_tokenizer/tokenizer_config.json",
        "processor_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    config = json.loads((out / "processor_config.json").read_text())
    assert config["auto_map"] == {
        "AutoProcessor": "processing_action_tokenizer.UniversalActionProcessor"
    }
    assert config["processor_class"] == "UniversalActionProcessor"
    tokenizer_config = json.loads((out / "tokenizer_config.json").read_text())
    assert tokenizer_config["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert (out / "tokenizer.json").read_bytes() == (
        out / "bpe_tokenizer" / "tokenizer.json"
    ).read_bytes()


def test_save_keeps_an_auto_map_the_config_has(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(FIXTURES / LAYOUTS[0] / "saved", source)
    config = json.loads((source / "processor_config.json").read_text())
    remote = "physical-intelligence/fast--processing_action_tokenizer.UniversalActionProcessor"
    config["auto_map"] = {"AutoProcessor": remote}
    (source / "processor_config.json").write_text(json.dumps(config))
    actok.FastTokenizer.from_pretrained(source).save_pretrained(tmp_path / "out")
    saved = json.loads((tmp_path / "out" / "processor_config.json").read_text())
    assert saved["auto_map"] == {"AutoProcessor": remote}


# Every optional file present or absent: actok needs processor_config.json and one
# tokenizer.json, nothing else.
VARIANTS = {
    "as saved": [],
    "no auto_map": ["auto_map"],
    "no tokenizer_config": ["tokenizer_config.json", "bpe_tokenizer/tokenizer_config.json"],
    "only the top tokenizer (4.x)": ["bpe_tokenizer"],
    "only bpe_tokenizer/ (5.x)": ["tokenizer.json", "tokenizer_config.json"],
    "with special_tokens_map and the processor code": ["+special_tokens_map.json", "+code"],
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_actok_directory_loads_with_or_without_optional_files(tmp_path, variant):
    out = _saved(tmp_path)
    for change in VARIANTS[variant]:
        if change == "auto_map":
            config = json.loads((out / "processor_config.json").read_text())
            del config["auto_map"]
            (out / "processor_config.json").write_text(json.dumps(config))
        elif change == "+special_tokens_map.json":
            (out / "special_tokens_map.json").write_text("{}\n")
        elif change == "+code":
            # Present but never run: a processor file that would fail loudly if executed.
            (out / "processing_action_tokenizer.py").write_text("raise SystemExit(3)\n")
        elif (out / change).is_dir():
            shutil.rmtree(out / change)
        else:
            (out / change).unlink()
    expected = _expected(LAYOUTS[0])
    tok = actok.FastTokenizer.from_pretrained(out)
    assert tok.encode(np.array(expected["chunks"])) == expected["ids"]


def test_two_different_tokenizers_are_refused_naming_both(tmp_path):
    out = _saved(tmp_path)
    other = actok.FastTokenizer.from_pretrained(
        Path(actok.__file__).parent / "data" / "robosuite_fast"
    )
    (out / "bpe_tokenizer" / "tokenizer.json").write_text(other._inner.tokenizer_json())
    with pytest.raises(actok.LoadError, match="two different tokenizers") as err:
        actok.FastTokenizer.from_pretrained(out)
    assert "bpe_tokenizer" in str(err.value) and str(out / "tokenizer.json") in str(err.value)


def test_the_same_tokenizer_written_differently_in_both_places_loads(tmp_path):
    out = _saved(tmp_path)
    sub = out / "bpe_tokenizer" / "tokenizer.json"
    sub.write_text(json.dumps(json.loads(sub.read_text())))  # compact, same content
    expected = _expected(LAYOUTS[0])
    tok = actok.FastTokenizer.from_pretrained(out)
    assert tok.encode(np.array(expected["chunks"])) == expected["ids"]


def test_a_directory_without_any_tokenizer_names_both_places(tmp_path):
    out = _saved(tmp_path)
    (out / "tokenizer.json").unlink()
    shutil.rmtree(out / "bpe_tokenizer")
    with pytest.raises(actok.LoadError, match=r"no tokenizer\.json here nor in bpe_tokenizer/"):
        actok.FastTokenizer.from_pretrained(out)


def _interpreters() -> list:
    params = [pytest.param(sys.executable, id="transformers-test-env")]
    params.append(pytest.param(os.environ.get(TRANSFORMERS4_ENV), id="transformers-4"))
    return params


def _run_autoprocessor(python: str, directory: Path, tmp_path: Path):
    chunks = tmp_path / "chunks.json"
    chunks.write_text(json.dumps(_expected(LAYOUTS[0])["chunks"]))
    env = dict(
        os.environ,
        HF_HUB_OFFLINE="1",
        HF_HOME=str(tmp_path / "hf-home"),  # transformers caches the dynamic module here
        TRANSFORMERS_VERBOSITY="error",
    )
    return subprocess.run(
        [
            python,
            str(HERE / "hf_processor" / "check_autoprocessor.py"),
            str(directory),
            str(chunks),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("python", _interpreters())
def test_autoprocessor_resolves_an_actok_directory_to_its_auto_map_class(python, tmp_path):
    if python is None:
        message = f"{TRANSFORMERS4_ENV} names no interpreter with transformers 4.x"
        if in_ci():
            pytest.fail(message + " (the test command sets it)", pytrace=False)
        pytest.skip(message + "; skipped outside CI")
    if python == sys.executable:
        require_module("transformers")
    out = _saved(tmp_path)
    shutil.copy(PROCESSOR, out)  # the one step a user adds: the processor's .py beside the files
    result = _run_autoprocessor(python, out, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    if python != sys.executable:
        assert report["transformers"].startswith("4."), report
    else:
        assert report["transformers"].startswith("5."), report
    assert report["class"] == "UniversalActionProcessor"
    # Resolved through auto_map: transformers imported the class from the directory's .py.
    assert report["module"].startswith("transformers_modules."), report
    assert report["module"].endswith(".processing_action_tokenizer"), report
    assert report["ids"] == _expected(LAYOUTS[0])["ids"]


@pytest.mark.parametrize("python", _interpreters())
def test_autoprocessor_without_the_processor_code_fails_loudly(python, tmp_path):
    """Without the .py, auto_map makes AutoProcessor fail naming the file, rather than return
    a bare tokenizer (what transformers 5.x does without auto_map)."""
    if python is None:
        if in_ci():
            pytest.fail(f"{TRANSFORMERS4_ENV} is not set (the test command sets it)")
        pytest.skip(f"{TRANSFORMERS4_ENV} not set; skipped outside CI")
    if python == sys.executable:
        require_module("transformers")
    result = _run_autoprocessor(python, _saved(tmp_path), tmp_path)
    assert result.returncode != 0
    assert "processing_action_tokenizer.py" in result.stderr, result.stderr[-3000:]
