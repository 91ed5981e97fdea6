#!/usr/bin/env python3
"""The shape sweep in instructions: callgrind counts of actok's encode per value, for every cell
of benches/sweep.py (a benchmark, never a test).

Wall and CPU times on a shared machine move with the other work; instruction counts repeat
exactly, so the sweep's acceptance (no cell above 1.5x the same tokenizer on its own fitted shape
with smooth content) is checked here too. Each cell runs ``benches/workload.rs shape`` (the Rust
encode, 1 thread, about 100,000 values, ``check_shape`` off, out-of-range coefficients clipped)
under ``valgrind --tool=callgrind``, counting only the encode calls (``encode_rows``, the encode
the Python bindings call: ids in one buffer, no ``Vec`` per chunk). Python's list building is not
in these counts (the time sweep has it).

Usage (it builds the workload first)::

    python benches/sweep_instructions.py [-o DIR [--force]] [--jobs 2]

Needs valgrind, numpy, scipy, tokenizers (the tokenizers are fitted with the FAST recipe, as in
the time sweep).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benches"))
import harness  # noqa: E402
import sweep  # noqa: E402

VALUES = 100_000  # as in workload.rs


def workload_binary() -> Path:
    """``benches/workload.rs`` built from the current sources (cargo rebuilds it if they changed;
    picking the newest binary in ``target/`` could measure an older build)."""
    run = subprocess.run(
        ["cargo", "bench", "-p", "actok", "--bench", "workload", "--no-run", "--locked"]
        + ["--message-format=json-render-diagnostics"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if run.returncode != 0:
        raise SystemExit(f"building benches/workload.rs failed:\n{run.stderr}")
    for line in run.stdout.splitlines():
        message = json.loads(line)
        if message.get("reason") == "compiler-artifact" and message.get("executable"):
            if message["target"]["name"] == "workload":
                return Path(message["executable"])
    raise SystemExit("cargo built no workload executable")


def instructions_per_value(binary: Path, directory: Path, h: int, d: int, content: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        run = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--toggle-collect=*counted_passes*",
                f"--callgrind-out-file={tmp}/out",
                str(binary),
                "shape",
                str(directory),
                str(h),
                str(d),
                content,
                "1",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    collected = int(re.search(r"Collected : (\d+)", run.stderr).group(1))
    chunks = max(4, VALUES // (h * d))
    return collected / (chunks * h * d)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output", type=Path, metavar="DIR")
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    names = ("sweep_instructions.json", "sweep_instructions.md")
    outputs = harness.output_files(args.output, args.force, names)
    binary = workload_binary()
    cells = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        concurrent.futures.ThreadPoolExecutor(args.jobs) as pool,
    ):
        for fh, fd in sweep.FITTED:
            n_train = int(harness.np.clip(200_000 // (fh * fd), 100, 2000))
            train = harness.smooth_chunks(n_train, fh, fd, seed=fh * 1000 + fd)
            lo = int(harness.quantize(train).min())
            for zero, pinned in sweep.ZEROS.items():
                out = Path(tmp) / f"{fh}x{fd}_{zero}".replace(" ", "_")
                harness.train_pinned(train, lo if pinned is None else pinned, out)
                shapes = [(fh, fd)] + [
                    (h, d) for h in sweep.HORIZONS for d in sweep.DIMS if (h, d) != (fh, fd)
                ]
                for h, d in shapes:
                    for content in sweep.CONTENTS:
                        job = pool.submit(instructions_per_value, binary, out, h, d, content)
                        cells.append(
                            {"fitted": f"{fh}x{fd}", "zero": zero, "H": h, "D": d}
                            | {"content": content, "job": job}
                        )
        for c in cells:
            c["instructions_per_value"] = c.pop("job").result()
    own = {
        (c["fitted"], c["zero"]): c["instructions_per_value"]
        for c in cells
        if f"{c['H']}x{c['D']}" == c["fitted"] and c["content"] == "smooth"
    }
    for c in cells:
        c["vs_own"] = c["instructions_per_value"] / own[(c["fitted"], c["zero"])]
    text = markdown(cells)
    print(text)
    if outputs is not None:
        json_path, md_path = outputs
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(cells, indent=2) + "\n")
        md_path.write_text(text)
    return 0


def markdown(cells: list[dict]) -> str:
    worst = max(cells, key=lambda c: c["vs_own"])
    over = [c for c in cells if c["vs_own"] > 1.5]
    lines = [
        "### Shape sweep in instructions (callgrind, actok's Rust encode, 1 thread)",
        "",
        "Instructions per value of `FastTokenizer::encode_rows` (`benches/workload.rs shape`, "
        "the encode the Python bindings call), same tokenizers, shapes and contents as the time "
        "sweep; '×own' = over the same tokenizer on its fitted shape with smooth content "
        "(goal ≤ 1.5). "
        f"Worst: {worst['vs_own']:.2f}× ({worst['fitted']} {worst['zero']} on "
        f"{worst['H']}×{worst['D']} {worst['content']}); {len(over)} of {len(cells)} cells "
        "above 1.5×.",
        "",
        "| fitted | zero | H×D | smooth | noisy | zero | smooth ×own | noisy ×own | zero ×own |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    rows: dict = {}
    for c in cells:
        rows.setdefault((c["fitted"], c["zero"], c["H"], c["D"]), {})[c["content"]] = c
    for (fitted, zero, h, d), r in rows.items():
        lines.append(
            f"| {fitted} | {zero} | {h}×{d} "
            + "".join(f"| {r[k]['instructions_per_value']:.0f} " for k in sweep.CONTENTS)
            + "".join(f"| {r[k]['vs_own']:.2f} " for k in sweep.CONTENTS)
            + "|"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
