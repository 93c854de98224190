#!/usr/bin/env bash
# The real servers and browser the serving tests run (docs/serving.md), from Debian's
# packages when missing: nginx with the brotli_static module, Caddy, Chromium (driven by
# Playwright, no browser download), and wrk/hey for the benchmarks. The Python servers
# (gunicorn, uvicorn, granian) come from the `test` extra.
set -euo pipefail
missing=()
command -v nginx >/dev/null 2>&1 || missing+=(nginx)
[ -e /usr/lib/nginx/modules/ngx_http_brotli_static_module.so ] ||
  missing+=(libnginx-mod-http-brotli-static)
for pair in caddy:caddy chromium:chromium wrk:wrk hey:hey; do
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
