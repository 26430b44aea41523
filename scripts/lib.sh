# Shared by scripts/test.sh, scripts/start.sh and .ci/run (sourced; bash). The local Postgres
# cluster is started, when down, by whoever needs it first: tools/stack/postgres.ts (ensureDatabase).

# `npm ci` when node_modules is missing or older than package-lock.json.
ensure_node_modules() {
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "installing dependencies (npm ci)" >&2
    npm ci --no-audit --no-fund
  fi
}
