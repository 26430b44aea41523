-- Each wallet's ATA for each tracked mint, derived once and kept: a derivation (SHA-256 per
-- bump seed and an on-curve check) costs about 0.4 ms of CPU, which for 100,000 wallets × 2
-- mints is 80 s a sweep, and an in-memory cache of them grew with the wallets and was lost at
-- every restart. The token program is part of the key's meaning (the ATA derives from it too).

CREATE TABLE IF NOT EXISTS token_accounts (
  wallet_id     bigint NOT NULL REFERENCES wallets (id) ON DELETE CASCADE,
  mint          text NOT NULL REFERENCES mints (address),
  token_program text NOT NULL,
  address       text NOT NULL,
  PRIMARY KEY (wallet_id, mint)
);
