#!/usr/bin/env bash
# `npm run record:histories`: records the workflow histories test/replay/replay.test.ts replays
# (see test/replay/record-histories.ts). Needs what `npm test` needs: the Temporal CLI, Postgres
# (started when local and down, as in npm test).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

ensure_node_modules
exec npx tsx test/replay/record-histories.ts "$@"
