"""Run by tests/test_hf_layouts.py under each transformers version: loads DIR through
``AutoProcessor.from_pretrained(DIR, trust_remote_code=True)`` and prints, as JSON, the class
it resolved to and that processor's ids for the chunks in CHUNKS_JSON."""

import json
import sys

import transformers
from transformers import AutoProcessor

directory, chunks_json = sys.argv[1], sys.argv[2]
processor = AutoProcessor.from_pretrained(directory, trust_remote_code=True)
chunks = json.loads(open(chunks_json).read())
print(
    json.dumps(
        {
            "transformers": transformers.__version__,
            "class": type(processor).__name__,
            "module": type(processor).__module__,
            "ids": processor(chunks),
        }
    )
)
