-- A batch covers exactly the wallets whose balances it read, not its planned id range: wallets
-- that entered the range after planning, past the 100th, or in a move whose transaction had not
-- committed when the batch read, were marked checked without a read. Rows without the list (an
-- older worker's, during a rolling deploy) cover nothing, so those wallets are read again.
ALTER TABLE batch_checks ADD COLUMN wallet_ids bigint[];

-- The newest slot among pruned batch rows: no read at an older slot is trusted once their own
-- record of it is gone.
ALTER TABLE batch_checks_pruned ADD COLUMN slot bigint;

-- When the wallet's balance was first read. Re-tiering leaves a wallet in the tier it was added
-- with until it has been observed for a whole RETIER_WINDOW.
ALTER TABLE wallets ADD COLUMN first_read_at timestamptz;
UPDATE wallets w SET first_read_at = f.observed_at
FROM (SELECT DISTINCT ON (wallet_id) wallet_id, observed_at FROM balance_changes ORDER BY wallet_id, slot) f
WHERE f.wallet_id = w.id;
