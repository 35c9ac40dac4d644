#!/usr/bin/env bash
# Runs chosen integration test files as the unprivileged test user, from root
# (a development shortcut; README's test command runs everything):
#   bash scripts/itest.sh test/integration/run.test.ts [-t 'name']
# STAGE_NAME keeps several trees' copies apart.
set -euo pipefail
cd "$(dirname "$0")/.."
TEST_USER=${SELKIE_TEST_USER:-selkietest}
uid=$(id -u "$TEST_USER")
home=$(getent passwd "$TEST_USER" | cut -d: -f6)
stage=$(bash scripts/stage-for-user.sh "$TEST_USER")
data="$home/.selkie-test-data-${STAGE_NAME:-main}"
runuser -u "$TEST_USER" -- mkdir -p "$data"
cd "$stage"
exec runuser -u "$TEST_USER" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$home" USER="$TEST_USER" \
  XDG_RUNTIME_DIR="/run/user/$uid" XDG_DATA_HOME="$data" npx vitest run --project integration "$@"
