#!/usr/bin/env bash
# `npm start [-- args]`: installs what is missing, makes sure the Temporal CLI is there, then
# runs the local stack (tools/stack/main.ts), which starts what is not configured elsewhere.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

ensure_node_modules
npx tsx tools/toolchain/main.ts --temporal-only >/dev/null
exec npx tsx tools/stack/main.ts "$@"
