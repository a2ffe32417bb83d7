#!/usr/bin/env bash
# Local DynamoDB emulator (moto_server) for tests.
#
#   scripts/moto.sh CMD [ARGS...]   start moto, run CMD with the variables below, stop moto
#   source scripts/moto.sh; deploybot_moto_start
#                                   start moto for the rest of the calling shell; it is
#                                   stopped by an EXIT trap (and INT/TERM exit through it)
#
# Exports (the endpoint is the same for both URL variables):
#   AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:PORT   honoured by aws-config
#   DEPLOYBOT_DYNAMODB_URL=http://127.0.0.1:PORT      what the project's tests read
#   AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
#   AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
# and unsets AWS_PROFILE and AWS_SESSION_TOKEN so no real credentials are used.
#
# The port is chosen by the kernel (moto_server -p 0), so parallel runs don't collide.
# If moto cannot be started this fails; it never skips. Tests reset state themselves
# with `POST $DEPLOYBOT_DYNAMODB_URL/moto-api/reset`.

_DEPLOYBOT_MOTO_SH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

DEPLOYBOT_MOTO_PID=""
DEPLOYBOT_MOTO_LOG=""

deploybot_moto_stop() {
  if [[ -n "$DEPLOYBOT_MOTO_PID" ]]; then
    if kill -0 "$DEPLOYBOT_MOTO_PID" 2>/dev/null; then
      kill "$DEPLOYBOT_MOTO_PID" 2>/dev/null || true
      local _
      for _ in $(seq 1 50); do
        kill -0 "$DEPLOYBOT_MOTO_PID" 2>/dev/null || break
        sleep 0.1
      done
      kill -9 "$DEPLOYBOT_MOTO_PID" 2>/dev/null || true
    fi
    wait "$DEPLOYBOT_MOTO_PID" 2>/dev/null || true
    DEPLOYBOT_MOTO_PID=""
  fi
  if [[ -n "$DEPLOYBOT_MOTO_LOG" ]]; then
    rm -f "$DEPLOYBOT_MOTO_LOG"
    DEPLOYBOT_MOTO_LOG=""
  fi
}

_deploybot_moto_fail() {
  echo "moto.sh: error: $*" >&2
  if [[ -n "$DEPLOYBOT_MOTO_LOG" && -f "$DEPLOYBOT_MOTO_LOG" ]]; then
    echo "moto.sh: moto_server output:" >&2
    sed 's/^/  | /' "$DEPLOYBOT_MOTO_LOG" | tail -n 40 >&2
  fi
  deploybot_moto_stop
  return 1
}

# deploybot_moto_start [TIMEOUT_SECONDS]   (default 20)
deploybot_moto_start() {
  local timeout="${1:-20}"
  # The pinned moto from scripts/tools.sh, not whatever moto_server is on PATH.
  if ! declare -F deploybot_tools_install >/dev/null; then
    # shellcheck source=scripts/tools.sh
    source "$_DEPLOYBOT_MOTO_SH_DIR/tools.sh"
  fi
  deploybot_tools_install || return 1
  command -v moto_server >/dev/null 2>&1 || { _deploybot_moto_fail "moto_server not found"; return 1; }
  command -v curl >/dev/null 2>&1 || { _deploybot_moto_fail "curl not found"; return 1; }

  trap deploybot_moto_stop EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP

  DEPLOYBOT_MOTO_LOG="$(mktemp "${TMPDIR:-/tmp}/deploybot-moto.XXXXXX")"
  # --pdeathsig: moto also dies if this shell is killed outright (SIGKILL), so it is
  # never left behind.
  local launcher=()
  if command -v setpriv >/dev/null 2>&1 && setpriv --pdeathsig TERM true 2>/dev/null; then
    launcher=(setpriv --pdeathsig TERM --)
  fi
  # moto_server through moto_serial_server.py: one request at a time, so transactions and
  # conditional writes are atomic as on DynamoDB (see that file).
  "${launcher[@]}" "$DEPLOYBOT_VENV/bin/python" "$_DEPLOYBOT_MOTO_SH_DIR/moto_serial_server.py" \
    -H 127.0.0.1 -p 0 >"$DEPLOYBOT_MOTO_LOG" 2>&1 </dev/null &
  DEPLOYBOT_MOTO_PID=$!

  local url="" port="" deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$DEPLOYBOT_MOTO_PID" 2>/dev/null; then
      _deploybot_moto_fail "moto_server exited during start-up"
      return 1
    fi
    if [[ -z "$port" ]]; then
      port="$(sed -n 's|.*Running on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$DEPLOYBOT_MOTO_LOG" | head -n 1)"
    fi
    if [[ -n "$port" ]] &&
      curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/moto-api/data.json" 2>/dev/null; then
      url="http://127.0.0.1:$port"
      break
    fi
    sleep 0.1
  done
  if [[ -z "$url" ]]; then
    _deploybot_moto_fail "moto_server did not answer within ${timeout}s (port: ${port:-unknown})"
    return 1
  fi

  export AWS_ENDPOINT_URL_DYNAMODB="$url"
  export DEPLOYBOT_DYNAMODB_URL="$url"
  export AWS_ACCESS_KEY_ID=testing
  export AWS_SECRET_ACCESS_KEY=testing
  export AWS_REGION=us-east-1
  export AWS_DEFAULT_REGION=us-east-1
  export AWS_EC2_METADATA_DISABLED=true
  unset AWS_PROFILE AWS_SESSION_TOKEN
  echo "moto_server (pid $DEPLOYBOT_MOTO_PID) at $url"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  if [[ $# -eq 0 ]]; then
    echo "usage: scripts/moto.sh CMD [ARGS...]   (runs CMD with moto_server up)" >&2
    exit 2
  fi
  deploybot_moto_start
  # Not exec: this shell stays to stop moto when CMD ends.
  "$@"
fi
