// The staleness gauges (stalest wallet age, stale flag, wallet count per tier) and the cache
// that keeps their database query cheap however often Prometheus scrapes.

import { Gauge } from 'prom-client';
import type { Sql } from '../db/client';
import { type StalenessStart, stalestWallets, type TierStaleness } from '../db/metrics';
import { log } from '../log';
import { TIERS, type Tier } from '../tiers';
import { PER_TIER } from './definitions';

/** What a scrape shows per tier: the wallet count, and the stalest age extrapolated to now. */
interface StalenessView {
  wallets: number;
  stalestAgeSeconds: number | null;
}

/**
 * The staleness query, run at most once per TTL however often Prometheus scrapes: the TTL is
 * `ttlMs` or 20 times the last query's duration, whichever is longer, so a big database spends
 * at most ~5% of a core on it. Only the first scrape waits for the query; later ones get the
 * latest result at once (a refresh runs behind them), its ages advanced by the time since it
 * ran: between two queries a stale wallet only gets older, unless it is checked meanwhile.
 */
export class StalenessCache {
  private value: Record<Tier, TierStaleness> | null = null;
  private at = 0;
  private tookMs = 0;
  private running: Promise<void> | null = null;

  /**
   * `staleAfterMs`: twice each tier's interval. It is also where the query first looks: a
   * wallet older than that is stale whatever its exact age.
   */
  constructor(
    private readonly sql: Sql,
    readonly staleAfterMs: Record<Tier, number>,
    private readonly ttlMs: number,
  ) {}

  private refresh(): Promise<void> {
    this.running ??= (async () => {
      const started = Date.now();
      // The previous result is a horizon that always holds (see src/db/metrics.ts).
      const start = Object.fromEntries(
        TIERS.map((t): [Tier, StalenessStart] => {
          const oldest = this.value?.[t]?.oldest;
          return [t, oldest ? { since: oldest } : { horizonMs: this.staleAfterMs[t] }];
        }),
      ) as Record<Tier, StalenessStart>;
      try {
        this.value = await stalestWallets(this.sql, start);
        this.at = Date.now();
        this.tookMs = this.at - started;
      } catch (error) {
        // The last result (or none) stays in the scrapes; the next scrape tries again.
        log.warn('metrics: stalest-wallet query failed', { error });
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /** Resolves once no query runs (before the database is closed). */
  async idle(): Promise<void> {
    await this.running;
  }

  async get(): Promise<Record<Tier, StalenessView> | null> {
    if (this.value === null) await this.refresh();
    else if (Date.now() - this.at >= Math.max(this.ttlMs, 20 * this.tookMs)) void this.refresh();
    const value = this.value;
    if (value === null) return null;
    const elapsed = (Date.now() - this.at) / 1000;
    return Object.fromEntries(
      TIERS.map((t) => {
        const tier = value[t];
        const age = tier?.stalestAgeSeconds ?? null;
        return [t, { wallets: tier?.wallets ?? 0, stalestAgeSeconds: age === null ? null : age + elapsed }];
      }),
    ) as Record<Tier, StalenessView>;
  }
}

/** Where the gauges read from: the cache of the metrics server with a database that runs now. */
let current: StalenessCache | null = null;

/** The gauges read `cache` from now on; the returned function stops that (if it is still the one read). */
export function serveStaleness(cache: StalenessCache): () => void {
  current = cache;
  return () => {
    if (current === cache) current = null;
  };
}

/** A per-tier gauge set at each scrape from the current cache's view (none without a cache). */
function stalenessGauge(name: string, help: string, value: (view: StalenessView, staleAfterMs: number) => number): void {
  new Gauge({
    name,
    help,
    ...PER_TIER,
    async collect() {
      const cache = current;
      const views = await cache?.get();
      if (!cache || !views) return;
      for (const tier of TIERS) this.set({ tier }, value(views[tier], cache.staleAfterMs[tier]));
    },
  });
}

stalenessGauge(
  'balance_tracker_stalest_wallet_age_seconds',
  'Seconds since the least recently checked wallet of the tier was checked (or entered the tier, if never since); 0 for a tier without wallets.',
  (view) => view.stalestAgeSeconds ?? 0,
);
stalenessGauge(
  'balance_tracker_tier_stale',
  "1 when the tier's stalest wallet was checked longer ago than twice the tier's interval (TIER_<TIER>_INTERVAL): sweeps are not keeping up, the schedule is paused, or the node lags; else 0.",
  (view, staleAfterMs) => ((view.stalestAgeSeconds ?? 0) * 1000 > staleAfterMs ? 1 : 0),
);
stalenessGauge('balance_tracker_wallets', 'Tracked wallets by tier (those set aside as invalid left out).', (view) => view.wallets);
