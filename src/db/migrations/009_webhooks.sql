-- Webhook delivery (WEBHOOK_URL): where delivery stands in the change feed, the batches
-- delivered (for the lag figures) and the batches given up on (dead letters, for replay).
--
-- One delivery cursor per database: the service delivers the feed to one receiver. A batch is
-- claimed before it is sent (pending_to): a retried or resumed batch is the same positions,
-- so the same body, idempotency key and signature, whoever sends it.

CREATE TABLE webhook_cursor (
  singleton         boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  -- Every change at or before this position is delivered or dead-lettered.
  position          bigint NOT NULL DEFAULT 0,
  -- The claimed batch is (position, pending_to]; NULL when none is claimed.
  pending_to        bigint,
  batches_delivered bigint NOT NULL DEFAULT 0,
  changes_delivered bigint NOT NULL DEFAULT 0,
  -- Attempts that failed (each retry counts), and the newest failure, redacted.
  failed_attempts   bigint NOT NULL DEFAULT 0,
  last_error        text,
  last_error_at     timestamptz,
  last_delivered_at timestamptz
);
INSERT INTO webhook_cursor DEFAULT VALUES;

-- One row per delivered batch: a change's delivery lag is delivered_at - its observed_at.
CREATE TABLE webhook_deliveries (
  first_position bigint PRIMARY KEY,
  last_position  bigint NOT NULL,
  changes        integer NOT NULL,
  attempts       integer NOT NULL,
  delivered_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_delivered_at ON webhook_deliveries (delivered_at);

-- Batches not delivered: refused by the receiver (a 4xx other than 408/429), or still failing
-- when their oldest change was older than WEBHOOK_MAX_AGE. `webhooks replay` re-sends them.
CREATE TABLE webhook_dead_letters (
  first_position  bigint PRIMARY KEY,
  last_position   bigint NOT NULL,
  changes         integer NOT NULL,
  -- 'rejected' (a 4xx) or 'expired' (past WEBHOOK_MAX_AGE).
  reason          text NOT NULL CHECK (reason IN ('rejected', 'expired')),
  error           text,
  oldest_observed timestamptz NOT NULL,
  dead_at         timestamptz NOT NULL DEFAULT now()
);
