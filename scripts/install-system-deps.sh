#!/usr/bin/env bash
# System programs the test suite uses, installed from Debian's packages when missing:
#   git        - `corral check` detects a target tracked by git
#   util-linux - mount/unshare for the full-disk (ENOSPC) and read-only target tests
#   rsync, brotli, zstd - floors in the benchmark smoke test
set -euo pipefail
missing=()
for pair in git:git mount:mount unshare:util-linux rsync:rsync brotli:brotli zstd:zstd; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "missing system packages: ${missing[*]} (install them with apt-get as root)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
  apt-get update >/dev/null
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
}
