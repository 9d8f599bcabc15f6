#!/usr/bin/env bash
# Offline demo (`make demo`): start a spec-driven mock of the GitHub REST API
# (Stoplight Prism, pinned in package.json) on 127.0.0.1, run
# examples/quickstart.py against it, stop the mock; then run the GitHub App
# example (examples/app.py --demo). Exits non-zero when either fails.
#
# The mock serves a reduced copy of spec/openapi/api.github.com.json written by
# scripts/mock_spec.py into a temp dir: only the operations the demo calls, a
# vnd.github+json media type, and two pages of issues whose Link headers point
# back at this mock, so nothing ever leaves the machine.
#
# Env knobs: PYTHON (interpreter), DEMO_PORT (fixed port instead of a free one),
# DEMO_TIMEOUT (seconds to wait for the mock, default 60), DEMO_KEEP_LOG=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-$(command -v python || command -v python3)}"
PRISM="$ROOT/node_modules/.bin/prism"
TIMEOUT="${DEMO_TIMEOUT:-60}"
[[ "$TIMEOUT" =~ ^[0-9]+$ ]] || { echo "demo: DEMO_TIMEOUT must be whole seconds" >&2; exit 2; }
HOST=127.0.0.1

log() { echo "demo: $*" >&2; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/githubapp-demo.XXXXXX")"
PRISM_PID=""
QS_PID=""
LOG="$WORK/prism.log"

stop_mock() {
  if [[ -n "$PRISM_PID" ]] && kill -0 "$PRISM_PID" 2>/dev/null; then
    kill "$PRISM_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$PRISM_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$PRISM_PID" 2>/dev/null || true
    wait "$PRISM_PID" 2>/dev/null || true
  fi
  PRISM_PID=""
}
cleanup() {
  if [[ -n "$QS_PID" ]]; then kill "$QS_PID" 2>/dev/null || true; wait "$QS_PID" 2>/dev/null || true; fi
  stop_mock
  if [[ "${DEMO_KEEP_LOG:-0}" == 1 ]]; then log "mock log kept in $LOG"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

show_log() { log "---- last lines of the mock server's log ----"; tail -n "${1:-40}" "$LOG" >&2 || true; }

# 1. Install the pinned mock server if needed (from the npm registry, once).
if [[ ! -x "$PRISM" ]]; then
  command -v npm >/dev/null || { log "npm (Node.js >= 20) is required for the mock server"; exit 1; }
  log "installing the mock server (@stoplight/prism-cli) with npm ..."
  export SCARF_ANALYTICS=false  # prism's dependency @scarf/scarf: no install-time telemetry
  if [[ -f package-lock.json ]]; then npm ci --no-audit --no-fund --loglevel=error
  else npm install --no-audit --no-fund --loglevel=error; fi
fi

free_port() {
  "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# 2. Start the mock; retry on another port if the one we picked got taken meanwhile.
for attempt in 1 2 3; do
  PORT="${DEMO_PORT:-$(free_port)}"
  BASE_URL="http://$HOST:$PORT"
  SPEC="$WORK/github-demo-spec.json"
  "$PYTHON" scripts/mock_spec.py --base-url "$BASE_URL" -o "$SPEC" --quiet
  : >"$LOG"
  "$PRISM" mock --host "$HOST" --port "$PORT" "$SPEC" >"$LOG" 2>&1 &
  PRISM_PID=$!
  started=$SECONDS
  ready=0
  while (( SECONDS - started < TIMEOUT )); do
    if ! kill -0 "$PRISM_PID" 2>/dev/null; then break; fi
    if grep -q "Prism is listening" "$LOG" && (echo >"/dev/tcp/$HOST/$PORT") 2>/dev/null; then ready=1; break; fi
    sleep 0.2
  done
  if (( ready )); then break; fi
  if kill -0 "$PRISM_PID" 2>/dev/null; then
    log "the mock server did not answer on $BASE_URL within ${TIMEOUT}s"
    show_log; exit 1
  fi
  wait "$PRISM_PID" 2>/dev/null || true
  PRISM_PID=""
  if grep -q EADDRINUSE "$LOG" && [[ -z "${DEMO_PORT:-}" && $attempt -lt 3 ]]; then
    log "port $PORT was taken, trying another one"; continue
  fi
  log "the mock server exited during startup"
  show_log; exit 1
done
version="$(node -p 'require("./node_modules/@stoplight/prism-cli/package.json").version' 2>/dev/null || echo '?')"
log "mock GitHub API (Prism $version) ready on $BASE_URL after $((SECONDS - started))s"

# 3. Run the quickstart against it (in the background + wait, so that a
#    TERM/INT sent to this script is handled at once and stops both processes).
NO_PROXY="$HOST,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="$HOST,localhost${no_proxy:+,$no_proxy}" \
PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}" \
GITHUB_API_URL="$BASE_URL" GITHUB_TOKEN=demo-token GITHUB_REPOSITORY=octocat/hello-world \
  "$PYTHON" examples/quickstart.py </dev/null &
QS_PID=$!
rc=0
wait "$QS_PID" || rc=$?
QS_PID=""
if (( rc != 0 )); then
  log "examples/quickstart.py failed (exit $rc)"
  show_log 60
  exit "$rc"
fi

# 4. The GitHub App framework: examples/app.py --demo serves the app with uvicorn on 127.0.0.1,
#    sends it a signed issues.opened delivery (answered 202 at once) and waits for the background
#    handler to get an installation token and comment on the issue through the same mock API.
log "running examples/app.py --demo (webhook -> background handler -> installation client)"
NO_PROXY="$HOST,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="$HOST,localhost${no_proxy:+,$no_proxy}" \
PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}" GITHUB_API_URL="$BASE_URL" \
  "$PYTHON" examples/app.py --demo </dev/null &
QS_PID=$!
wait "$QS_PID" || rc=$?
QS_PID=""
(( rc == 0 )) || log "examples/app.py --demo failed (exit $rc)"
exit "$rc"
