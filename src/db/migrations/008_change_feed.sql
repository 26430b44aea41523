-- The change feed: every stored balance change, SOL or token, at a position in one total order,
-- so a consumer (the `changes` CLI, webhook delivery) reads "after position P, up to n" through
-- the primary key. History tables feed it by statement-level trigger, so their writers need not
-- know it exists: balance_changes (asset 'SOL', lamports) and token_changes (asset = the mint
-- address, base units). A new history table adds a trigger of the same shape.
--
-- The outbox gap: a sequence hands out values at insert, not at commit, so a reader could see
-- position 11 committed while 10 is still in flight and move its cursor past 10 for good.
-- change_feed_claim() takes one transaction-scoped advisory lock before any position is drawn,
-- held until commit: a transaction draws positions only after every earlier drawer committed
-- (or rolled back), so positions become visible in order. Writers serialize only from their
-- history insert (the end of writeBatch's statement) to their commit. A rolled-back transaction
-- leaves a hole, which readers skip: holes are never filled later.
--
-- Feed rows carry the wallet's address and outlive its removal: a change stored before the
-- removal is still delivered to a consumer that is behind.

CREATE SEQUENCE change_feed_position AS bigint;

CREATE TABLE change_feed (
  position    bigint PRIMARY KEY,
  wallet_id   bigint NOT NULL,
  address     text NOT NULL,
  -- 'SOL', or a token's mint address.
  asset       text NOT NULL,
  slot        bigint NOT NULL,
  -- u64 base units (lamports for SOL), exact. previous is NULL for the first observation.
  amount      numeric(20, 0) NOT NULL,
  previous    numeric(20, 0),
  observed_at timestamptz NOT NULL
);

-- Call once per inserting statement that has rows, before drawing positions; see the gap above. Followers
-- LISTEN on change_feed: a notification is delivered when this transaction commits.
CREATE FUNCTION change_feed_claim() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(1717921124); -- 0x66656564, "feed"
  PERFORM pg_notify('change_feed', '');
END $$;

CREATE FUNCTION change_feed_from_balance_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- writeBatch's insert runs in every batch, mostly with no rows: those take no lock.
  IF NOT EXISTS (SELECT 1 FROM inserted) THEN RETURN NULL; END IF;
  PERFORM change_feed_claim();
  INSERT INTO change_feed (position, wallet_id, address, asset, slot, amount, previous, observed_at)
  SELECT nextval('change_feed_position'), s.*
  FROM (
    SELECT n.wallet_id, w.address, 'SOL', n.slot, n.lamports, n.previous_lamports, n.observed_at
    FROM inserted n JOIN wallets w ON w.id = n.wallet_id
    ORDER BY n.wallet_id, n.slot) s;
  RETURN NULL;
END $$;

CREATE FUNCTION change_feed_from_token_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM inserted) THEN RETURN NULL; END IF;
  PERFORM change_feed_claim();
  INSERT INTO change_feed (position, wallet_id, address, asset, slot, amount, previous, observed_at)
  SELECT nextval('change_feed_position'), s.*
  FROM (
    SELECT n.wallet_id, w.address, n.mint, n.slot, n.amount, n.previous_amount, n.observed_at
    FROM inserted n JOIN wallets w ON w.id = n.wallet_id
    ORDER BY n.wallet_id, n.mint, n.slot) s;
  RETURN NULL;
END $$;

-- No insert between the backfill and the triggers: writers wait for this migration's commit.
LOCK TABLE balance_changes, token_changes IN SHARE ROW EXCLUSIVE MODE;

INSERT INTO change_feed (position, wallet_id, address, asset, slot, amount, previous, observed_at)
SELECT nextval('change_feed_position'), s.*
FROM (
  SELECT c.wallet_id, w.address, 'SOL' AS asset, c.slot, c.lamports, c.previous_lamports, c.observed_at
  FROM balance_changes c JOIN wallets w ON w.id = c.wallet_id
  UNION ALL
  SELECT t.wallet_id, w.address, t.mint, t.slot, t.amount, t.previous_amount, t.observed_at
  FROM token_changes t JOIN wallets w ON w.id = t.wallet_id
  ORDER BY observed_at, wallet_id, asset, slot) s;

CREATE TRIGGER change_feed AFTER INSERT ON balance_changes
  REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION change_feed_from_balance_changes();

CREATE TRIGGER change_feed AFTER INSERT ON token_changes
  REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION change_feed_from_token_changes();
