"""``actok.integrations.transformers``: real ``transformers`` generation under the constraint.

A tiny causal LM (Llama, 2 layers, hidden 32) is randomly initialised from a config, seeded: no
download. FAST ids sit in its vocabulary as openpi places them (model id ``V - 1 - skip - i``),
below them a few "text" ids (BOS, PAD, EOS among them). Every sequence generated under the
processor, greedy, sampled or by beam search, must decode with ``on_error="raise"`` into an
``(H, D)`` chunk once mapped back; the same model without the processor must not (else the test
could not fail).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import require_module

import actok

torch = require_module("torch")
transformers = require_module("transformers")
integration = require_module("actok.integrations.transformers")
ActionConstraintLogitsProcessor = integration.ActionConstraintLogitsProcessor

# One thread: the model is tiny, and torch's threads only spin against other work on the machine
# (2 threads on a busy 2-core box made these tests several times slower).
torch.set_num_threads(1)

N_TEXT = 40  # model ids 0..39: text (BOS 1, PAD 0, EOS 2)
SKIP = 8  # the last ids of the vocabulary, skipped as openpi skips 128
BOS, PAD, EOS = 1, 0, 2


@dataclass
class Setup:
    name: str
    tok: actok.FastTokenizer
    horizon: int
    dim: int
    n_actions: int  # the tokenizer's vocabulary length (the mask's width without a map)
    vocab_size: int  # the model's
    vocab_map: np.ndarray  # action id -> model id
    inverse: np.ndarray  # model id -> action id, -1 for the others

    def processor(self, **kwargs):
        args = {
            "time_horizon": self.horizon,
            "action_dim": self.dim,
            "vocab_map": self.vocab_map,
            "model_vocab_size": self.vocab_size,
            "end_id": EOS,
        }
        args.update(kwargs)
        return ActionConstraintLogitsProcessor(self.tok, **args)

    def model(self, seed: int):
        torch.manual_seed(seed)
        config = transformers.LlamaConfig(
            vocab_size=self.vocab_size,
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

    def prompts(self, seed: int, batch: int, length: int = 5):
        g = torch.Generator().manual_seed(seed)
        p = torch.randint(3, N_TEXT, (batch, length), generator=g)
        p[:, 0] = BOS
        return p

    def generated_actions(self, out, start: int) -> list[np.ndarray]:
        """Each row's generated ids up to its first EOS (or the end), mapped back to action ids;
        a model id that is no action id becomes -1 (and fails to decode)."""
        rows = []
        for row in out[:, start:].numpy():
            eos = np.flatnonzero(row == EOS)
            row = row[: eos[0]] if eos.size else row
            rows.append(self.inverse[row])
        return rows

    def decodes(self, ids: np.ndarray) -> bool:
        if (ids < 0).any():
            return False
        try:
            chunk = self.tok.decode([ids.tolist()], self.horizon, self.dim, on_error="raise")
        except actok.DecodeError:
            return False
        assert chunk.shape == (1, self.horizon, self.dim)
        return True


def _setup(name: str, tok: actok.FastTokenizer, horizon: int, dim: int) -> Setup:
    n_actions = tok.vocab_len
    vocab_size = N_TEXT + n_actions + SKIP
    vocab_map = actok.openpi_vocab_map(vocab_size, SKIP, vocab_len=n_actions)
    np.testing.assert_array_equal(vocab_map, vocab_size - 1 - SKIP - np.arange(n_actions))
    inverse = np.full(vocab_size, -1, dtype=np.int64)
    inverse[vocab_map] = np.arange(n_actions)
    assert vocab_map.min() == N_TEXT
    return Setup(name, tok, horizon, dim, n_actions, vocab_size, vocab_map, inverse)


@pytest.fixture(scope="module", params=["fitted-1byte-zero", "bundled-2byte-zero"])
def setup(request) -> Setup:
    if request.param == "bundled-2byte-zero":
        # the bundled robosuite tokenizer: min_token -354, so zero is the 2-byte character U+0162
        bundled = Path(actok.__file__).parent / "data" / "robosuite_fast"
        tok = actok.FastTokenizer.from_pretrained(bundled)
        return _setup(request.param, tok, 20, 7)
    rng = np.random.default_rng(0)
    chunks = np.cumsum(rng.normal(0, 0.1, (500, 8, 3)), axis=1).clip(-1, 1)
    tok = actok.FastTokenizer.fit(chunks, scale=10, vocab_size=300)
    assert tok.min_token > -128  # zero is a 1-byte character
    return _setup(request.param, tok, 8, 3)


def _generate(setup: Setup, model, prompt, processor=None, **kwargs):
    args = {
        "attention_mask": torch.ones_like(prompt),
        "eos_token_id": EOS,
        "pad_token_id": PAD,
        "max_new_tokens": 4 * setup.horizon * setup.dim + 1,
    }
    args.update(kwargs)
    if processor is not None:
        args["logits_processor"] = transformers.LogitsProcessorList([processor])
    with torch.no_grad():
        return model.generate(prompt, **args)


def _check_all_decode(setup: Setup, out, start: int, processor) -> None:
    rows = setup.generated_actions(out, start)
    for i, ids in enumerate(rows):
        assert setup.decodes(ids), f"row {i} does not decode: {ids.tolist()}"
        # every row ended with EOS right after its actions
        assert out.shape[1] > start + ids.size and int(out[i, start + ids.size]) == EOS
    # the processor's own cut agrees
    assert [list(r) for r in rows] == processor.action_ids(out)
    assert processor.is_complete.all() and not processor.detached.any()


@pytest.mark.parametrize("seed", range(8))
def test_greedy_always_decodes(setup, seed):
    model = setup.model(seed)
    prompt = setup.prompts(seed, batch=8)
    proc = setup.processor()
    out = _generate(setup, model, prompt, proc, do_sample=False)
    _check_all_decode(setup, out, prompt.shape[1], proc)


@pytest.mark.parametrize("seed", range(12))
def test_sampling_always_decodes(setup, seed):
    model = setup.model(100 + seed)
    prompt = setup.prompts(seed, batch=4)
    proc = setup.processor()
    torch.manual_seed(seed)
    out = _generate(
        setup, model, prompt, proc, do_sample=True, temperature=1.5, num_return_sequences=3
    )
    assert out.shape[0] == 12
    _check_all_decode(setup, out, prompt.shape[1], proc)


def test_sampling_top_k_top_p_decodes(setup):
    model = setup.model(7)
    prompt = setup.prompts(7, batch=8)
    proc = setup.processor()
    torch.manual_seed(7)
    out = _generate(setup, model, prompt, proc, do_sample=True, top_k=20, top_p=0.9)
    _check_all_decode(setup, out, prompt.shape[1], proc)


@pytest.mark.parametrize("seed", range(3))
def test_beam_search_decodes(setup, seed):
    """Beams reorder between steps (and, in transformers 4.x, a finished batch item's rows are
    refilled from another item's): the processor rebuilds the states from the sequences."""
    model = setup.model(3 + seed)
    prompt = setup.prompts(3 + seed, batch=2)
    proc = setup.processor()
    out = _generate(setup, model, prompt, proc, num_beams=3, num_return_sequences=3)
    assert out.shape[0] == 6
    for i, ids in enumerate(setup.generated_actions(out, prompt.shape[1])):
        assert setup.decodes(ids), f"beam {i} does not decode"


def test_without_processor_most_rows_do_not_decode(setup):
    """The control: the same model and prompts, unconstrained (greedy and sampled), give
    undecodable rows, also when sampling only among action ids and EOS (then the FAST structure
    alone is violated: lengths, partial characters)."""
    action_only = transformers.SuppressTokensLogitsProcessor([i for i in range(N_TEXT) if i != EOS])
    model = setup.model(0)
    prompt = setup.prompts(0, batch=8)
    for kind, proc, sample in (
        ("greedy", None, False),
        ("sampled", None, True),
        ("sampled among action ids and EOS", action_only, True),
    ):
        torch.manual_seed(0)
        out = _generate(setup, model, prompt, proc, do_sample=sample)
        rows = setup.generated_actions(out, prompt.shape[1])
        bad = sum(not setup.decodes(r) for r in rows)
        assert bad >= len(rows) // 2, f"{kind}: only {bad} of {len(rows)} rows failed to decode"


@pytest.mark.parametrize("criteria", [True, False])
def test_without_end_id_rows_are_cut_where_complete(setup, criteria):
    """Without ``end_id`` a complete row is left unmasked (nothing is allowed after it);
    ``action_ids`` cuts each row where it completed, and the stopping criteria end generation
    once every row has."""
    model = setup.model(11)
    prompt = setup.prompts(11, batch=6)
    proc = setup.processor(end_id=None)
    extra = {}
    if criteria:
        extra["stopping_criteria"] = transformers.StoppingCriteriaList([proc.stopping_criteria()])
    torch.manual_seed(11)
    out = _generate(
        setup,
        model,
        prompt,
        proc,
        do_sample=True,
        eos_token_id=None,
        max_new_tokens=proc.max_new_tokens,
        **extra,
    )
    generated = out.shape[1] - prompt.shape[1]
    if criteria:
        assert generated < proc.max_new_tokens  # stopped once every row completed
    else:
        assert generated == proc.max_new_tokens
    assert proc.is_complete.all()
    ids = proc.action_ids(out)
    chunks = setup.tok.decode(ids, setup.horizon, setup.dim, on_error="raise")
    assert chunks.shape == (6, setup.horizon, setup.dim)


def test_prompt_length_continues_a_forced_prefix(setup):
    """Action tokens already in the prompt (beyond ``prompt_length``) are replayed at the first
    call; generation continues the same chunk."""
    rng = np.random.default_rng(5)
    chunk = np.cumsum(rng.normal(0, 0.05, (setup.horizon, setup.dim)), axis=0).clip(-0.5, 0.5)
    action_ids = setup.tok.encode(chunk[None], check_shape=False)[0]
    k = max(1, len(action_ids) // 2)
    text = setup.prompts(5, batch=3)
    forced = torch.as_tensor(setup.vocab_map[action_ids[:k]]).repeat(3, 1)
    prompt = torch.cat([text, forced], dim=1)
    proc = setup.processor(prompt_length=text.shape[1])
    model = setup.model(5)
    torch.manual_seed(5)
    out = _generate(setup, model, prompt, proc, do_sample=True)
    for i, ids in enumerate(setup.generated_actions(out, text.shape[1])):
        assert ids[:k].tolist() == list(action_ids[:k])
        assert setup.decodes(ids), f"row {i}"


def test_one_processor_across_generate_calls(setup):
    """A new generate call (other batch size or prompt length) starts afresh."""
    model = setup.model(21)
    proc = setup.processor()
    for call, (batch, length) in enumerate([(3, 5), (3, 7), (5, 4), (5, 4), (1, 6)]):
        prompt = setup.prompts(call, batch=batch, length=length)
        torch.manual_seed(call)
        out = _generate(setup, model, prompt, proc, do_sample=call % 2 == 1)
        assert proc.start == length
        _check_all_decode(setup, out, length, proc)


def test_direct_calls_detach_and_finish(setup):
    """Called by hand with real tensors: a row fed a token its mask excluded is detached (no
    longer constrained); finished rows accept PAD; the scores of the others are masked."""
    proc = setup.processor()
    prompt = setup.prompts(0, batch=2)
    scores = torch.zeros(2, setup.vocab_size)
    masked = proc(prompt, scores)
    allowed = torch.isfinite(masked)
    assert torch.equal(allowed[0], allowed[1])
    assert not allowed[0, :N_TEXT].any()  # no text id, not EOS before the chunk is complete
    assert torch.equal(scores, torch.zeros_like(scores))  # the input is not changed in place
    first = int(torch.nonzero(allowed[0])[0])
    ids = torch.cat([prompt, torch.tensor([[first], [PAD]])], dim=1)  # row 1: a forbidden id
    masked = proc(ids, scores)
    assert proc.detached.tolist() == [False, True]
    assert torch.isfinite(masked).any(dim=1).all()


def test_scores_width_must_match(setup):
    proc = setup.processor(model_vocab_size=setup.vocab_size)
    prompt = setup.prompts(0, batch=2)
    with pytest.raises(actok.ActokError, match=f"scores have {setup.vocab_size + 3} columns"):
        proc(prompt, torch.zeros(2, setup.vocab_size + 3))


def test_max_new_tokens_bounds_every_completion(setup):
    proc = setup.processor()
    assert proc.max_new_tokens == 4 * setup.horizon * setup.dim + 1


# ------------------------------------------------------------------------------------------------
# imports: nothing heavy at `import actok`; a missing extra is one line naming it
# ------------------------------------------------------------------------------------------------
def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


def test_import_actok_imports_no_framework():
    code = (
        "import json, sys, actok, actok.integrations, actok.integrations.masking\n"
        "heavy = ['torch', 'transformers', 'jax', 'jaxlib', 'tensorflow']\n"
        "print(json.dumps(sorted(m for m in heavy if m in sys.modules)))\n"
    )
    proc = _run(code)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


@pytest.mark.parametrize("missing", ["torch", "transformers"])
def test_missing_extra_is_one_line(missing):
    # `sys.modules[name] = None` is how Python makes a module unimportable
    code = f"import sys; sys.modules[{missing!r}] = None\nimport actok.integrations.transformers\n"
    proc = _run(code)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last == (
        f"actok._extras.MissingExtra: actok.integrations.transformers needs {missing}, "
        "which is not installed: pip install 'actok[transformers]'"
    )


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64"])
def test_scores_of_any_float_dtype(setup, dtype):
    """The numpy fast path (float32/64/16 on CPU) and torch's (bfloat16, other devices) mask the
    same ids."""
    proc = setup.processor()
    prompt = setup.prompts(0, batch=3)
    scores = torch.randn(3, setup.vocab_size, generator=torch.Generator().manual_seed(0))
    scores = scores.to(getattr(torch, dtype))
    masked = proc(prompt, scores)
    assert masked.dtype == scores.dtype and masked is not scores
    allowed = torch.isfinite(masked)
    expected = torch.zeros_like(allowed)
    expected[:, setup.vocab_map] = True  # only action ids can be allowed first
    assert (allowed <= expected).all() and allowed.any(dim=1).all()
    assert torch.equal(masked[allowed], scores[allowed])
    if dtype != "float32":
        ref = setup.processor()(prompt, scores.float())
        assert torch.equal(torch.isfinite(ref), allowed)


def test_generate_keeps_raw_logits_unmasked(setup):
    """Out of place: the logits generate keeps (output_logits) are the model's, the scores it
    keeps (output_scores) are masked."""
    model = setup.model(1)
    prompt = setup.prompts(1, batch=2)
    proc = setup.processor()
    res = _generate(
        setup,
        model,
        prompt,
        proc,
        do_sample=False,
        return_dict_in_generate=True,
        output_logits=True,
        output_scores=True,
    )
    assert torch.isfinite(res.logits[0]).all()
    assert not torch.isfinite(res.scores[0]).all()


def test_construction_errors():
    bundled = actok.FastTokenizer.from_pretrained(
        Path(actok.__file__).parent / "data" / "robosuite_fast"
    )
    assert bundled.action_dim is None
    with pytest.raises(actok.ActokError, match="action_dim"):
        ActionConstraintLogitsProcessor(bundled)  # no action_dim: the core's error, at once
    with pytest.raises(actok.ActokError, match="prompt_length must be an int >= 0"):
        ActionConstraintLogitsProcessor(bundled, action_dim=7, prompt_length=-1)
    proc = ActionConstraintLogitsProcessor(bundled, action_dim=7)
    with pytest.raises(actok.ActokError, match="has not been called"):
        proc.action_ids(torch.zeros(1, 3, dtype=torch.long))
