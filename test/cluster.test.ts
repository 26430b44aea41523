// Which cluster: the simulator serves getGenesisHash as a validator does (one hash per seed),
// its wall-clock slot never goes back, and the database keeps the first cluster it recorded.

import { createSolanaRpc } from '@solana/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Sql } from '../src/db/client';
import { checkCluster } from '../src/cluster';
import { recordCluster, recordedCluster } from '../src/db/cluster';
import { migrate } from '../src/db/migrate';
import { readGenesisHash } from '../src/rpc/genesis';
import { type SimulatorHandle, startSimulator } from '../tools/simulator/server';
import { wallClockSlot } from '../tools/simulator/world';
import { type FreshDatabase, freshDatabase } from './helpers/database';
import { startRedirectingServer } from './helpers/redirecting-server';

describe('cluster identity', () => {
  let a: SimulatorHandle;
  let b: SimulatorHandle;
  let db: FreshDatabase;
  let sql: Sql;
  beforeAll(async () => {
    [a, b, db] = await Promise.all([startSimulator({ port: 0, wallets: 5, seed: 'one' }), startSimulator({ port: 0, wallets: 5, seed: 'two' }), freshDatabase('cluster')]);
    sql = connect(db.url, { max: 2 });
    await migrate(sql);
  });
  afterAll(async () => {
    await sql?.end();
    await Promise.all([a?.stop(), b?.stop(), db?.drop()]);
  });

  it('getGenesisHash answers a base58 hash through the Solana SDK, one per seed, and takes no parameters', async () => {
    const hash = await createSolanaRpc(a.url).getGenesisHash().send();
    expect(hash).toBe(a.world.genesisHash);
    expect(hash).toMatch(/^[1-9A-HJ-NP-Za-km-z]{43,44}$/);
    expect(await readGenesisHash(a.url, 5_000)).toBe(hash);
    const again = await startSimulator({ port: 0, wallets: 5, seed: 'one' });
    expect(again.world.genesisHash).toBe(hash);
    await again.stop();
    expect(await readGenesisHash(b.url, 5_000)).not.toBe(hash);
    const response = await fetch(a.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getGenesisHash', params: [1] }) });
    expect(((await response.json()) as { error: { code: number } }).error.code).toBe(-32602);
  });

  it('the wall-clock start slot only moves forward with time', () => {
    const now = Date.UTC(2026, 11, 2);
    expect(wallClockSlot(now + 400)).toBe(wallClockSlot(now) + 1);
    expect(wallClockSlot(now + 3_600_000)).toBeGreaterThan(wallClockSlot(now));
    expect(wallClockSlot(now)).toBeGreaterThan(300_000_000); // past the simulator's old fixed start
  });

  it('refuses a redirecting SOLANA_RPC_URL at once, recording nothing', async () => {
    const front = await startRedirectingServer(308, a.url);
    try {
      await expect(checkCluster(sql, { rpcUrl: front.url, timeoutMs: 5_000, attempts: 3 })).rejects.toThrow('SOLANA_RPC_URL answered with a redirect (HTTP 308)');
      expect(front.requests()).toBe(1);
      expect(await recordedCluster(sql)).toBeNull();
    } finally {
      await front.close();
    }
  });

  it('records the first cluster and keeps it', async () => {
    expect(await recordedCluster(sql)).toBeNull();
    expect(await recordCluster(sql, a.world.genesisHash)).toBe(a.world.genesisHash);
    expect(await recordCluster(sql, b.world.genesisHash)).toBe(a.world.genesisHash);
    expect(await recordedCluster(sql)).toBe(a.world.genesisHash);
  });
});
