"""A vLLM logits processor that makes the tiny random model write a given text.

Loaded with `--logits-processors scripted_output:ScriptedOutput` (this folder on PYTHONPATH). A
request that sends `"vllm_xargs": {"script": "<think>\\n...\\n</think>\\n\\nText\\n<tool_call>..."}`
gets exactly that text, token by token, then end of turn; other requests are left alone. Only the
logits change: tokenizing the markers, detokenizing, the reasoning and tool-call parsers, usage
and finish reasons are all vLLM's own code, which is what the tests are after.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import torch
from transformers import AutoTokenizer
from vllm.v1.sample.logits_processor import AdapterLogitsProcessor


@cache
def tokenizer_at(path: str) -> Any:
    return AutoTokenizer.from_pretrained(path)


class ScriptedOutput(AdapterLogitsProcessor):
    def __init__(self, vllm_config: Any, device: Any, is_pin_memory: bool) -> None:
        super().__init__(vllm_config, device, is_pin_memory)
        self.tokenizer_path = vllm_config.model_config.tokenizer

    def is_argmax_invariant(self) -> bool:
        return False  # it changes which token wins

    def new_req_logits_processor(self, params: Any) -> Callable[..., torch.Tensor] | None:
        script = (params.extra_args or {}).get("script")
        if not script:
            return None
        tokenizer = tokenizer_at(self.tokenizer_path)
        wanted = tokenizer.encode(script, add_special_tokens=False)
        wanted.append(tokenizer.convert_tokens_to_ids("<|im_end|>"))

        def force(generated: list[int], logits: torch.Tensor) -> torch.Tensor:
            step = min(len(generated), len(wanted) - 1)
            forced = torch.full_like(logits, float("-inf"))
            forced[wanted[step]] = 0.0
            return forced

        return force
