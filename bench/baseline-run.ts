// Runs one baseline (V1 or the V2 plan) against its own simulator and database: a full sweep
// (stopped at a bound and extrapolated when it would take too long), then the steady state.

import { join } from 'node:path';
import type { BenchParams } from './args';
import { type BaselineCounters, type BaselineOptions, loadBaselineWallets } from './baseline-common';
import type { BaselineKind, FromChild, ToChild } from './baseline-child';
import { forkChild } from './child';
import { createRunDatabase, tableWrites, waitIdle } from './database';
import { type StoredWrite, worldFreshness } from './freshness';
import { beginPhase } from './phase';
import { ProcessMonitor } from './proc';
import { type RunReport, steadyFigures, sweepFigures } from './results';
import { V1_SCHEMA } from './v1';
import { V2_PLAN_SCHEMA } from './v2-plan';
import { startWorld } from './world';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** V1's requests in flight: enough to keep the rate limit busy at this latency, a fixed 16 without a limit. */
export function v1Concurrency(params: BenchParams): number {
  if (params.rps <= 0) return 16;
  return Math.max(1, Math.ceil((params.rps * (params.latencyMs + params.jitterMs + 10) * 1.5) / 1000));
}

export async function runBaseline(kind: BaselineKind, params: BenchParams, logDir: string, say: (line: string) => void): Promise<RunReport> {
  const world = await startWorld(params);
  const db = await createRunDatabase(kind);
  const tables = kind === 'v1' ? { users: 'v1_users', history: 'v1_wallet_balance_history' } : { users: 'v2plan_users', history: 'v2plan_wallet_balance_history' };
  try {
    await db.sql.unsafe(kind === 'v1' ? V1_SCHEMA : V2_PLAN_SCHEMA);
    const wallets = world.addresses.map((address) => ({ address, tier: world.tierOf.get(address)! }));
    await loadBaselineWallets(db.sql, kind === 'v1' ? 'v1_users' : 'v2plan_users', wallets);
    await db.sql`VACUUM ANALYZE`;

    const maxInFlight = kind === 'v1' ? v1Concurrency(params) : 1;
    const options: BaselineOptions = {
      databaseUrl: db.url,
      rpcUrl: world.sim.url,
      rps: params.rps,
      maxInFlight,
      intervalsMs: params.intervalsMs,
      backoffBaseMs: params.v1BackoffBaseMs,
      backoffCapMs: params.v1BackoffCapMs,
    };
    const child = forkChild<ToChild, FromChild>('baseline-child.ts', {}, join(logDir, `${kind}.log`));
    child.send({ type: 'start', kind, options });
    await child.next('ready', 120_000);
    const monitor = new ProcessMonitor(child.pid);

    // Full sweep: every wallet once, or until the bound.
    const bound = kind === 'v1' ? params.baselineMaxSweepSeconds : params.v2PlanMaxSweepSeconds;
    say(`${kind}: full sweep of ${params.wallets} wallets (stopped after ${bound} s if not done)`);
    const sweepPhase = await beginPhase(world, db, monitor);
    child.send({ type: 'sweep' });
    const swept = await Promise.race([child.next('swept', (bound + 600) * 1000), sleep(bound * 1000).then(() => null)]);
    let sweepEnd: { at: number; counters: BaselineCounters };
    if (swept) sweepEnd = swept;
    else {
      child.send({ type: 'snapshot' });
      sweepEnd = await child.next('snapshot');
    }
    const sweepResult = await sweepPhase.end(sweepEnd.at);
    const c1 = sweepEnd.counters;
    const sweep = sweepFigures(params, sweepResult, {
      walletsChecked: c1.walletsChecked,
      completed: swept !== null,
      rows: { inserted: c1.rowsInserted, updated: c1.rowsUpdated, total: c1.rowsInserted + c1.rowsUpdated },
      ownCounters: ownCounters(c1),
    });
    say(`${kind}: ${swept ? 'swept' : 'stopped at the bound after'} ${c1.walletsChecked} wallets in ${sweep.measuredSeconds} s`);

    // Steady state: the service keeps running at its tiers' intervals while balances change.
    const steadyPhase = await beginPhase(world, db, monitor);
    child.send({ type: 'snapshot' });
    const c2 = (await child.next('snapshot')).counters;
    say(`${kind}: steady state for ${params.steadySeconds} s`);
    await sleep(params.steadySeconds * 1000);
    child.send({ type: 'stop' });
    const stopped = await child.next('stopped', 120_000);
    monitor.sample(); // the process exits right after
    const steadyResult = await steadyPhase.end(stopped.at);
    const worker = monitor.summary();
    monitor.stop();
    await child.exited();
    const c3 = stopped.counters;

    const until = stopped.at;
    const rows = await db.sql<{ walletAddress: string; lamports: bigint; at: Date }[]>`
      SELECT wallet_address, balance_lamports AS lamports, timestamp AS at
      FROM ${db.sql(tables.history)} WHERE timestamp >= ${new Date(steadyResult.startedAt)}`;
    const writes: StoredWrite[] = rows.map((r) => ({ address: r.walletAddress, at: r.at.getTime(), lamports: r.lamports }));
    const { changes, freshness } = worldFreshness(world, writes, {
      from: steadyResult.startedAt,
      until,
      graceSeconds: params.freshnessGraceSeconds,
      groupOf: (a) => world.tierOf.get(a),
    });
    const steady = steadyFigures(params, world.tierCounts, steadyResult, kind === 'v1', {
      walletChecks: c3.checks - c2.checks,
      rows: {
        inserted: c3.rowsInserted - c2.rowsInserted,
        updated: c3.rowsUpdated - c2.rowsUpdated,
        total: c3.rowsInserted - c2.rowsInserted + c3.rowsUpdated - c2.rowsUpdated,
      },
      worldChanges: changes,
      freshness,
      sweeps: null,
    });
    await waitIdle(db.sql);
    const pgStat = await tableWrites(db.url);

    const notes: string[] = [];
    if (!sweep.completed) {
      notes.push(
        `full sweep stopped after ${sweep.measuredSeconds} s (${sweep.walletsChecked} of ${params.wallets} wallets); its wall time, requests, rows and WAL per sweep are extrapolated from the measured rate`,
      );
      notes.push('the steady state starts while the first sweep is still unfinished: it keeps checking never-checked wallets');
    }
    if (kind === 'v1') {
      notes.push(
        `${maxInFlight} requests in flight, paced at ${params.rps > 0 ? `${params.rps} requests/s` : 'no limit'}; backoff ${params.v1BackoffBaseMs / 1000} s doubling, capped at ${params.v1BackoffCapMs / 1000} s (the plan's, unscaled)`,
      );
    } else {
      notes.push("batches processed one after another, as the plan's loop does; 'Account not found' wallets are never written");
    }
    return {
      run: kind,
      description:
        kind === 'v1'
          ? 'one getBalance per wallet, a history row and a wallet-row update per check, hand-written backoff'
          : 'getMultipleAccounts per 100 wallets, a history row and a wallet-row update per wallet per check',
      notes,
      tierCounts: world.tierCounts,
      sweep,
      steady,
      worker,
      pgStat,
    };
  } finally {
    await db.drop().catch(() => {});
    await world.stop();
  }
}

function ownCounters(c: BaselineCounters): Record<string, number> {
  return {
    checks: c.checks,
    rateLimited: c.rpcFailures.rateLimited,
    serverErrors: c.rpcFailures.serverError,
    otherErrors: c.rpcFailures.other,
    backoffs: c.backoffs,
    accountNotFound: c.accountNotFound,
    meanCheckMs: c.checks > 0 ? Math.round((c.checkMs / c.checks) * 10) / 10 : 0,
  };
}
