-- Token balances: each tracked wallet's associated token account for each tracked mint
-- (TRACKED_MINTS), read in the same batches as its lamports, with the same guarantees.

-- A tracked mint as read from chain once: its token program (SPL Token or Token-2022) and decimals.
CREATE TABLE IF NOT EXISTS mints (
  address       text PRIMARY KEY,
  token_program text NOT NULL,
  decimals      smallint NOT NULL CHECK (decimals BETWEEN 0 AND 255),
  discovered_at timestamptz NOT NULL DEFAULT now()
);

-- The last known amount of a wallet's ATA for a mint. A missing or closed ATA is amount 0,
-- on_chain false; the slot it was read at, so an older read never replaces a newer one.
CREATE TABLE IF NOT EXISTS token_balances (
  wallet_id  bigint NOT NULL REFERENCES wallets (id) ON DELETE CASCADE,
  mint       text NOT NULL REFERENCES mints (address),
  amount     numeric(20, 0) NOT NULL CHECK (amount >= 0 AND amount <= 18446744073709551615),
  on_chain   boolean NOT NULL,
  slot       bigint NOT NULL CHECK (slot >= 0),
  changed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (wallet_id, mint)
);

-- One row per observed change of (wallet, mint), keyed so that replaying a write is a no-op.
CREATE TABLE IF NOT EXISTS token_changes (
  wallet_id       bigint NOT NULL REFERENCES wallets (id) ON DELETE CASCADE,
  mint            text NOT NULL REFERENCES mints (address),
  slot            bigint NOT NULL,
  amount          numeric(20, 0) NOT NULL,
  on_chain        boolean NOT NULL,
  -- Null on the first observation, which is not a change for re-tiering.
  previous_amount numeric(20, 0),
  observed_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (wallet_id, mint, slot)
);

-- Re-tiering counts recent changes (a new, empty table: built in the migration's transaction).
CREATE INDEX IF NOT EXISTS token_changes_observed_at ON token_changes (observed_at);
