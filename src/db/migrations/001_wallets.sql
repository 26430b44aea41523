-- Tracked wallets, their last known balance, and the history of observed changes.

CREATE TABLE wallets (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  address        text NOT NULL UNIQUE,
  tier           text NOT NULL DEFAULT 'medium' CHECK (tier IN ('high', 'medium', 'low')),
  -- When the wallet entered its tier: a batch that read the tier before this did not cover it.
  tier_since     timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- u64 lamports, exact. NULL until the first read.
  lamports       numeric(20, 0) CHECK (lamports >= 0 AND lamports <= 18446744073709551615),
  on_chain       boolean,
  -- The slot the stored balance was read at; a read at an older slot never replaces it.
  slot           bigint CHECK (slot >= 0),
  changed_at     timestamptz,
  -- Set when the RPC can never accept this address; such a wallet is no longer checked.
  invalid_reason text,
  created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX wallets_tier_id ON wallets (tier, id) WHERE invalid_reason IS NULL;

-- One row per observed change, keyed so that replaying a write is a no-op.
CREATE TABLE balance_changes (
  wallet_id         bigint NOT NULL REFERENCES wallets (id) ON DELETE CASCADE,
  slot              bigint NOT NULL,
  lamports          numeric(20, 0) NOT NULL,
  previous_lamports numeric(20, 0),
  observed_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (wallet_id, slot)
);

-- One row per checked batch: marks up to 100 wallets checked without rewriting their rows,
-- so rows written per sweep grow with changes, not with checks.
CREATE TABLE batch_checks (
  batch_key  text PRIMARY KEY,
  tier       text NOT NULL,
  from_id    bigint NOT NULL,
  to_id      bigint NOT NULL,
  -- When the batch read its wallets: it covers wallets of its tier in [from_id, to_id]
  -- that were in the tier before this instant.
  read_at    timestamptz NOT NULL,
  slot       bigint NOT NULL,
  wallets    integer NOT NULL,
  changed    integer NOT NULL,
  checked_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX batch_checks_tier_read_at ON batch_checks (tier, read_at);
