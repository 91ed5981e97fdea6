"""The data-pipeline integrations are optional imports: ``import actok`` imports none of their
libraries, and a missing one is refused in one line naming the extra that installs it.

Each check runs in a fresh interpreter, so what the test process has imported already does not
count; a library is made missing with ``sys.modules[name] = None`` (how Python marks a module
unimportable), so the check needs no second environment.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# The libraries behind each integration (and the plotting extra's), none of which
# `import actok` may load.
HEAVY = ["torch", "datasets", "ray", "pyarrow", "matplotlib", "transformers", "pandas"]


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


def test_import_actok_imports_no_pipeline_library():
    code = (
        "import json, sys, actok, actok.integrations\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    proc = _run(code)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


@pytest.mark.parametrize(
    ("module", "missing", "extra"),
    [
        ("torch", "torch", "torch"),
        ("datasets", "datasets", "datasets"),
        ("ray", "ray", "ray"),
    ],
)
def test_missing_extra_is_one_line_naming_it(module, missing, extra):
    code = f"import sys; sys.modules[{missing!r}] = None\nimport actok.integrations.{module}\n"
    proc = _run(code)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last == (
        f"actok._extras.MissingExtra: actok.integrations.{module} needs {missing}, "
        f"which is not installed: pip install 'actok[{extra}]'"
    )
