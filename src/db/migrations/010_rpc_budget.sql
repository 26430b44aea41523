-- The RPC budget shared by every worker (src/rpc/pacer.ts): the instant the next RPC call may
-- be made, on Postgres's clock. Each call reserves its turn by moving it on by one gap in one
-- UPDATE (src/db/rpc-budget.ts), so no two calls of any workers share a turn. One row.
CREATE TABLE IF NOT EXISTS rpc_budget (
  id      boolean PRIMARY KEY DEFAULT true CHECK (id),
  next_at timestamptz NOT NULL DEFAULT '-infinity'
) WITH (fillfactor = 10);
INSERT INTO rpc_budget DEFAULT VALUES ON CONFLICT (id) DO NOTHING;
