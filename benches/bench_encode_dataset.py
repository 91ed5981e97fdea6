"""``actok encode`` at dataset scale: 1 worker, 2 workers and ``--engine ray`` (local cluster).

Synthesizes a LeRobot v3.0 dataset of at least ``--frames`` frames (default 2,000,000) by
repeating the DROID 100-episode joint-position sample of ``../shared/data`` with a little noise
(1e-3, the sample's own rounding), outside the project (``--work``, default a temp dir: the
shared data is not copied into the repository). Fits a tokenizer on the original sample (1 s
chunks: 15 steps x 8 dims, quantile normalizer), then runs ``actok encode`` as a subprocess per
mode and reports chunks per second (wall time of the whole command: planning, process or cluster
start-up, reading, encoding, writing), the peak RSS of the command's process and of its whole
process tree (sampled every 0.1 s; for Ray that includes the local cluster's own processes),
the ratio to one worker (medians of `--repeat` interleaved runs), and whether all outputs are
byte-identical.

    python benches/bench_encode_dataset.py [--frames N] [--work DIR] [--modes one,two,ray]

It measures; it asserts nothing about speed. The machine may be shared: the load average is
printed with the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "droid100_jointpos_gripper_8d_15hz.npz"
MODES = {
    "one": ["--workers", "1"],
    "two": ["--workers", "2"],
    "ray": ["--engine", "ray", "--workers", "2"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=2_000_000)
    parser.add_argument("--work", type=Path, default=None, help="scratch directory (kept)")
    parser.add_argument("--modes", default="one,two,ray")
    parser.add_argument("--rows-per-group", type=int, default=100_000)
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per mode, interleaved (median reported)"
    )
    args = parser.parse_args()
    if not SHARED.exists():
        print(f"skipped: {SHARED} is absent (the shared data folder is not part of a clone)")
        return 0
    work = args.work or Path(tempfile.mkdtemp(prefix="actok-bench-encode-"))
    work.mkdir(parents=True, exist_ok=True)
    dataset = work / "droid_tiled"
    frames = synthesize(dataset, args.frames, args.rows_per_group)
    tok = work / "tok"
    if not tok.exists():
        run([sys.executable, "-m", "actok", "fit", str(SHARED), "-o", str(tok), "--quiet"])
    print(f"load before: {os.getloadavg()} (1/5/15 min), {os.cpu_count()} cores")
    runs: dict[str, list[dict]] = {mode: [] for mode in args.modes.split(",")}
    for _ in range(args.repeat):
        for mode in runs:
            out = work / f"ids_{mode}.parquet"
            cmd = [sys.executable, "-m", "actok", "encode", str(tok), str(dataset), "-o", str(out)]
            seconds, own_peak, tree_peak, stdout = measure([*cmd, *MODES[mode], "--quiet"])
            run_ = {
                "seconds": seconds,
                "chunks": int(stdout.split("encoded ")[1].split(" ")[0]),
                "peak_rss_mb": own_peak / 2**20,
                "tree_peak_rss_mb": tree_peak / 2**20,
                "sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
                "load_after": os.getloadavg(),
            }
            runs[mode].append(run_)
            print(f"{mode}: {json.dumps(run_)}", flush=True)
    results = {}
    for mode, rs in runs.items():
        seconds = float(np.median([r["seconds"] for r in rs]))
        results[mode] = {
            "seconds": seconds,
            "seconds_all": [r["seconds"] for r in rs],
            "chunks": rs[0]["chunks"],
            "chunks_per_second": rs[0]["chunks"] / seconds,
            "peak_rss_mb": max(r["peak_rss_mb"] for r in rs),
            "tree_peak_rss_mb": max(r["tree_peak_rss_mb"] for r in rs),
            "sha256": sorted({r["sha256"] for r in rs}),
        }
    base = results.get("one")
    print(
        f"\n{frames} frames, {base['chunks'] if base else '?'} chunks of 15x8; "
        f"load {os.getloadavg()}"
    )
    print("| mode | wall s, median (all) | chunks/s | ratio | peak RSS (command / process tree) |")
    print("|---|---:|---:|---:|---:|")
    for mode, r in results.items():
        ratio = r["chunks_per_second"] / base["chunks_per_second"] if base else float("nan")
        every = ", ".join(f"{t:.1f}" for t in r["seconds_all"])
        print(
            f"| {mode} | {r['seconds']:.1f} ({every}) | {r['chunks_per_second']:,.0f} | "
            f"{ratio:.2f}x | {r['peak_rss_mb']:.0f} MB / {r['tree_peak_rss_mb']:.0f} MB |"
        )
    digests = {d for r in results.values() for d in r["sha256"]}
    print(f"outputs identical across {', '.join(results)}: {len(digests) == 1}")
    (work / "bench_encode_dataset.json").write_text(json.dumps(results, indent=2))
    return 0


def synthesize(root: Path, frames: int, rows_per_group: int) -> int:
    """A LeRobot v3.0 layout (several episodes per file) repeating the DROID sample."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with np.load(SHARED) as z:
        actions, ends, fps = z["actions"], z["episode_ends"], float(z["fps"])
    copies = -(-frames // len(actions))
    total = copies * len(actions)
    marker = root / "meta" / "info.json"
    if marker.exists() and json.loads(marker.read_text()).get("total_frames") == total:
        return total
    (root / "meta").mkdir(parents=True, exist_ok=True)
    data = root / "data" / "chunk-000"
    data.mkdir(parents=True, exist_ok=True)
    lengths = np.diff(np.concatenate([[0], ends]))
    rng = np.random.default_rng(0)
    per_file = 10  # copies (1,000 episodes, about 320,000 frames) per file
    for f in range(0, copies, per_file):
        n = min(per_file, copies - f)
        block = np.concatenate([actions] * n)
        block = (block + rng.normal(0, 1e-3, size=block.shape)).astype(np.float32)
        episode = np.concatenate(
            [np.repeat(np.arange(len(ends)) + (f + c) * len(ends), lengths) for c in range(n)]
        )
        frame = np.concatenate([np.arange(k) for k in lengths] * n)
        flat = pa.array(block.reshape(-1))
        table = pa.table(
            {
                "action": pa.FixedSizeListArray.from_arrays(flat, block.shape[1]),
                "episode_index": pa.array(episode, type=pa.int64()),
                "frame_index": pa.array(frame, type=pa.int64()),
            }
        )
        pq.write_table(
            table, data / f"file-{f // per_file:03d}.parquet", row_group_size=rows_per_group
        )
    info = {"codebase_version": "v3.0", "fps": fps, "total_frames": total}
    marker.write_text(json.dumps(info))
    print(f"synthesized {total} frames ({copies} copies of {SHARED.name}) in {root}")
    return total


def measure(cmd: list[str]) -> tuple[float, int, int, str]:
    """Wall seconds, peak RSS of the process and of its process tree (bytes), stdout."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    own = tree = 0
    while proc.poll() is None:
        rss = tree_rss(proc.pid)
        own = max(own, rss.get(proc.pid, 0))
        tree = max(tree, sum(rss.values()))
        time.sleep(0.1)
    seconds = time.perf_counter() - t0
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr}")
    return seconds, own, tree, stdout


def tree_rss(root: int) -> dict[int, int]:
    """RSS in bytes of ``root`` and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    family, frontier = {root}, [root]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parents.items() if pp == p and c not in family]
        family.update(kids)
        frontier.extend(kids)
    out = {}
    for pid in family:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out[pid] = int(line.split()[1]) * 1024
        except OSError:
            pass
    return out


def run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    raise SystemExit(main())
