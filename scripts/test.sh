#!/usr/bin/env bash
# The README's test command: install, build, typecheck, lint, test — on a fresh machine too.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v pnpm >/dev/null 2>&1 || npm install -g pnpm@10.34.9
# engines and verify gates run under bubblewrap: install Debian's package when missing (as root, with apt)
if ! command -v bwrap >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap) >/dev/null 2>&1 ||
    echo "could not install bubblewrap; factories refuse to start without it (or --no-sandbox)" >&2
fi
# the dashboard's end-to-end tests drive Debian's Chromium (never a downloaded browser)
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 ||
    echo "could not install chromium; the dashboard's end-to-end tests need /usr/bin/chromium" >&2
fi
# the scale-out test runs several coordinators behind Debian's nginx: install it when missing
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx) >/dev/null 2>&1 ||
    echo "could not install nginx; apps/factory/test/scale-out.test.ts needs it" >&2
fi
pnpm install --frozen-lockfile
pnpm turbo run build typecheck
# the formatter check and the lint rules (import cycles among them) over the whole repository
pnpm lint
# test files start MongoDB, coordinators and factories: one package at a time on small machines
log=$(mktemp)
trap 'rm -f "$log"' EXIT
pnpm turbo run test --concurrency=1 2>&1 | tee "$log"
# one closing line for the whole suite, summed over the packages' vitest summaries
sed 's/\x1b\[[0-9;]*m//g' "$log" | awk '
  /Tests +[0-9]+/ { for (i = 1; i <= NF; i++) { if ($(i+1) == "passed") p += $i; if ($(i+1) == "failed") f += $i } }
  END { printf "tests: %d passed, %d failed\n", p, f }'
pnpm --silent chaos --short
