#!/usr/bin/env bash
# The README's first command: serves LLM Duel at http://127.0.0.1:8000 with DynamoDB
# sessions, on a fresh machine.
#
#   bash scripts/demo.sh              set up, start everything, serve the app
#   bash scripts/demo.sh --services   start only the local DynamoDB and OIDC provider
#
# It creates .venv (scripts/setup.sh), starts a local DynamoDB-compatible server
# (moto; DEMO_DB=dynalite for dynalite) and a local OpenID Connect provider
# (oidc-provider-mock) on loopback, creates the sessions table and its user index
# with the library's CLI, and runs the app under uvicorn. Ctrl-C stops everything this run started.
# Logs go to .demo-logs/ in the checkout (git-ignored): dynamodb.log, oidc.log, app.log.
#
# Restarting only the app: servers that already answer on their ports are reused
# and left running on exit. So run `bash scripts/demo.sh --services` in one
# terminal and `bash scripts/demo.sh` in another: stop and start the second as
# often as you like and you stay signed in, with your votes, because the sessions
# live in the DynamoDB server, not in the app process.
set -euo pipefail
cd "$(dirname "$0")/.."
started_ns=$(date +%s%N)

services_only=false
case "${1:-}" in
  --services) services_only=true ;;
  "") ;;
  *) echo "usage: bash scripts/demo.sh [--services]" >&2; exit 2 ;;
esac

db_kind=${DEMO_DB:-moto}
db_port=${DEMO_DB_PORT:-8001}
oidc_port=${DEMO_OIDC_PORT:-9400}
app_port=${DEMO_PORT:-8000}
logs=.demo-logs  # in the checkout, git-ignored
mkdir -p "$logs"
echo "== logs: $PWD/$logs/ (dynamodb.log, oidc.log, app.log)"

echo "== setting up .venv and node_modules (first run: a few minutes)"
# shellcheck source=scripts/setup.sh
source scripts/setup.sh

pids=()
cleanup() {
  trap - EXIT INT TERM
  if [ ${#pids[@]} -gt 0 ]; then
    echo
    echo "== stopping what this run started (pids ${pids[*]})"
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() { # name port pid
  for _ in $(seq 1 300); do
    if port_open "$2"; then return 0; fi
    if ! kill -0 "$3" 2>/dev/null; then
      echo "error: $1 exited; its log is $logs/$1.log:" >&2
      tail -20 "$logs/$1.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "error: $1 did not open port $2 within 30 s; see $logs/$1.log" >&2
  exit 1
}

waits=()
start_service() { # name port command... (returns at once; wait_services waits)
  local name=$1 port=$2
  shift 2
  if port_open "$port"; then
    echo "== $name: reusing the server already on 127.0.0.1:$port (left running on exit)"
    return 0
  fi
  echo "== $name: starting on 127.0.0.1:$port (log: $logs/$name.log)"
  "$@" >"$logs/$name.log" 2>&1 &
  pids+=("$!")
  waits+=("$name $port $!")
}

wait_services() {
  local entry
  for entry in "${waits[@]}"; do
    # shellcheck disable=SC2086 # "name port pid", split on purpose
    wait_for_port $entry
  done
}

# Local servers accept any credentials, but botocore signs every request.
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-testing}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-testing}
export AWS_REGION=${AWS_REGION:-us-east-1}
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$db_port

case "$db_kind" in
  moto) start_service dynamodb "$db_port" .venv/bin/moto_server -H 127.0.0.1 -p "$db_port" ;;
  dynalite)
    start_service dynamodb "$db_port" node node_modules/dynalite/cli.js \
      --host 127.0.0.1 --port "$db_port" ;;
  *) echo "error: DEMO_DB must be moto or dynalite, not $db_kind" >&2; exit 2 ;;
esac
# oidc-provider-mock, with a logout that returns to the app (devservers/oidc_provider.py)
start_service oidc "$oidc_port" .venv/bin/python -m devservers.oidc_provider \
  --host 127.0.0.1 --port "$oidc_port" --user demo@example.com
wait_services  # both start in parallel

export SESSION_TABLE_NAME=${SESSION_TABLE_NAME:-LLM-Duel-Sessions}
echo "== creating table $SESSION_TABLE_NAME (idempotent)"
# --with-user-index: the account page's "Sign out everywhere" needs it.
.venv/bin/dynamodb-sessions create-table --with-user-index --table-name "$SESSION_TABLE_NAME" \
  --endpoint-url "$AWS_ENDPOINT_URL_DYNAMODB" --region "$AWS_REGION"

if $services_only; then
  echo
  echo "Services are up. In another terminal: bash scripts/demo.sh"
  echo "Ctrl-C here stops them (and forgets all sessions)."
  wait
  exit 0
fi

if port_open "$app_port"; then
  echo "error: 127.0.0.1:$app_port is in use; stop that server or set DEMO_PORT" >&2
  exit 1
fi

export USE_DYNAMODB_SESSIONS=true
export SESSION_FALLBACK_TO_MEMORY=false   # a broken table should fail loudly
export SESSION_HTTPS_ONLY=false           # plain http on loopback only
# Fixed so that cookies stay valid across app restarts. Demo only: never reuse it.
export SESSION_SECRET_KEY=${SESSION_SECRET_KEY:-demo-only-secret-do-not-use-in-production}
export OIDC_METADATA_URL=http://127.0.0.1:$oidc_port/.well-known/openid-configuration
export OIDC_CLIENT_ID=llm-duel-demo
export OIDC_CLIENT_SECRET=demo-client-secret
export OIDC_PROVIDER_NAME="local OIDC provider (oidc-provider-mock)"

echo "== app: starting on http://127.0.0.1:$app_port (log: $logs/app.log, and here)"
# tee in a process substitution: $! stays uvicorn's pid, the one Ctrl-C must stop.
.venv/bin/uvicorn app.main:app --host 127.0.0.1 --port "$app_port" \
  > >(tee -a "$logs/app.log") 2>&1 &
app_pid=$!
pids+=("$app_pid")

first_page_served() { # a bare HTTP/1.0 GET in bash: no extra process per try
  (exec 3<>"/dev/tcp/127.0.0.1/$app_port" &&
    printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 &&
    head -n 1 <&3 | grep -q ' 200 ') 2>/dev/null
}
for _ in $(seq 1 600); do
  if first_page_served; then
    elapsed_ms=$((($(date +%s%N) - started_ns) / 1000000))
    printf '\nLLM Duel is ready at http://127.0.0.1:%s/ (first page served %d.%03d s after start)\n' \
      "$app_port" $((elapsed_ms / 1000)) $((elapsed_ms % 1000))
    echo "Sign in with the demo@example.com button, or type any name. Ctrl-C stops everything."
    echo "Logs: $PWD/$logs/"
    break
  fi
  if ! kill -0 "$app_pid" 2>/dev/null; then
    echo "error: the app exited before serving its first page" >&2
    exit 1
  fi
  sleep 0.1
done
wait "$app_pid"
