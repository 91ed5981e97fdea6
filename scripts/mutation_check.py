#!/usr/bin/env python3
"""Apply deliberate bugs to the Rust core and check that the tests catch each one.

Usage (from anywhere; takes a few minutes per mutation, it rebuilds each time)::

    python3 scripts/mutation_check.py --venv .venv-test [--only NAME ...] [--list]

``--venv`` is a virtual environment with the test extras installed (``scripts/test_all.sh``
makes one); the extension is rebuilt with ``maturin build --release`` and force-installed into it
for every pytest check, and the unmutated build is reinstalled at the end.

Each mutation finds its code by an exact snippet searched in every ``.rs`` file under
``rust/actok/src`` (so it survives files moving between folders); a snippet found in no file or
in several places stops the script with an error, as does a mutated build that does not compile.
The tests are first run unmutated (they must pass), then, per mutation: the snippet is replaced,
the test command runs and must FAIL, and the file is restored (always, even on Ctrl-C), as are
the proptest regression files a failing cargo run writes. The checks are deterministic tests (no
hypothesis search, whose example database would replay an earlier mutant's failure).

Encode and fit quantize through one per-chunk pipeline (``fast/pipeline.rs``), so there is one
rounding site: "rounding mode in encode" and "rounding mode in fit" are the same mutation, judged
once by the encode parity tests alone and once by the fit parity tests alone.

Prints a table (mutation, file:line, test command, caught) and exits non-zero if any mutation
survives or a check could not run. Not part of the CI test command (it rebuilds several times).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "rust" / "actok" / "src"


@dataclass(frozen=True)
class Mutation:
    name: str
    what: str
    snippet: str
    replacement: str
    # ("cargo", [args...]) runs in the repository; ("pytest", [args...]) runs in tests/ against the
    # rebuilt, installed wheel.
    check: tuple[str, tuple[str, ...]]


MUTATIONS = [
    Mutation(
        "clip-tie-side",
        "on_overflow='clip': ties go to the LARGER magnitude (documented: smaller)",
        "self.code.quantized(cp).abs() < self.code.quantized(b).abs())",
        "self.code.quantized(cp).abs() > self.code.quantized(b).abs())",
        ("pytest", ("test_encode_parity.py", "-k", "clip")),
    ),
    Mutation(
        "rounding-shared/cargo",
        "round_half_even rounds half away from zero (encode and fit share it)",
        "(x + MAGIC) - MAGIC",
        "x.round()",
        ("cargo", ("quantize::",)),
    ),
    Mutation(
        "rounding-shared/encode",
        "round_half_even rounds half away from zero; encode parity on exact ties",
        "(x + MAGIC) - MAGIC",
        "x.round()",
        ("pytest", ("test_encode_parity.py", "-k", "round_half_even_ties or binary_step")),
    ),
    Mutation(
        "rounding-shared/fit",
        "round_half_even rounds half away from zero; fit parity alone",
        "(x + MAGIC) - MAGIC",
        "x.round()",
        ("pytest", ("test_fit_parity.py", "-k", "exact_rounding_ties_fixed_corpora")),
    ),
    Mutation(
        "char-class-low-range",
        "ASCII letters' range ends one code point late (U+005B '[' a letter)",
        "(0x0041, 0x005A, CharClass::Letter),",
        "(0x0041, 0x005B, CharClass::Letter),",
        ("pytest", ("test_pretokenize.py", "-k", "boundary")),
    ),
    Mutation(
        "char-class-high-range",
        "CJK/Yi letter range ends one code point late (U+A48D, unassigned, a letter)",
        "(0x4E00, 0xA48C, CharClass::Letter),",
        "(0x4E00, 0xA48D, CharClass::Letter),",
        ("pytest", ("test_pretokenize.py", "-k", "boundary")),
    ),
    Mutation(
        "char-class-lookup",
        "range lookup above U+0800 misses the first code point of every range",
        "Some(&(first, _, class)) if first <= cp => class,",
        "Some(&(first, _, class)) if first < cp => class,",
        ("pytest", ("test_pretokenize.py", "-k", "boundary")),
    ),
    Mutation(
        "runs-odd-run",
        "run merge loop: an odd run of a self-merging symbol loses its last unit",
        "let odd = run.count % 2 == 1;",
        "let odd = false;",
        ("cargo", ("bpe::",)),
    ),
    Mutation(
        "runs-pair-of-two",
        "run merge loop: a run of exactly two equal symbols never merges inside",
        "if a != b || run.count < 2 {",
        "if a != b || run.count < 3 {",
        ("cargo", ("bpe::",)),
    ),
    Mutation(
        "far-rule-off",
        "no value is ever 'far' from the normalizer's fitting data (degrees pass as radians)",
        "far: (seen_d.0 - span, seen_d.1 + span),",
        "far: (f64::NEG_INFINITY, f64::INFINITY),",
        ("pytest", ("test_out_of_range.py", "-k", "degrees")),
    ),
    Mutation(
        "encode-clip-count",
        "encode clips under out_of_range='clip' without counting",
        "clipped[d] += 1;",
        "clipped[d] += 0;",
        ("pytest", ("test_out_of_range.py", "-k", "clip")),
    ),
    Mutation(
        "apply-clip-count",
        "Normalizer.apply clips without counting",
        "clipped[d] += u64::from(was_clipped);",
        "clipped[d] += 0;",
        ("pytest", ("test_normalizer.py", "-k", "documented_formula")),
    ),
    Mutation(
        "constraint-utf8-e0",
        "constraint: after E0 the next byte may be 80..BF (overlong forms; documented: A0..BF)",
        "0xE0 => pending(2, 0xA0, 0xBF)",
        "0xE0 => pending(2, 0x80, 0xBF)",
        ("cargo", ("constraint::",)),
    ),
    Mutation(
        "constraint-liveness",
        "constraint masks allow every valid token, live or not (not maximal)",
        "*allowed = m != u32::MAX && key[m as usize];",
        "*allowed = m != u32::MAX;",
        ("pytest", ("test_bad_inputs.py", "-k", "constraint")),
    ),
]


class CheckError(RuntimeError):
    pass


REGRESSIONS = ROOT / "rust" / "actok" / "proptest-regressions"


def snapshot(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def restore(folder: Path, saved: dict[Path, bytes]) -> None:
    """Puts back the files of ``saved`` and removes files added since."""
    for p in folder.rglob("*"):
        if p.is_file() and p not in saved:
            p.unlink()
    for p, content in saved.items():
        if not p.exists() or p.read_bytes() != content:
            p.write_bytes(content)


def locate(snippet: str) -> tuple[Path, int]:
    """The one file under rust/actok/src holding ``snippet`` exactly once, and its line."""
    hits = []
    for path in sorted(SRC.rglob("*.rs")):
        text = path.read_text(encoding="utf-8")
        start = 0
        while (i := text.find(snippet, start)) >= 0:
            hits.append((path, text.count("\n", 0, i) + 1))
            start = i + 1
    if len(hits) != 1:
        where = ", ".join(f"{p.relative_to(ROOT)}:{n}" for p, n in hits) or "nowhere"
        raise CheckError(f"snippet {snippet!r} must occur exactly once under {SRC}; found {where}")
    return hits[0]


def run(cmd: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None) -> int:
    """Runs ``cmd``, appending its output to ``log``; returns the exit code."""
    with log.open("a") as out:
        out.write(f"\n$ (cd {cwd} && {shlex.join(cmd)})\n")
        out.flush()
        return subprocess.run(
            cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env, check=False
        ).returncode


class Runner:
    def __init__(self, venv: Path, log: Path, jobs: str):
        self.venv = venv
        self.python = venv / "bin" / "python"
        self.log = log
        self.env = dict(os.environ, CARGO_BUILD_JOBS=jobs)
        self.wheels = Path(tempfile.mkdtemp(prefix="actok-mutation-"))
        self.built_for: str | None = None  # the source state the installed wheel was built from

    def build_and_install(self, state: str) -> Path:
        if self.built_for == state:
            return self.wheels
        out = self.wheels / state
        shutil.rmtree(out, ignore_errors=True)
        maturin = self.venv / "bin" / "maturin"
        build = [str(maturin), "build", "--release", "--locked", "--out", str(out)]
        build += ["--interpreter", str(self.python)]
        if run(build, ROOT, self.log, self.env) != 0:
            raise CheckError(f"build failed for {state} (see {self.log})")
        (wheel,) = out.glob("actok-*.whl")
        install = [str(self.python), "-m", "pip", "install", "-q", "--force-reinstall"]
        install += ["--no-deps", str(wheel)]
        if run(install, ROOT, self.log, self.env) != 0:
            raise CheckError(f"pip install failed for {state} (see {self.log})")
        self.built_for = state
        return out

    def command(self, check: tuple[str, tuple[str, ...]]) -> tuple[list[str], Path]:
        kind, args = check
        if kind == "cargo":
            return ["cargo", "test", "--locked", "-p", "actok", "--lib", *args], ROOT
        pytest = [str(self.python), "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]
        return [*pytest, *args], ROOT / "tests"

    def passes(self, check: tuple[str, tuple[str, ...]], state: str) -> bool:
        """Whether the check's tests pass on the current sources (``state`` names them)."""
        cmd, cwd = self.command(check)
        if check[0] == "pytest":
            self.build_and_install(state)
            failed_tests = 1  # pytest: 1 = tests failed; 2-5 = interrupted, usage, none collected
        else:
            # Compile first: a mutation that does not build is an error, not a caught mutation.
            if run([*cmd, "--no-run"], cwd, self.log, self.env) != 0:
                raise CheckError(f"`{shlex.join(cmd)} --no-run` failed (see {self.log})")
            failed_tests = 101
        saved = snapshot(REGRESSIONS)
        try:
            code = run(cmd, cwd, self.log, self.env)
        finally:
            restore(REGRESSIONS, saved)  # proptest records the mutant's failures there
        if code not in (0, failed_tests):
            raise CheckError(f"`{shlex.join(cmd)}` exited {code}, not a test result ({self.log})")
        return code == 0


