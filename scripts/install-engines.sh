#!/usr/bin/env bash
# Install the real engines the test suite runs against (scripts/engines/*.sh install): llama.cpp's
# llama-server with the Gemma 3 270M GGUF (~5 min to build on 2 cores, once) and vLLM for CPU
# with a tiny random Qwen3 (~2-4 min, once). Idempotent: later runs take seconds. Everything
# goes to ~/.cache/lanerouter-engines, outside the repository.
#
# usage: scripts/install-engines.sh [llama] [vllm]      (default: both)
set -euo pipefail
ENGINES=$(cd "$(dirname "$0")/engines" && pwd)
for name in ${*:-llama vllm}; do
  case $name in
    llama) bash "$ENGINES/llama-server.sh" install ;;
    vllm) bash "$ENGINES/vllm.sh" install ;;
    *) echo "install-engines: unknown engine $name (llama, vllm)" >&2; exit 2 ;;
  esac
done
