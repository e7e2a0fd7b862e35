#!/usr/bin/env bash
# Runs the A2A conformance kit against a release gateway on loopback, over JSON-RPC and
# HTTP+JSON. The kit (github.com/a2aproject/a2a-tck, branch 1.0-dev) is not on PyPI, so check
# it out yourself and pass its path:
#
#   scripts/conformance.sh PATH/TO/a2a-tck [must|should|may]
#
# The kit's own virtualenv (PATH/.venv) is created from PyPI if missing, and PyJWT added to it.
# Its HTML report lands in PATH/reports/. Two pytest plugins from tests/conformance/ go with it:
# countersign_tck_bearer adds the workflow credential to its calls (the kit has no
# authentication option), and countersign_tck_tasks gives the tests that need a task real ones
# (a fresh DelegationRequest waiting in AUTH_REQUIRED; the same approved by the reviewer
# enrolled here) in place of the tasks the kit's scripted agent would make from text messages.
# The README's "Conformance" paragraph lists what still fails or skips, and why.
set -euo pipefail
tck=$(realpath "${1:?usage: scripts/conformance.sh PATH/TO/a2a-tck [must|should|may]}")
level=${2:-must}
cd "$(dirname "$0")/.."
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}

cargo build --locked --release -p countersign-gateway -p countersign-cli
if [ ! -x "$tck/.venv/bin/python" ]; then
  python3 -m venv "$tck/.venv"
  "$tck/.venv/bin/pip" install --quiet -e "$tck"
fi
# The reviewer in tests/conformance/countersign_tck_tasks.py signs with PyJWT (EdDSA).
"$tck/.venv/bin/python" -c 'import jwt, cryptography' 2>/dev/null ||
  "$tck/.venv/bin/pip" install --quiet 'pyjwt[crypto]==2.10.1'

work=$(mktemp -d)
gateway=""
cleanup() {
  [ -n "$gateway" ] && kill "$gateway" 2>/dev/null && wait "$gateway" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
"$target/release/countersign" demo-requests "$work/demo" >/dev/null
token=$("$target/release/countersign-gateway" workflow add conformance --database "$work/gateway.db")
"$target/release/countersign" keygen --out "$work/reviewer.pem" >"$work/reviewer.json"
"$target/release/countersign-gateway" reviewer enrol --identity user:tck-reviewer \
  --name "Conformance Reviewer" --roles reviewer --tiers low,medium,high,critical \
  --jwk @"$work/reviewer.json" --database "$work/gateway.db" >/dev/null
"$target/release/countersign-gateway" serve --database "$work/gateway.db" \
  --listen 127.0.0.1:0 --trust "$work/demo/trust.json" --key "$work/gateway-key.pem" \
  --audience countersign-conformance \
  >"$work/gateway.log" 2>&1 &
gateway=$!
for _ in $(seq 100); do
  addr=$(sed -n 's/.*gateway listening addr=\([0-9.:]*\).*/\1/p' "$work/gateway.log")
  [ -n "$addr" ] && break
  sleep 0.1
done
[ -n "$addr" ] || { cat "$work/gateway.log"; exit 1; }
echo "gateway at http://$addr; conformance kit at $tck ($(git -C "$tck" rev-parse --short HEAD 2>/dev/null || echo '?'))"

cd "$tck"
COUNTERSIGN_TCK_TOKEN=$token COUNTERSIGN_TCK_GATEWAY="http://$addr" \
COUNTERSIGN_TCK_CLI="$target/release/countersign" COUNTERSIGN_TCK_AUDIENCE=countersign-conformance \
COUNTERSIGN_TCK_REVIEWER=user:tck-reviewer COUNTERSIGN_TCK_REVIEWER_KEY="$work/reviewer.pem" \
PYTHONPATH="$root/tests/conformance${PYTHONPATH:+:$PYTHONPATH}" \
  .venv/bin/python run_tck.py --sut-host "http://$addr" --level "$level" \
  --transport jsonrpc,http_json -- -p countersign_tck_bearer -p countersign_tck_tasks \
  --webhook-host 127.0.0.1 -rfs
