#!/usr/bin/env python3
"""The transformers processor's cost per generation step, next to the model's (a benchmark,
never a test).

A tiny causal LM (Llama: 2 layers, hidden 32, 2 heads; randomly initialised from a config, no
download) generates under ``ActionConstraintLogitsProcessor`` with sampling. The processor is
wrapped in a timer, so its share of each real ``generate`` step is measured in place: advancing
every row's constraint with the new token, the batch mask and the masked copy of the scores.
Beside it: one forward pass of the model for one new token per row with its KV cache (what
``generate`` runs per step), and the whole ``generate`` step without the processor's share.

Tokenizer: the bundled robosuite FAST tokenizer (vocab 1024, ``min_token`` -354: zero is a
two-byte character), chunks of 20 x 7; its ids placed openpi-style at ``V - 1 - skip - i`` in a
vocabulary of 1024 action ids, 40 text ids and 8 skipped ids (or, with ``--model-vocab``, below
the last 128 ids of a vocabulary that size, as openpi does in PaliGemma's).

Usage::

    pip install '.[transformers]'
    python benches/bench_logits_processor.py [--batch 1 8 64] [--repeat 5] [--threads 1]
                                             [--model-vocab 257152]

The machine may be shared; each figure is the median over ``--repeat`` generations.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
import warnings
from pathlib import Path

import torch
import transformers

import actok
from actok.integrations.transformers import ActionConstraintLogitsProcessor

N_TEXT, SKIP = 40, 8
BOS, PAD, EOS = 1, 0, 2
HORIZON, DIM = 20, 7


class Timed(transformers.LogitsProcessor):
    """Times the wrapped processor's calls."""

    def __init__(self, inner: ActionConstraintLogitsProcessor) -> None:
        self.inner = inner
        self.first = 0.0  # the first call of a generation
        self.seconds = 0.0  # the others
        self.calls = 0

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.Tensor:
        t = time.perf_counter()
        out = self.inner(input_ids, scores)
        elapsed = time.perf_counter() - t
        if self.calls == 0:
            self.first = elapsed
        else:
            self.seconds += elapsed
        self.calls += 1
        return out


def tiny_model(vocab_size: int) -> transformers.PreTrainedModel:
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        bos_token_id=BOS,
        eos_token_id=EOS,
        pad_token_id=PAD,
    )
    return transformers.LlamaForCausalLM(config).eval()


def forward_step_us(model, batch: int, vocab_size: int, steps: int = 60) -> float:
    """Median time of one forward pass for one new token per row, with the KV cache."""
    prompt = torch.randint(3, N_TEXT, (batch, 8))
    with torch.no_grad():
        out = model(prompt, use_cache=True)
        cache = out.past_key_values
        token = out.logits[:, -1].argmax(-1, keepdim=True)
        times = []
        for _ in range(steps):
            t = time.perf_counter()
            out = model(token, past_key_values=cache, use_cache=True)
            times.append(time.perf_counter() - t)
            cache = out.past_key_values
            token = out.logits[:, -1].argmax(-1, keepdim=True)
    return statistics.median(times) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 8, 64])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument(
        "--model-vocab",
        type=int,
        default=None,
        help="the model's vocabulary size, the action ids placed openpi-style below its last 128 "
        "(e.g. 257152, PaliGemma's); default: 1024 action ids + 40 text ids + 8 skipped",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    transformers.logging.set_verbosity_error()
    warnings.simplefilter("ignore", FutureWarning)  # past_key_values, renamed in newer releases

    tok = actok.FastTokenizer.from_pretrained(
        Path(actok.__file__).parent / "data" / "robosuite_fast"
    )
    n_actions = tok.constraint(HORIZON, DIM).mask().shape[0]
    if args.model_vocab is None:
        vocab_size, skip = N_TEXT + n_actions + SKIP, SKIP
    else:
        vocab_size, skip = args.model_vocab, 128  # openpi's placement in PaliGemma's vocabulary
    vocab_map = actok.openpi_vocab_map(vocab_size, skip, vocab_len=n_actions)
    model = tiny_model(vocab_size)

    print(
        f"{platform.processor() or platform.machine()}, {platform.system()}, "
        f"Python {platform.python_version()}, torch {torch.__version__} "
        f"({torch.get_num_threads()} thread(s)), transformers {transformers.__version__}, "
        f"actok {actok.__version__}"
    )
    print(
        f"tokenizer: bundled robosuite (vocab {n_actions}, min_token {tok.min_token}), chunk "
        f"{HORIZON}x{DIM}; model vocabulary {vocab_size}; tiny Llama (2 layers, hidden 32)\n"
    )
    header = (
        "| batch | steps | first call µs | processor µs/step | µs/step/row | forward µs/step "
        "| generate step µs (without processor) | processor share |"
    )
    print(header)
    print("|" + "---:|" * 8)
    for batch in args.batch:
        proc_us, gen_us, first_us, steps_seen = [], [], [], []
        # One processor per batch size, reused by every generate call (as in a control loop):
        # the first call of the first generation builds the batch's constraint (solving the
        # automaton); later generations only reset it.
        proc = ActionConstraintLogitsProcessor(
            tok,
            time_horizon=HORIZON,
            action_dim=DIM,
            vocab_map=vocab_map,
            model_vocab_size=vocab_size,
            end_id=EOS,
        )
        for r in range(args.repeat + 1):
            timed = Timed(proc)
            prompt = torch.randint(3, N_TEXT, (batch, 8))
            torch.manual_seed(r)
            t = time.perf_counter()
            with torch.no_grad():
                out = model.generate(
                    prompt,
                    attention_mask=torch.ones_like(prompt),
                    logits_processor=[timed],
                    do_sample=True,
                    eos_token_id=EOS,
                    pad_token_id=PAD,
                    max_new_tokens=proc.max_new_tokens,
                )
            total = time.perf_counter() - t
            steps = timed.calls
            ids = proc.action_ids(out)
            tok.decode(ids, HORIZON, DIM, on_error="raise")  # every row decodes
            first_us.append(timed.first * 1e6)
            if r == 0:
                continue  # warm-up: builds the constraint
            proc_us.append(timed.seconds / (steps - 1) * 1e6)
            gen_us.append((total - timed.seconds - timed.first) / steps * 1e6)
            steps_seen.append(steps)
        p = statistics.median(proc_us)
        g = statistics.median(gen_us)
        f = forward_step_us(model, batch, vocab_size)
        print(
            f"| {batch} | {int(statistics.median(steps_seen))} | {first_us[0]:.0f} "
            f"({statistics.median(first_us[1:]):.0f}) | {p:.1f} | {p / batch:.2f} "
            f"| {f:.0f} | {g:.0f} | {100 * p / (p + g):.1f}% |"
        )
    print(
        "\nfirst call: of the first generation, building the constraint (in parentheses: of "
        "later generations, a reset); processor µs/step: the other calls, median over the "
        "generations; forward: one token per row with the KV cache; generate step: a whole "
        "step of generate (forward, sampling, bookkeeping) less the processor."
    )


if __name__ == "__main__":
    main()
