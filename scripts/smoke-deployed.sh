#!/usr/bin/env bash
# The check after a deploy: every HTTP route of template.yaml that takes a webhook or a Slack
# request answers an unsigned request with 401 — the function is deployed, routed, has its
# signing secret, and refuses what is not signed. It sends nothing that could change anything.
#
#   scripts/smoke-deployed.sh https://abc123.execute-api.eu-west-1.amazonaws.com
#
# .github/workflows/deploy.yml runs it after `sam deploy` with the stack's ApiUrl output; the
# test command runs it against `deploybot-local serve --fake-services`, which serves the same
# routes. Exit status 1 names every route that answered something else.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

base="${1:?usage: scripts/smoke-deployed.sh <api base URL>}"
base="${base%/}"
template="${DEPLOYBOT_TEMPLATE:-template.yaml}"
# A fresh stack's first requests may meet cold starts: retried, unless told otherwise.
retries="${DEPLOYBOT_SMOKE_RETRIES:-3}"

# The POST routes of the template: each `Method: POST` followed by its `Path: /...`.
mapfile -t routes < <(awk '
  /^[[:space:]]+Method:[[:space:]]*/ { method = toupper($2) }
  /^[[:space:]]+Path:[[:space:]]*\// { if (method == "POST") print $2; method = "" }
' "$template" | sort -u)

if [[ ${#routes[@]} -eq 0 ]]; then
  echo "smoke: no POST routes found in $template" >&2
  exit 1
fi

failed=()
for route in "${routes[@]}"; do
  code="$(curl --silent --show-error --output /dev/null --write-out '%{http_code}' \
    --max-time 30 --retry "$retries" --retry-delay 2 --retry-connrefused \
    -X POST -H 'content-type: application/json' --data '{}' "$base$route" || echo "000")"
  if [[ "$code" == "401" ]]; then
    echo "    ok: POST $route → 401 (unsigned refused)"
  else
    echo "    FAILED: POST $route → $code (expected 401)" >&2
    failed+=("$route")
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "smoke: ${#failed[@]} of ${#routes[@]} routes did not refuse an unsigned request: ${failed[*]}" >&2
  exit 1
fi
echo "smoke: all ${#routes[@]} routes refuse unsigned requests"
