#!/usr/bin/env bash
# Install the real editor/agent clients the end-to-end tests drive, from the npm registry, into
# ~/.cache/lanerouter-clients (outside the repository). Idempotent: a second run takes a second.
#   @anthropic-ai/claude-code  Claude Code (`claude -p`), through /v1/messages
#   @openai/codex              Codex CLI (`codex exec`; the npm package ships its binary),
#                              through /v1/responses
#   opencode-ai                opencode (`opencode run`; ships its binary), /v1/chat/completions
set -euo pipefail
CLIENTS=${LANEROUTER_CLIENTS:-${XDG_CACHE_HOME:-$HOME/.cache}/lanerouter-clients}
PACKAGES=("@anthropic-ai/claude-code@2.1.332" "@openai/codex@0.171.0" "opencode-ai@1.18.33")
command -v npm >/dev/null || { echo "install-clients: npm not found: the client tests will skip" >&2; exit 0; }
mkdir -p "$CLIENTS"
for package in "${PACKAGES[@]}"; do
  name=${package%@*}
  if [ -f "$CLIENTS/node_modules/$name/package.json" ] &&
     grep -q "\"version\": \"${package##*@}\"" "$CLIENTS/node_modules/$name/package.json"; then
    continue
  fi
  echo "install-clients: $package" >&2
  npm install --prefix "$CLIENTS" --no-audit --no-fund --silent "$package" >&2
done
