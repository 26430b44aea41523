#!/usr/bin/env bash
# `npm run build`: compiles the service and the tools into dist/ (tsconfig.build.json), and
# copies the SQL migrations beside their compiled runner. Incremental: with nothing changed it
# takes seconds, so `npm start` and the test run build every time instead of trusting dist/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
npx tsc -p tsconfig.build.json
rm -rf dist/src/db/migrations
cp -R src/db/migrations dist/src/db/migrations
