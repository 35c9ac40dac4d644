#!/usr/bin/env bash
# Prepares a Debian 12 host for rootless selkie (run as root):
#   - installs the runtime pieces (crun, uidmap, fuse-overlayfs, ...) and the
#     peers the tests and benchmark compare against (podman, skopeo, registry);
#   - fixes the quirks of these machines described in shared/HOST.md;
#   - gives USER (default: selkietest, created if missing) a large subordinate
#     ID range and an XDG_RUNTIME_DIR.
# Idempotent: safe to run again.
set -euo pipefail

TEST_USER=${1:-selkietest}
SUBID_COUNT=${SELKIE_SUBID_COUNT:-4194304}

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-host.sh must run as root (try: sudo bash $0 $TEST_USER)" >&2
  exit 1
fi

PACKAGES="crun conmon uidmap fuse-overlayfs fuse3 slirp4netns passt catatonit busybox-static libseccomp-dev zstd apache2-utils \
  docker-registry skopeo podman iproute2 nftables procps util-linux"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# The registry package starts a system service we do not want: tests start their own.
systemctl disable --now docker-registry >/dev/null 2>&1 || true

# These machines ship /dev/fuse and /dev/net/tun 0600; rootless use needs 0666.
for dev in /dev/fuse /dev/net/tun; do
  [ -e "$dev" ] && chmod 666 "$dev"
done

# cgroup v1 + a v2 hierarchy holding hugetlb: crun refuses that "hybrid" setup.
if [ -d /sys/fs/cgroup/unified ] && grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null; then
  mkdir -p /sys/fs/cgroup/hugetlb
  mountpoint -q /sys/fs/cgroup/hugetlb || mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
fi

# The unprivileged user, with a range large enough for many container blocks.
if ! id "$TEST_USER" >/dev/null 2>&1; then
  useradd -m -s /bin/bash "$TEST_USER"
fi
uid=$(id -u "$TEST_USER")
# A range given earlier (by useradd, or an older version of this script) that
# is too small is replaced; the user's session namespace, mapped from the old
# range, is ended so that the next selkie command maps the new one.
resized=0
for f in /etc/subuid /etc/subgid; do
  touch "$f"
  have=$(awk -F: -v u="$TEST_USER" '$1 == u {s += $3} END {print s + 0}' "$f")
  if [ "$have" -gt 0 ] && [ "$have" -lt "$SUBID_COUNT" ]; then
    sed -i "/^$TEST_USER:/d" "$f"
    resized=1
  fi
done
if [ "$resized" -eq 1 ]; then
  pkill -KILL -u "$TEST_USER" 2>/dev/null || true
  rm -f "/run/user/$uid/selkie/pause.pid"
  # Stores written under the old mapping hold files of IDs that now mean others.
  home=$(getent passwd "$TEST_USER" | cut -d: -f6)
  rm -rf "$home"/.selkie-test-data* "$home"/.local/share/selkie
fi
for f in /etc/subuid /etc/subgid; do
  if ! grep -q "^$TEST_USER:" "$f"; then
    # Start above every range already handed out.
    start=$(awk -F: 'BEGIN{m=100000} {e=$2+$3; if (e>m) m=e} END{print m}' /etc/subuid /etc/subgid)
    echo "$TEST_USER:$start:$SUBID_COUNT" >> "$f"
  fi
done
# A user with no subordinate IDs at all, for the single-mapping tests.
if ! id selkienosub >/dev/null 2>&1; then
  useradd -m -s /bin/bash selkienosub
fi
sed -i '/^selkienosub:/d' /etc/subuid /etc/subgid

for u in "$TEST_USER" selkienosub; do
  id_=$(id -u "$u")
  mkdir -p "/run/user/$id_"
  chown "$u:" "/run/user/$id_"
  chmod 700 "/run/user/$id_"
done
echo "host ready: user $TEST_USER (uid $uid) has $(grep "^$TEST_USER:" /etc/subuid | cut -d: -f3) subordinate IDs"
