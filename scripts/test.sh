#!/usr/bin/env bash
# `npm test [-- vitest args]`: installs what is missing, makes sure the Temporal CLI is there,
# then runs the tests. The stack project's global setup starts the local Postgres cluster when it
# is down (tools/stack/postgres.ts), builds dist/ (test/build.ts) and starts one Temporal dev server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

ensure_node_modules
# temporal for the dev server, tctl for operator tests (each built once into a cache if missing).
npx tsx tools/toolchain/main.ts >/dev/null
exec npx vitest run "$@"
