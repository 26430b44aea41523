// Value types of the database shared with code that must not load the driver (workflows
// import src/db/checks for its IdRange and MAX_BATCH).

/**
 * A row id (wallets.id and the columns naming it): bigint in Postgres, a number in code and in
 * workflow payloads, which are JSON. Exact: an identity hands out one value per attempted
 * insert, so reaching 2^53 would take 285 years at a million inserts a second; the client
 * refuses a larger value rather than round it.
 */
export type WalletId = number;

/** Postgres' numeric type, which holds u64 lamports: how they are sent (see src/db/client). */
export const NUMERIC = 1700;
