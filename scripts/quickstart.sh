#!/usr/bin/env bash
# One command from a fresh clone to a running container: prepare the host,
# build selkie, import a busybox image, run a container in it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -eq 0 ]; then
  run_user=${SELKIE_USER:-${SUDO_USER:-selkietest}}
  [ "$run_user" = root ] && run_user=selkietest
  bash scripts/setup-host.sh "$run_user"
  npm ci --no-audit --no-fund
  if [ -n "${SUDO_USER:-}" ] && [ "$run_user" = "$SUDO_USER" ]; then
    chown -R "$SUDO_USER:" .
    dir=$PWD
  else
    dir=$(bash scripts/stage-for-user.sh "$run_user")
  fi
  uid=$(id -u "$run_user")
  exec runuser -u "$run_user" -- env XDG_RUNTIME_DIR="/run/user/$uid" HOME="$(getent passwd "$run_user" | cut -d: -f6)" \
    node "$dir/scripts/demo.mjs"
fi
sudo bash scripts/setup-host.sh "$USER"
npm ci --no-audit --no-fund
exec node scripts/demo.mjs
