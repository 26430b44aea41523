#!/bin/sh
# Creates the Temporal server's two Postgres databases when missing and brings their schemas
# to the version the SQL tool embeds (a no-op when they are current). Run by docker-compose.yml
# (temporal-schema, in temporalio/admin-tools) and by tools/stack/cluster.ts, with the settings
# of deploy/temporal-server.yaml:
#   POSTGRES_SEEDS DB_PORT POSTGRES_USER POSTGRES_PWD DBNAME VISIBILITY_DBNAME
#   SQL_TOOL (default temporal-sql-tool)
set -eu
tool=${SQL_TOOL:-temporal-sql-tool}
export SQL_PASSWORD="${POSTGRES_PWD:-}"
for pair in "${DBNAME:-temporal}:temporal" "${VISIBILITY_DBNAME:-temporal_visibility}:visibility"; do
  db=${pair%%:*}
  schema=postgresql/v12/${pair#*:}
  sql() {
    "$tool" --plugin postgres12 --ep "${POSTGRES_SEEDS:-127.0.0.1}" -p "${DB_PORT:-5432}" \
      -u "${POSTGRES_USER:-postgres}" --db "$db" "$@"
  }
  # create-database fails when the database exists; the setup that follows tells the two apart.
  sql create-database >/dev/null 2>&1 || true
  # Version 0.0 marks an empty database as managed; it does nothing to one already set up.
  sql setup-schema -v 0.0
  sql update-schema --schema-name "$schema"
done
