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

if [ "$(id -u)" -ne 0 ]; then
  npx vitest run --project integration --reporter=default --reporter=json --outputFile="$results/integration.json"
  integration=$?
else
  uid=$(id -u "$TEST_USER")
  home=$(getent passwd "$TEST_USER" | cut -d: -f6)
  stage=$(bash scripts/stage-for-user.sh "$TEST_USER")
  (cd "$stage" && runuser -u "$TEST_USER" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$home" USER="$TEST_USER" \
    XDG_RUNTIME_DIR="/run/user/$uid" CI="${CI:-}" \
    npx vitest run --project integration --reporter=default --reporter=json --outputFile="$results/integration.json")
  integration=$?
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
