#!/usr/bin/env bash
# Copies this built tree to USER's home so that an unprivileged user can run
# it (a root-owned checkout is often not readable by others).  Prints the path.
# STAGE_NAME picks another directory name, for several trees side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
user=$1
home=$(getent passwd "$user" | cut -d: -f6)
stage="$home/${STAGE_NAME:-selkie-under-test}"
rm -rf "$stage"
mkdir -p "$stage"
tar --exclude=./.git -cf - . | tar -xf - -C "$stage"
chown -R "$user:" "$stage"
uid=$(id -u "$user")
mkdir -p "/run/user/$uid" && chown "$user:" "/run/user/$uid" && chmod 700 "/run/user/$uid"
echo "$stage"
