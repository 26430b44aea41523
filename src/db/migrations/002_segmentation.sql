-- Activity-based segmentation: pins from manual promotions, the change window index,
-- and a record of each re-tiering.

-- A manual promotion pins the wallet to its tier until then; re-tiering leaves it alone.
ALTER TABLE wallets ADD COLUMN pinned_until timestamptz;

-- Re-tiering counts recent changes per wallet.
CREATE INDEX balance_changes_observed_at ON balance_changes (observed_at);

CREATE TABLE retier_runs (
  id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  ran_at   timestamptz NOT NULL DEFAULT now(),
  -- {"medium->high": 12, ...}
  moved    jsonb NOT NULL,
  -- {"high": 120, "medium": 3000, "low": 90000}
  tiers    jsonb NOT NULL,
  pinned   integer NOT NULL
);
