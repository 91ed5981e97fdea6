"""Writes the seed corpora of the fuzz targets into ``fuzz/corpus/<target>/`` (deterministic).

parse_tokenizer: the bundled tokenizer.json (alone and with its processor_config.json after a NUL),
truncations of it, small hand-written tokenizers and configs. decode_ids / encode_actions: the
targets read their input through ``arbitrary::Unstructured``, so seeds are byte strings of the
lengths that give small batches; a fixed random generator makes them reproducible.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "python" / "actok" / "data" / "robosuite_fast"
CORPUS = ROOT / "fuzz" / "corpus"

SMALL = {
    "version": "1.0",
    "added_tokens": [],
    "normalizer": None,
    "pre_tokenizer": {
        "type": "ByteLevel",
        "add_prefix_space": False,
        "trim_offsets": True,
        "use_regex": True,
    },
    "decoder": {"type": "ByteLevel"},
    "model": {
        "type": "BPE",
        "dropout": None,
        "unk_token": None,
        "vocab": {"a": 0, "b": 1, "ab": 2, "\u0120": 3},
        "merges": [["a", "b"]],
    },
}


def parse_seeds() -> dict[str, bytes]:
    tok = (BUNDLED / "tokenizer.json").read_bytes()
    cfg = (BUNDLED / "processor_config.json").read_bytes()
    seeds = {"bundled": tok, "bundled_with_config": tok + b"\0" + cfg}
    for cut in (1, 64, 500, 2_000, 10_000, 50_000, len(tok) - 3):
        seeds[f"truncated_{cut}"] = tok[:cut]
    small = json.dumps(SMALL).encode()
    seeds["small"] = small
    seeds["small_with_config"] = small + b"\0" + cfg
    string_merges = json.loads(small)
    string_merges["model"]["merges"] = ["a b"]
    string_merges["model"]["ignore_merges"] = True
    seeds["small_string_merges"] = json.dumps(string_merges).encode()
    bad_id = json.loads(small)
    bad_id["model"]["vocab"]["ab"] = 7
    seeds["small_bad_id"] = json.dumps(bad_id).encode()
    seeds["empty_object"] = b"{}"
    seeds["config_only"] = b"\0" + cfg
    for name, config in {
        "config_float_min_token": {"scale": 2.5, "vocab_size": 9, "min_token": -3.0},
        "config_shape": {
            "scale": 10,
            "vocab_size": 4,
            "min_token": 0,
            "time_horizon": 3,
            "action_dim": 2,
            "extra": [1, {"a": None}],
        },
        "config_tiny_scale": {"scale": 1e-300, "vocab_size": 4, "min_token": -97},
        "config_huge_min_token": {"scale": 1e300, "vocab_size": 4, "min_token": -(2**52)},
    }.items():
        seeds[name] = small + b"\0" + json.dumps(config).encode()
    return seeds


def blob_seeds(prefix: str, rng: random.Random) -> dict[str, bytes]:
    seeds = {}
    for i, n in enumerate((0, 1, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)):
        seeds[f"{prefix}_random_{i:02d}"] = bytes(rng.randrange(256) for _ in range(n))
    for i, n in enumerate((16, 64, 256, 1024)):
        seeds[f"{prefix}_zeros_{i}"] = bytes(n)
        seeds[f"{prefix}_ones_{i}"] = b"\xff" * n
        seeds[f"{prefix}_small_{i}"] = bytes(rng.randrange(8) for _ in range(n))
    return seeds


def main() -> None:
    rng = random.Random(5)
    for target, seeds in {
        "parse_tokenizer": parse_seeds(),
        "decode_ids": blob_seeds("ids", rng),
        "encode_actions": blob_seeds("actions", rng),
    }.items():
        out = CORPUS / target
        out.mkdir(parents=True, exist_ok=True)
        for name, data in seeds.items():
            (out / name).write_bytes(data)
        print(f"{target}: {len(seeds)} seeds")


if __name__ == "__main__":
    main()
