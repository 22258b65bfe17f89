#!/usr/bin/env bash
# Installs what Warren needs on a fresh Debian 12 host (run as root), then the npm
# dependencies, then builds. Safe to run again: it only installs what is missing.
# `--tests` adds what only the test suite needs (Debian's Chromium for the console's browser tests).
set -euo pipefail
cd "$(dirname "$0")/.."
WITH_TESTS=0
for arg in "$@"; do
  case "$arg" in
    --tests) WITH_TESTS=1 ;;
    *) echo "setup: unknown option $arg (known: --tests)" >&2; exit 2 ;;
  esac
done

# skopeo: reads image archives (src/images/oci/skopeo.ts); attr: setfattr for opaque directories of layers.
APT_PACKAGES=(bubblewrap nftables conntrack debootstrap ripgrep e2fsprogs xfsprogs zstd tar iproute2 util-linux ca-certificates skopeo attr)
# The agent's runtime bundle (src/storage/runtime-bundle.ts: Node, rg, tar, gzip made relocatable with patchelf);
# busybox-static: the glibc-free root of test/drivers/busybox-root.test.ts.
APT_PACKAGES+=(patchelf gzip busybox-static)
# Dockerfile builds: ADD extracts gzip, bzip2, xz and zstd archives; getfattr (attr) reads a RUN layer's opaque marks
APT_PACKAGES+=(bzip2 xz-utils)
# The console's browser tests (test/console/*): playwright-core drives Debian's Chromium, never a downloaded one.
if [ "$WITH_TESTS" = 1 ]; then APT_PACKAGES+=(chromium fonts-dejavu-core); fi
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# OpenSSH's server is bundled into workspaces (src/ssh/bundle.ts); the host's own sshd must never run
# (no unit starts, port 22 of the host is never touched). policy-rc.d (exit 101) stops the package from
# starting it, Debian's sshd_not_to_be_run flag keeps ssh.service from starting it later, and the units
# are masked. A host that already has openssh-server (its own sshd) is left as it is.
if ! dpkg-query -W -f='${Status}' openssh-server 2>/dev/null | grep -q "install ok installed" \
  || ! command -v patchelf >/dev/null; then
  echo "setup: installing openssh-server (bundled into workspaces; the host's sshd stays off) and patchelf"
  export DEBIAN_FRONTEND=noninteractive
  had_ssh=$(dpkg-query -W -f='${Status}' openssh-server 2>/dev/null | grep -c "install ok installed" || true)
  policy=/usr/sbin/policy-rc.d
  saved_policy=""
  if [ -e "$policy" ]; then saved_policy=$(mktemp); cp -p "$policy" "$saved_policy"; fi
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy"
  if [ "$had_ssh" = 0 ]; then mkdir -p /etc/ssh && touch /etc/ssh/sshd_not_to_be_run; fi
  apt-get update -q
  apt-get install -y -q --no-install-recommends openssh-server patchelf || { echo "setup: apt failed" >&2; }
  if [ -n "$saved_policy" ]; then mv "$saved_policy" "$policy"; else rm -f "$policy"; fi
  if [ "$had_ssh" = 0 ] && command -v systemctl >/dev/null; then
    systemctl mask ssh.service ssh.socket >/dev/null 2>&1 || true
  fi
  dpkg-query -W -f='${Status}' openssh-server 2>/dev/null | grep -q "install ok installed" || exit 1
fi

# PostgreSQL's server binaries, for the tests only (issue 16): each test file starts its own throwaway cluster
# in a temporary directory (test/support/postgres.ts). No service starts (policy-rc.d refuses it), and the
# cluster the package makes at install is dropped: nothing of it stays running or listening.
if [ "$WITH_TESTS" = 1 ] && ! dpkg-query -W -f='${Status}' postgresql-15 2>/dev/null | grep -q "install ok installed"; then
  echo "setup: installing postgresql-15 (test clusters only; its default cluster dropped, no service started)"
  export DEBIAN_FRONTEND=noninteractive
  policy=/usr/sbin/policy-rc.d
  saved_policy=""
  if [ -e "$policy" ]; then saved_policy=$(mktemp); cp -p "$policy" "$saved_policy"; fi
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy"
  apt-get update -q
  apt-get install -y -q --no-install-recommends postgresql-15 || { echo "setup: apt failed" >&2; }
  if [ -d /etc/postgresql/15/main ]; then pg_dropcluster --stop 15 main || true; fi
  if [ -n "$saved_policy" ]; then mv "$saved_policy" "$policy"; else rm -f "$policy"; fi
  dpkg-query -W -f='${Status}' postgresql-15 2>/dev/null | grep -q "install ok installed" || exit 1
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node 20 or newer is required (found $(node -v))" >&2
  exit 1
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies"
  npm ci --no-audit --no-fund
fi
npm run build --silent
echo "setup: done"
