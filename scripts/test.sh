#!/usr/bin/env bash
# README's test command.  Unit tests run as whoever calls this; integration
# tests always run as an unprivileged user with subordinate IDs: yourself, or
# (when called as root, as CI does) the user prepared by scripts/setup-host.sh,
# on a copy of this tree that user can read.  Ends with one line
# "tests: N passed, N failed" over both suites.
set -uo pipefail
cd "$(dirname "$0")/.."
TEST_USER=${SELKIE_TEST_USER:-selkietest}
results=$(mktemp -d)
chmod 777 "$results"

npx vitest run --project unit --reporter=default --reporter=json --outputFile="$results/unit.json"
unit=$?

# Integration tests get a store of their own (XDG_DATA_HOME), so that they
# neither depend on nor disturb what the user keeps.
if [ "$(id -u)" -ne 0 ]; then
  data=$(mktemp -d)
  XDG_DATA_HOME="$data" npx vitest run --project integration --reporter=default --reporter=json --outputFile="$results/integration.json"
  integration=$?
  # Layer files belong to subordinate IDs: only selkie (inside the session) can delete them.
  for store in "$data"/store-*/selkie/storage; do
    [ -d "$store" ] || continue
    bin/selkie --root "$store" rm -a -f >/dev/null 2>&1
    bin/selkie --root "$store" rmi -a -f >/dev/null 2>&1
  done
  rm -rf "$data" 2>/dev/null
else
  uid=$(id -u "$TEST_USER")
  home=$(getent passwd "$TEST_USER" | cut -d: -f6)
  stage=$(bash scripts/stage-for-user.sh "$TEST_USER")
  data="$home/.selkie-test-data"
  rm -rf "$data"
  runuser -u "$TEST_USER" -- mkdir -p "$data"
  (cd "$stage" && runuser -u "$TEST_USER" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$home" USER="$TEST_USER" \
    XDG_RUNTIME_DIR="/run/user/$uid" XDG_DATA_HOME="$data" CI="${CI:-}" \
    npx vitest run --project integration --reporter=default --reporter=json --outputFile="$results/integration.json")
  integration=$?
  # What a failed test left running (conmon, containers, mounts) goes with its store.
  for store in "$data"/store-*/selkie/storage; do
    [ -d "$store" ] || continue
    runuser -u "$TEST_USER" -- env XDG_RUNTIME_DIR="/run/user/$uid" "$stage/bin/selkie" --root "$store" rm -a -f >/dev/null 2>&1
  done
fi

node -e '
let passed = 0, failed = 0;
for (const f of process.argv.slice(1)) {
  try {
    const r = JSON.parse(require("fs").readFileSync(f, "utf8"));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
  } catch { failed += 1; }
}
console.log(`tests: ${passed} passed, ${failed} failed`);
' "$results/unit.json" "$results/integration.json"
rm -rf "$results"
[ "$unit" -eq 0 ] && [ "$integration" -eq 0 ]
