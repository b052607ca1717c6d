#!/usr/bin/env bash
# The README's test command: install, build, typecheck, lint, test — on a fresh machine too.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v pnpm >/dev/null 2>&1 || npm install -g pnpm@10.34.9
pnpm install --frozen-lockfile
pnpm turbo run build typecheck lint
# test files start MongoDB, coordinators and factories: one package at a time on small machines
pnpm turbo run test --concurrency=1
