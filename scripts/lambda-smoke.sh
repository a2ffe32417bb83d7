#!/usr/bin/env bash
# Smoke test of the Lambda entry points under the local Lambda emulator.
#
#   scripts/lambda-smoke.sh
#
# Starts moto_server (unless DEPLOYBOT_DYNAMODB_URL is already set, e.g. by scripts/test) and
# `cargo lambda watch` on 127.0.0.1, then runs the ignored test
# crates/aws/tests/lambda_smoke.rs, which calls `slack-event` (an API Gateway HTTP API v2
# event) and `github-deployment-create` (typed invokes) through the Lambda Invoke API with
# aws-sdk-lambda, and the deployed binary `deploybot-lambda` as slack-event (DEPLOYBOT_FUNCTION,
# which the per-function binaries ignore). The functions read their secrets from SSM parameters in moto, named by
# `*_PARAM` variables as template.yaml sets them, and their tables from moto.
#
# Emulator differences from AWS (docs/local-development.md, "One function under cargo lambda
# watch"): Event invocations run synchronously,
# a function error is HTTP 500, every workspace binary is a function, a function that
# invokes another needs --concurrency >= 2.
#
# Bounded in time: the emulator must answer within DEPLOYBOT_SMOKE_START_TIMEOUT seconds
# (default 300: the first start compiles) and the test must finish within
# DEPLOYBOT_SMOKE_TEST_TIMEOUT seconds (default 600). Fails, never skips.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"

export DEPLOYBOT_CACHE="${DEPLOYBOT_CACHE:-$HOME/.cache/deploybot}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$DEPLOYBOT_CACHE/target}"

# shellcheck source=scripts/tools.sh
source "$ROOT/scripts/tools.sh"
deploybot_tools_install

if [[ -z "${DEPLOYBOT_DYNAMODB_URL:-}" ]]; then
  # shellcheck source=scripts/moto.sh
  source "$ROOT/scripts/moto.sh"
  deploybot_moto_start 20
fi
MOTO_URL="$DEPLOYBOT_DYNAMODB_URL"

LOCKED=()
if [[ -f Cargo.lock ]]; then
  LOCKED=(--locked)
fi

WATCH_PID=""
WATCH_LOG="$(mktemp "${TMPDIR:-/tmp}/deploybot-lambda-watch.XXXXXX")"
ENV_FILE="$(mktemp "${TMPDIR:-/tmp}/deploybot-lambda-env.XXXXXX")"

smoke_stop() {
  if [[ -n "$WATCH_PID" ]]; then
    # The emulator runs in its own process group with the functions it started.
    kill -TERM -- "-$WATCH_PID" 2>/dev/null || true
    local i
    for i in $(seq 1 50); do
      kill -0 -- "-$WATCH_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$WATCH_PID" 2>/dev/null || true
    wait "$WATCH_PID" 2>/dev/null || true
    WATCH_PID=""
  fi
  rm -f "$ENV_FILE"
}

smoke_fail() {
  echo "lambda-smoke.sh: error: $*" >&2
  echo "lambda-smoke.sh: cargo lambda watch output:" >&2
  sed 's/^/  | /' "$WATCH_LOG" | tail -n 60 >&2
  exit 1
}

on_exit() {
  smoke_stop
  rm -f "$WATCH_LOG"
  if declare -F deploybot_moto_stop >/dev/null; then
    deploybot_moto_stop
  fi
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A free port on 127.0.0.1 (the kernel picks it; the emulator takes it right after).
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
LAMBDA_URL="http://127.0.0.1:$PORT"
RUN="smoke-$$"

# What the functions see: moto for DynamoDB and SSM, secrets by SSM parameter name (as on
# AWS), tables of this run, the other functions by their emulator names.
cat >"$ENV_FILE" <<EOF
AWS_ACCESS_KEY_ID=testing
AWS_SECRET_ACCESS_KEY=testing
AWS_REGION=us-east-1
AWS_EC2_METADATA_DISABLED=true
AWS_ENDPOINT_URL_DYNAMODB=$MOTO_URL
AWS_ENDPOINT_URL_SSM=$MOTO_URL
AWS_ENDPOINT_URL_LAMBDA=$LAMBDA_URL
DYNAMODB_TABLE_PROJECT=$RUN-project
DYNAMODB_TABLE_USER=$RUN-user
DYNAMODB_TABLE_DEPLOYMENT=$RUN-deployment
DYNAMODB_TABLE_DELIVERY=$RUN-delivery
DYNAMODB_TABLE_LANE=$RUN-lane
SLACK_SIGNING_SECRET_PARAM=/deploybot/$RUN/slack-signing-secret
GITHUB_APP_PRIVATE_KEY_PARAM=/deploybot/$RUN/github-app-private-key
CIRCLECI_TOKEN_PARAM=/deploybot/$RUN/circleci-token
GITHUB_APP_ID=12345
GITHUB_API_URL=http://127.0.0.1:9
FUNCTION_SLACK_MESSAGE=slack-message
FUNCTION_GITHUB_DEPLOYMENT_STATUS=github-deployment-status
FUNCTION_CIRCLECI_TRIGGER=circleci-trigger
CIRCLECI_API_URL=http://127.0.0.1:9
RUST_LOG=info
DEPLOYBOT_FUNCTION=slack-event
EOF
set -a
# shellcheck disable=SC1090
source "$ENV_FILE"
set +a
export DEPLOYBOT_LAMBDA_URL="$LAMBDA_URL"

echo "==> building the smoke-tested functions (debug)"
cargo build "${LOCKED[@]}" -p slack-event -p github-deployment-create -p deploybot-lambda

echo "==> cargo lambda watch on $LAMBDA_URL"
launcher=(setsid)
if command -v setpriv >/dev/null 2>&1 && setpriv --pdeathsig TERM true 2>/dev/null; then
  launcher=(setsid setpriv --pdeathsig TERM --)
fi
"${launcher[@]}" cargo lambda watch --ignore-changes -A 127.0.0.1 -P "$PORT" \
  --concurrency 2 --env-file "$ENV_FILE" >"$WATCH_LOG" 2>&1 </dev/null &
WATCH_PID=$!

deadline=$((SECONDS + ${DEPLOYBOT_SMOKE_START_TIMEOUT:-300}))
until curl -s -o /dev/null --max-time 2 "$LAMBDA_URL/"; do
  kill -0 "$WATCH_PID" 2>/dev/null || smoke_fail "cargo lambda watch exited"
  ((SECONDS < deadline)) || smoke_fail "cargo lambda watch did not answer in time"
  sleep 0.5
done
echo "    emulator is up"

echo "==> lambda_smoke test"
if ! timeout "${DEPLOYBOT_SMOKE_TEST_TIMEOUT:-600}" \
  cargo test "${LOCKED[@]}" -p deploybot-aws --test lambda_smoke -- --ignored --nocapture; then
  smoke_fail "the smoke test failed"
fi
