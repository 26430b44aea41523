-- A batch's coverage counts for the next sweep by when its own sweep was planned, not by when
-- it read (see dueWallets): a long sweep's late batches must not make its wallets look recent.
-- Rows from before this column existed take their read instant, as before. The default keeps
-- an older worker's inserts (which lack the column) working during a rolling deploy.
ALTER TABLE batch_checks ADD COLUMN planned_at timestamptz NOT NULL DEFAULT now();
UPDATE batch_checks SET planned_at = read_at;
CREATE INDEX batch_checks_tier_planned_at ON batch_checks (tier, planned_at);
