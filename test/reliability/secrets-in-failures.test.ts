// A provider whose error texts carry the API key (its gateway quotes the request's path and
// query in a JSON-RPC error), reached through an RPC URL with the key in its userinfo, path
// and query. The failures that text becomes are retried (a pending activity's last failure,
// then the started event of the attempt that succeeded) or never retried (a failed batch in the
// workflows' results and query answers). Every workflow of the test's task queue is searched
// for the key: its history, its query answer, `temporal workflow describe` while the activity
// is failing and after. The key is nowhere, and the redacted error text is there.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address } from '../../src/address';
import { addWallets } from '../../src/db/wallets';
import { requestTierSweep } from '../../src/tier-control';
import { tierWorkflowId } from '../../src/tiers';
import { cacheDir } from '../../tools/toolchain/binaries';
import { type Engine, startEngine } from '../helpers/engine';
import { asText, recordFigures, waitFor } from '../helpers/reliability';

const run = promisify(execFile);
const KEY = 'fail-4d8e2b7c19-SECRET-API-KEY';
const FORMS = [KEY, encodeURIComponent(KEY), Buffer.from(KEY).toString('base64'), KEY.toLowerCase()];
const WALLETS = 300;
/** What the provider's error says once redacted: the text is kept, the key is not. */
const REDACTED_ECHO = 'upstream request failed for /v2/***?api-key=***';

const leaks = (text: string) => FORMS.filter((form) => text.includes(form));

describe('an error text carrying the RPC API key', () => {
  let engine: Engine;
  const temporal = `${cacheDir()}/temporal`;

  beforeAll(async () => {
    engine = await startEngine({
      rpcUserinfo: `tracker:${KEY}`,
      rpcPathSuffix: `/v2/${KEY}?api-key=${KEY}`,
      simulator: { wallets: 2 * WALLETS, seed: 'secrets-in-failures', basicAuth: { username: 'tracker', password: KEY }, knobs: { echoErrorRate: 1 } },
      env: { RPC_MAX_RPS: '20', TIER_HIGH_INTERVAL: '24h', TIER_MEDIUM_INTERVAL: '24h', TIER_LOW_INTERVAL: '24h', RETIER_INTERVAL: '24h' },
    });
    await addWallets(engine.sql, engine.sim.world.addresses(0, WALLETS) as Address[], 'high');
    await addWallets(engine.sql, engine.sim.world.addresses(WALLETS, WALLETS) as Address[], 'medium');
  }, 300_000);

  afterAll(async () => {
    await engine?.stop();
  }, 120_000);

  /** Every workflow execution of this test's task queue (other test files use other queues). */
  async function executions(): Promise<{ workflowId: string; runId: string; type: string }[]> {
    const out = [];
    for await (const e of engine.client.workflow.list({ query: `TaskQueue = '${engine.config.temporal.taskQueue}'` })) {
      out.push({ workflowId: e.workflowId, runId: e.runId, type: e.type });
    }
    return out;
  }

  /** `temporal workflow describe` of every workflow of the queue, as an operator would run it. */
  async function describeAll(): Promise<string> {
    const outputs: string[] = [];
    for (const e of await executions()) {
      for (const format of ['text', 'json']) {
        const { stdout } = await run(temporal, [
          'workflow', 'describe', '--workflow-id', e.workflowId, '--run-id', e.runId,
          '--address', engine.config.temporal.address, '--namespace', engine.config.temporal.namespace, '--output', format,
        ]);
        outputs.push(stdout);
      }
    }
    return outputs.join('\n');
  }

  it('reaches no history, query answer or `temporal workflow describe`, retried or not', async () => {
    // 1. Every request fails with the echo, retryably: the batches' activities keep failing.
    await requestTierSweep(engine.client, engine.config, 'high', 'secrets-in-failures');
    const failing = await waitFor('a batch activity retried after an echoed error', async () => {
      for (const e of await executions()) {
        if (e.type !== 'batchWorkflow') continue;
        const { raw } = await engine.client.workflow.getHandle(e.workflowId, e.runId).describe();
        const pending = raw.pendingActivities?.find((a) => (a.attempt ?? 0) >= 2 && a.lastFailure?.message);
        if (pending) return pending.lastFailure!.message!;
      }
      return undefined;
    }, 120_000, 500);
    expect(failing).toContain(REDACTED_ECHO);
    const whileFailing = await describeAll();
    expect(whileFailing).toContain(REDACTED_ECHO);
    expect(leaks(whileFailing)).toEqual([]);

    // 2. The provider recovers: the sweep completes (the credentials were sent as Basic auth).
    engine.sim.setKnobs({ echoErrorRate: 0 });
    const first = await engine.waitForSweeps('high', 1, 180_000);
    expect(first.lastSweep).toMatchObject({ due: WALLETS, walletsChecked: WALLETS, batchesFailed: 0 });

    // 3. Errors that are never retried: every batch of the other tier's sweep fails, its text kept.
    engine.sim.setKnobs({ echoErrorRate: 1, echoErrorCode: 32602 });
    await requestTierSweep(engine.client, engine.config, 'medium', 'secrets-in-failures, rejected');
    const second = await engine.waitForSweeps('medium', 1, 180_000);
    expect(second.lastSweep).toMatchObject({ due: WALLETS, walletsChecked: 0, batchesFailed: 3 });

    for (const tier of ['high', 'medium'] as const) {
      expect(leaks(asText(await engine.client.workflow.getHandle(tierWorkflowId(tier)).query('progress')))).toEqual([]);
    }
    let histories = 0;
    let answers = 0;
    let echoesInHistories = 0;
    let echoesInAnswers = 0;
    const types = new Set<string>();
    for (const e of await executions()) {
      const handle = engine.client.workflow.getHandle(e.workflowId, e.runId);
      const history = asText(await handle.fetchHistory());
      expect({ workflow: e.workflowId, leaks: leaks(history) }).toEqual({ workflow: e.workflowId, leaks: [] });
      if (history.includes(REDACTED_ECHO)) echoesInHistories++;
      histories++;
      types.add(e.type);
      if (e.type === 'batchWorkflow') {
        const answer = asText(await handle.query('progress'));
        expect(leaks(answer)).toEqual([]);
        if (answer.includes(REDACTED_ECHO)) echoesInAnswers++;
        answers++;
      }
    }
    expect([...types]).toEqual(expect.arrayContaining(['batchWorkflow', 'tierWorkflow']));
    // The control: the error text did reach Temporal (retried: the last failure of the started
    // event; never retried: the failed batches' results and query answers), redacted.
    expect(echoesInHistories).toBeGreaterThanOrEqual(2);
    expect(echoesInAnswers).toBeGreaterThanOrEqual(1);
    const afterwards = await describeAll();
    expect(leaks(afterwards)).toEqual([]);

    const stats = engine.sim.stats();
    recordFigures('secrets-in-failures', {
      workflowsSearched: histories,
      queryAnswersSearched: answers + 2,
      historiesWithTheRedactedError: echoesInHistories,
      answersWithTheRedactedError: echoesInAnswers,
      rpcRequests: stats.httpRequests,
      rpcOutcomes: stats.httpOutcomes,
      keyFound: 0,
    });
  }, 600_000);
});
