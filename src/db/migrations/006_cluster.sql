-- Which Solana cluster the stored balances and slots came from. Slots of two clusters are not
-- comparable, so a worker refuses to run against another cluster (src/cluster.ts). One row.
CREATE TABLE IF NOT EXISTS cluster (
  id           boolean PRIMARY KEY DEFAULT true CHECK (id),
  genesis_hash text NOT NULL,
  recorded_at  timestamptz NOT NULL DEFAULT now()
);