def display(check: tuple[str, tuple[str, ...]]) -> str:
    kind, args = check
    if kind == "cargo":
        return shlex.join(["cargo", "test", "-p", "actok", "--lib", *args])
    return shlex.join(["pytest", *args])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, required=True, help="venv with the test extras")
    parser.add_argument("--only", nargs="*", help="run only these mutations (by name)")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--jobs", default=os.environ.get("CARGO_BUILD_JOBS", "1"))
    parser.add_argument("--log", type=Path, default=None, help="build/test output (default: tmp)")
    args = parser.parse_args()

    mutations = [m for m in MUTATIONS if not args.only or m.name in args.only]
    if args.list or not mutations:
        for m in MUTATIONS:
            print(f"{m.name:24} {m.what}")
        return 0 if args.list else 2
    venv = args.venv.resolve()
    if not (venv / "bin" / "python").exists() or not (venv / "bin" / "maturin").exists():
        print(f"{venv} needs bin/python and bin/maturin (see scripts/test_all.sh)", file=sys.stderr)
        return 2
    log = (args.log or Path(tempfile.mkdtemp(prefix="actok-mutation-log-")) / "log.txt").resolve()
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"log: {log}")
    runner = Runner(venv, log, args.jobs)

    # Every snippet must be found before anything runs.
    places = {m.name: locate(m.snippet) for m in mutations}

    rows: list[tuple[str, str, str, str]] = []
    failed = False
    try:
        print("unmutated: the checks must pass")
        for check in dict.fromkeys(m.check for m in mutations):
            t0 = time.monotonic()
            ok = runner.passes(check, "original")
            print(
                f"  {'pass' if ok else 'FAIL'}  {display(check)}  ({time.monotonic() - t0:.0f} s)"
            )
            if not ok:
                print(f"the unmutated tests fail: see {log}", file=sys.stderr)
                return 1
        for m in mutations:
            path, line = places[m.name]
            original = path.read_text(encoding="utf-8")
            where = f"{path.relative_to(ROOT)}:{line}"
            t0 = time.monotonic()
            try:
                path.write_text(original.replace(m.snippet, m.replacement), encoding="utf-8")
                state = hashlib.sha1(f"{where}\0{m.replacement}".encode()).hexdigest()[:12]
                caught = not runner.passes(m.check, state)
                verdict = "yes" if caught else "NO"
            except CheckError as e:
                verdict = f"error: {e}"
            finally:
                path.write_text(original, encoding="utf-8")
            failed |= verdict != "yes"
            rows.append((m.name, where, display(m.check), verdict))
            print(f"  {m.name}: caught {verdict}  ({time.monotonic() - t0:.0f} s)")
    finally:
        # Leave the venv with the unmutated extension.
        if runner.built_for not in (None, "original"):
            try:
                original_wheel = next((runner.wheels / "original").glob("actok-*.whl"), None)
                if original_wheel is not None:
                    pip = [str(runner.python), "-m", "pip", "install", "-q", "--force-reinstall"]
                    run([*pip, "--no-deps", str(original_wheel)], ROOT, log, runner.env)
                else:
                    runner.build_and_install("original")
            except CheckError as e:
                print(f"could not reinstall the unmutated build: {e}", file=sys.stderr)
        shutil.rmtree(runner.wheels, ignore_errors=True)

    header = ("mutation", "file:line", "test command", "caught")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    print()
    for r in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    survived = [r[0] for r in rows if r[3] != "yes"]
    if survived:
        print(f"\nnot caught (or not checked): {', '.join(survived)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
