"""The default config's lanes (the user's three), as Settings.lanes takes them when a config
file names none; every other default is a field default of the settings models. config.toml
spells out the same, and a test keeps the two equal."""

from __future__ import annotations

from typing import Any

DEFAULT_LANES: dict[str, dict[str, Any]] = {
    "audit": {
        "base_url": "http://127.0.0.1:8081",
        "engine": "llamacpp",
        "model": "qwen3-coder-next-bf16",
        "ctx_size": 16384,
        "max_concurrency": 1,
        "first_byte_timeout": 600.0,
        "idle_timeout": 120.0,
        "fallback": (),  # audit exists for exact BF16 answers: no stand-in
        "queue_depth": 8,
        "queue_timeout": 600.0,
        "aliases": ("qwen3-coder-next:audit",),
    },
    "chat": {
        "base_url": "http://127.0.0.1:8001",
        "engine": "ik_llamacpp",
        "model": "qwen3-coder-next-iq4_nl",
        "ctx_size": 65536,
        "max_concurrency": 1,
        "fallback": ("tools", "audit"),
        "aliases": ("qwen3-coder-next:chat",),
    },
    "tools": {
        "base_url": "http://127.0.0.1:8000",
        "engine": "vllm",
        "model": "qwen3-coder-next-nvfp4",
        "ctx_size": 32768,
        "max_concurrency": 64,
        "fallback": ("chat",),
        "queue_depth": 64,
        "aliases": ("qwen3-coder-next:tools",),
        "request_defaults": {"chat_template_kwargs": {"enable_thinking": False}},
    },
}
