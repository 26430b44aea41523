// Every history in test/histories/ (recorded from real runs by `npm run record:histories`,
// and kept from before a patched() change under pre-*/) replays on the current workflow code
// without a non-determinism error: a release with these workflows can take over running
// tier workflows. And a change that is not replay-safe is caught: a tick recorded before
// workflows/tick.ts moved to a local activity fails on that change made without patched().

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker, type WorkflowBundle, bundleWorkflowCode } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import type { temporal } from '@temporalio/proto';
import { bundleWorkflows, installRuntime } from '../../src/worker';
import { historyFromJson } from '../helpers/history-json';

type History = temporal.api.history.v1.IHistory;

const HISTORIES_DIR = join(__dirname, '..', 'histories');

/** Every .json under test/histories/, with the id its workflow ran under. */
function histories(): { file: string; workflowId: string; history: History }[] {
  const files = readdirSync(HISTORIES_DIR, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.json'))
    .sort();
  return files.map((file) => {
    const json = read(file);
    return { file, workflowId: json.workflowId, history: historyFromJson(json) };
  });
}

/** Each history's replay outcome: null when it replayed, else the error's name and message. */
async function replay(workflowBundle: WorkflowBundle, only?: (file: string) => boolean): Promise<Record<string, string | null>> {
  const selected = histories().filter((h) => !only || only(h.file));
  // Replay results come back by workflow id (two runs of a tier share one); map them back to files.
  const results = new Map<string, (string | null)[]>();
  for await (const result of Worker.runReplayHistories({ workflowBundle, replayName: 'replay-test' }, selected)) {
    const list = results.get(result.workflowId) ?? [];
    list.push(result.error ? `${result.error.name}: ${result.error.message}` : null);
    results.set(result.workflowId, list);
  }
  return Object.fromEntries(selected.map((h) => [h.file, results.get(h.workflowId)!.shift()!]));
}

/** A history file's JSON, typed as far as the coverage test reads it. */
interface HistoryJson {
  /** Added by the recorder: the history itself does not carry it. */
  workflowId: string;
  events: {
    eventType: string;
    workflowExecutionStartedEventAttributes?: { workflowType: { name: string } };
    workflowExecutionSignaledEventAttributes?: { signalName: string };
    workflowExecutionUpdateAcceptedEventAttributes?: { acceptedRequest: { input: { name: string } } };
  }[];
}

function read(file: string): HistoryJson {
  return JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8')) as HistoryJson;
}

describe('replaying recorded histories', () => {
  let current: WorkflowBundle;
  beforeAll(async () => {
    installRuntime('warn');
    current = await bundleWorkflows();
  });

  it('covers every workflow type, a continue-as-new and a promotion by signal and by update', () => {
    const files = histories().map((h) => h.file);
    const types = files.map((file) => read(file).events[0]!.workflowExecutionStartedEventAttributes!.workflowType.name);
    expect(new Set(types)).toEqual(new Set(['tierWorkflow', 'batchWorkflow', 'sweepTickWorkflow', 'retierWorkflow', 'webhookDeliveryWorkflow']));
    const { events } = read('tier-first-run.json');
    expect(events.map((e) => e.eventType)).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW');
    const signals = events.flatMap((e) => (e.workflowExecutionSignaledEventAttributes ? [e.workflowExecutionSignaledEventAttributes.signalName] : []));
    expect(signals).toContain('promoteWallets');
    const updates = events.flatMap((e) => (e.workflowExecutionUpdateAcceptedEventAttributes ? [e.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest.input.name] : []));
    expect(updates).toEqual(['promoteWallets']);
    expect(signals.filter((s) => s === 'requestSweep').length).toBeGreaterThanOrEqual(3);
  });

  it('every history replays on the current workflow code', async () => {
    const outcomes = await replay(current);
    expect(Object.keys(outcomes).length).toBeGreaterThanOrEqual(5);
    expect(outcomes).toEqual(Object.fromEntries(Object.keys(outcomes).map((file) => [file, null])));
  });

  it('a tick recorded before the local-activity patch replays on the patched code, and would not without patched()', async () => {
    const before = (file: string) => file.startsWith('pre-tick-local-activity/');
    expect(await replay(current, before)).toEqual({ 'pre-tick-local-activity/tick.json': null });
    const unguarded = await bundleWorkflowCode({ workflowsPath: join(__dirname, 'fixtures', 'tick-unguarded.ts'), logger: silent });
    const outcomes = await replay(unguarded, before);
    expect(outcomes['pre-tick-local-activity/tick.json']).toMatch(/^DeterminismViolationError: .*Nondeterminism error/);
  });

  it('a batch child recorded before several batches per activity replays on the patched code (one checkBatch per batch)', async () => {
    const before = (file: string) => file.startsWith('pre-batches-per-activity/');
    expect(await replay(current, before)).toEqual({ 'pre-batches-per-activity/batch.json': null });
    const activities = (file: string) => read(file).events.flatMap((e) => ((e as { activityTaskScheduledEventAttributes?: { activityType: { name: string } } }).activityTaskScheduledEventAttributes?.activityType.name ?? []));
    expect(new Set(activities('pre-batches-per-activity/batch.json'))).toEqual(new Set(['planBatches', 'checkBatch']));
    expect(new Set(activities('batch.json'))).toEqual(new Set(['planBatches', 'checkBatches']));
  });
});

const silent = { log: () => {}, trace: () => {}, debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
