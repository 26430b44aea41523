-- "Has a recent batch of this tier covered this wallet?" is asked once per wallet in every
-- sweep plan and batch read. Range containment through a GiST index answers it from the few
-- batches whose id range holds the wallet, instead of scanning all of the tier's recent batches.
CREATE INDEX batch_checks_ids ON batch_checks USING gist (int8range(from_id, to_id, '[]'));

-- Batch rows older than a tier's retention are pruned (see pruneChecks); this records, per
-- tier, the instant before which checks are no longer on record.
CREATE TABLE batch_checks_pruned (
  tier   text PRIMARY KEY,
  before timestamptz NOT NULL
);
