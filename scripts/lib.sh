# Shared by scripts/test.sh, scripts/start.sh and .ci/run (sourced; bash).

# `npm ci` when node_modules is missing or older than package-lock.json.
ensure_node_modules() {
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "installing dependencies (npm ci)" >&2
    npm ci --no-audit --no-fund
  fi
}

# Starts the machine's local Postgres cluster when nothing answers on 127.0.0.1:5432 and the
# Debian cluster tools exist. Elsewhere it does nothing: the code reports what is wrong.
ensure_local_postgres() {
  command -v pg_isready >/dev/null 2>&1 || return 0
  pg_isready -q -h 127.0.0.1 -p 5432 && return 0
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ ! -d /etc/postgresql ]; then
    echo "Postgres does not answer on 127.0.0.1:5432 and there is no local cluster to start" >&2
    return 0
  fi
  local version
  for version in $(ls /etc/postgresql); do
    echo "starting Postgres cluster $version/main" >&2
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
  local tries=0
  until pg_isready -q -h 127.0.0.1 -p 5432; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
      echo "Postgres did not come up on 127.0.0.1:5432" >&2
      return 1
    fi
    sleep 0.5
  done
}
