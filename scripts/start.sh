#!/usr/bin/env bash
# The README's start command: install, build, start a local fleet (MongoDB, a coordinator,
# one factory) in the foreground, submit examples/hello.md and follow it until it ships.
# Ctrl-C stops the whole fleet.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v pnpm >/dev/null 2>&1 || npm install -g pnpm@10.34.9
# engines and verify gates run under bubblewrap: install Debian's package when missing (as root, with apt)
if ! command -v bwrap >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap) >/dev/null 2>&1 ||
    echo "could not install bubblewrap; factories refuse to start without it (or --no-sandbox)" >&2
fi
pnpm install --frozen-lockfile
pnpm turbo run build --output-logs=errors-only

# `gf` as `pnpm gf` runs it (the root script), so the hints it prints say `pnpm gf`
gf() { npm_lifecycle_event=gf INIT_CWD="$PWD" node packages/sdk/bin/gf.mjs "$@"; }
rm -f .gigafactory/fleet.json
gf up "$@" &
fleet=$!
trap 'kill -INT "$fleet" 2>/dev/null; wait "$fleet"' INT TERM
for _ in $(seq 1 240); do
  [ -s .gigafactory/fleet.json ] && break
  kill -0 "$fleet" 2>/dev/null || { echo "gf up exited early" >&2; exit 1; }
  sleep 0.5
done
[ -s .gigafactory/fleet.json ] || { echo "the fleet did not come up in 2 minutes" >&2; kill -INT "$fleet"; exit 1; }
gf submit --wait examples/hello.md
cat <<NEXT

The hello job shipped. The fleet keeps running here; in another terminal, in $PWD:
  pnpm gf jobs                 # every job and its stage
  pnpm gf submit --wait examples/with-verify.md
  pnpm gf logs <job-id> -f     # follow a job's events
  pnpm gf factories            # the fleet
Press Ctrl-C here to stop it.
NEXT
wait "$fleet"
