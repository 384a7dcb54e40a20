"""Simulated engines (llama.cpp, ik_llama.cpp and vLLM dialects, as captured) served as real
HTTP servers: `serve --demo`, the test suite's scriptable fakes, and demo traffic.

Owns: imitating engines and clients. Nothing in the proxy imports it except the CLI's wiring.
"""
