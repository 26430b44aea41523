-- migrate: no-transaction
-- Activity-based segmentation: pins from manual promotions, the change window index,
-- and a record of each re-tiering. No transaction: the index on the history table is built
-- concurrently, so writers are not blocked while it builds.

-- A manual promotion pins the wallet to its tier until then; re-tiering leaves it alone.
ALTER TABLE wallets ADD COLUMN IF NOT EXISTS pinned_until timestamptz;

-- Re-tiering counts recent changes per wallet. A build that a crash interrupted leaves an
-- invalid index behind: drop it, so the build runs again.
DROP INDEX CONCURRENTLY IF EXISTS balance_changes_observed_at;
CREATE INDEX CONCURRENTLY balance_changes_observed_at ON balance_changes (observed_at);

CREATE TABLE IF NOT EXISTS retier_runs (
  id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  ran_at   timestamptz NOT NULL DEFAULT now(),
  -- {"medium->high": 12, ...}
  moved    jsonb NOT NULL,
  -- {"high": 120, "medium": 3000, "low": 90000}
  tiers    jsonb NOT NULL,
  pinned   integer NOT NULL
);
