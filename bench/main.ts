// `npm run bench -- [--wallets N] [--rps R] [--latency-ms L] [--change-rate C] [--runs …] [--out DIR]`
//
// V1, the V2 plan as written, and this service, one after another against the RPC simulator
// (the same seed: the same wallets and, slot for slot from each run's start, the same balance
// changes), each on its own throwaway database; then this service with segmentation off and on
// at the same RPC budget (issue 7). Writes DIR/report.json, report.md and report.svg and prints
// the tables. See bench/README.md.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startTemporalCluster } from '../tools/stack/cluster';
import { startDevServer } from '../tools/stack/devserver';
import { parseBenchArgs, type BenchParams, type RunName, SEGMENTATION_RUNS, type SegmentationRunName, type TemporalKind, TRACKER_RUNS, type TrackerRunName, UsageError, USAGE } from './args';
import { runBaseline, v1Concurrency } from './baseline-run';
import { dropLiveDatabases } from './database';
import { measureImport, type ImportReport } from './import-run';
import { chart, evaluateTargets, type Machine, markdown, plainTable, type Report } from './report';
import type { RunReport } from './results';
import { planSegmentation, runSegmentation, type SegmentationPlan, type SegmentationRunReport } from './segmentation-run';
import { type TrackerContext, trackerRps } from './tracker-common';
import { runTracker } from './tracker-run';

function say(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

async function main(): Promise<void> {
  let params: BenchParams | 'help';
  try {
    params = parseBenchArgs(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError || (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`${error.message}\n\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
  if (params === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const out = resolve(params.out);
  if (params.render) {
    const saved = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
    writeOutputs(out, saved);
    return;
  }
  const isSegmentation = (run: RunName): run is SegmentationRunName => (SEGMENTATION_RUNS as readonly string[]).includes(run);
  const isTrackerRun = (run: RunName): run is TrackerRunName => (TRACKER_RUNS as readonly string[]).includes(run);
  let segPlan: SegmentationPlan | null = null;
  if (params.runs.some(isSegmentation)) {
    try {
      segPlan = planSegmentation(params);
    } catch (error) {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 2;
      return;
    }
  }
  const started = Date.now();
  const logDir = join(out, 'logs');
  const tmpDir = join(out, 'tmp');
  mkdirSync(logDir, { recursive: true });
  mkdirSync(tmpDir, { recursive: true });
  const loadAverageStart = loadavg();
  say(`N = ${params.wallets}, rate limit ${params.rps || 'none'}, latency ${params.latencyMs} ms; runs ${params.runs.join(', ')}; logs in ${logDir}`);
  if (segPlan) say(`segmentation pair: N = ${segPlan.wallets}, provider limit and RPC_MAX_RPS ${segPlan.providerRps} / ${segPlan.rpcMaxRps}, warm-up ${segPlan.off.warmupSeconds} s (off) / ${segPlan.on.warmupSeconds} s (on), measured ${segPlan.measureSeconds} s each`);

  const runs: RunReport[] = [];
  const segRuns: SegmentationRunReport[] = [];
  let devServer: { stop(): Promise<void> } | null = null;
  let connection: Connection | null = null;
  const cleanup = async (): Promise<void> => {
    await connection?.close().catch(() => {});
    connection = null;
    await devServer?.stop().catch(() => {});
    devServer = null;
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      say(`${signal}: stopping what the benchmark started`);
      void cleanup()
        .then(() => dropLiveDatabases())
        .finally(() => process.exit(130));
    });
  }

  let imported: ImportReport | null = null;
  const failures: { run: string; error: string }[] = [];
  try {
    for (const run of params.runs) {
      try {
        // Each run of the service gets a dev server of its own, so none inherits another's schedules or history.
        const serviceContext = async (): Promise<TrackerContext> => {
          const logFile = join(logDir, run === 'tracker' ? 'temporal.log' : `temporal-${run}.log`);
          const server = await startTemporal(params.temporal, run, logFile);
          devServer = server;
          connection = await Connection.connect({ address: server.address });
          return { temporalAddress: server.address, temporalPid: server.pid, client: new Client({ connection }), logDir, tmpDir };
        };
        if (isTrackerRun(run)) runs.push(await runTracker(run, params, await serviceContext(), say));
        else if (isSegmentation(run)) segRuns.push(await runSegmentation(run, params, segPlan!, await serviceContext(), say));
        else runs.push(await runBaseline(run, params, logDir, say));
      } catch (error) {
        const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
        say(`${run} failed: ${message}`);
        failures.push({ run, error: message });
      } finally {
        await cleanup();
      }
    }
    if (params.importLines > 0) imported = await measureImport(params.importLines, params.seed, tmpDir, logDir, say);
  } finally {
    await cleanup();
    rmSync(tmpDir, { recursive: true, force: true });
  }

  const machine: Machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryMb: Math.round(totalmem() / 2 ** 20),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    date: new Date(started).toISOString(),
    loadAverageStart: loadAverageStart.map((l) => Math.round(l * 100) / 100),
    loadAverageEnd: loadavg().map((l) => Math.round(l * 100) / 100),
  };
  const segmentation = segPlan ? { plan: segPlan, runs: segRuns } : null;
  const report: Report = {
    parameters: { ...params, trackerRpcMaxRps: trackerRps(params), v1InFlight: v1Concurrency(params) },
    machine,
    runs,
    segmentation,
    import: imported,
    failures,
    targets: evaluateTargets(params, runs, imported, segmentation),
    totalSeconds: (Date.now() - started) / 1000,
  };
  writeFileSync(join(out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeOutputs(out, report);
}

/** A Temporal of the run's own: a dev server, or the server on Postgres with databases of its own (dropped on stop). */
async function startTemporal(kind: TemporalKind, run: string, logFile: string): Promise<{ address: string; pid: number; stop(): Promise<void> }> {
  if (kind === 'dev') {
    say(`${run}: starting a Temporal dev server`);
    return startDevServer({ port: 0, headless: true, logFile });
  }
  say(`${run}: starting the Temporal server on Postgres`);
  const cluster = await startTemporalCluster({ port: 0, databasePrefix: `bench_temporal_${run.replace(/-/g, '_')}`, logFile });
  return {
    address: cluster.address,
    pid: cluster.pid,
    async stop() {
      await cluster.stop();
      await cluster.dropDatabases();
    },
  };
}

function writeOutputs(out: string, report: Report): void {
  writeFileSync(join(out, 'report.md'), markdown(report));
  writeFileSync(join(out, 'report.svg'), chart(report));
  process.stdout.write(`\n${plainTable(report)}\n\nreport: ${join(out, 'report.md')}, report.json, report.svg\n`);
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
