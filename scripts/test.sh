#!/usr/bin/env bash
# README's test command.  Unit tests run as whoever calls this; integration
# tests always run as an unprivileged user with subordinate IDs: yourself, or
# (when called as root, as CI does) the user prepared by scripts/setup-host.sh,
# on a copy of this tree that user can read.
set -euo pipefail
cd "$(dirname "$0")/.."
TEST_USER=${SELKIE_TEST_USER:-selkietest}

npx vitest run --project unit

if [ "$(id -u)" -ne 0 ]; then
  exec npx vitest run --project integration
fi

uid=$(id -u "$TEST_USER")
home=$(getent passwd "$TEST_USER" | cut -d: -f6)
stage=$(bash scripts/stage-for-user.sh "$TEST_USER")
cd "$stage"
exec runuser -u "$TEST_USER" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$home" USER="$TEST_USER" \
  XDG_RUNTIME_DIR="/run/user/$uid" CI="${CI:-}" npx vitest run --project integration
