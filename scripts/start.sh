#!/usr/bin/env bash
# `npm start [-- args]`: installs what is missing, builds dist/ (seconds when nothing changed),
# makes sure the Temporal CLI is there, then runs the local stack from the build
# (dist/tools/stack/main.js), which starts what is not configured elsewhere.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

ensure_node_modules
bash scripts/build.sh
node dist/tools/toolchain/main.js --temporal-only >/dev/null
exec node --enable-source-maps dist/tools/stack/main.js "$@"
