// The process a baseline (V1 or the V2 plan) runs in, so its memory and CPU are its own.
// Driven by the benchmark over IPC: start → ready, sweep → swept (every wallet checked once),
// snapshot → counters, stop → stopped (with the counters), then it exits.

import type { BaselineCounters, BaselineOptions, BaselineService } from './baseline-common';
import { createV1Service } from './v1';
import { createV2PlanService } from './v2-plan';

export type BaselineKind = 'v1' | 'v2-plan';

export type ToChild =
  | { type: 'start'; kind: BaselineKind; options: BaselineOptions }
  | { type: 'sweep' }
  | { type: 'snapshot' }
  | { type: 'stop' };

export type FromChild =
  | { type: 'ready'; wallets: number }
  | { type: 'swept'; at: number; counters: BaselineCounters }
  | { type: 'snapshot'; at: number; counters: BaselineCounters }
  | { type: 'stopped'; at: number; counters: BaselineCounters }
  | { type: 'failed'; message: string };

function send(message: FromChild): void {
  process.send?.(message);
}

let service: BaselineService | null = null;
let sweepWatch: NodeJS.Timeout | null = null;

const copy = (counters: BaselineCounters): BaselineCounters => structuredClone(counters);

async function handle(message: ToChild): Promise<void> {
  switch (message.type) {
    case 'start': {
      service = message.kind === 'v1' ? createV1Service(message.options) : createV2PlanService(message.options);
      await service.load();
      send({ type: 'ready', wallets: service.total });
      return;
    }
    case 'sweep': {
      const s = service!;
      s.start();
      sweepWatch = setInterval(() => {
        if (s.counters.walletsChecked >= s.total) {
          clearInterval(sweepWatch!);
          sweepWatch = null;
          send({ type: 'swept', at: Date.now(), counters: copy(s.counters) });
        }
      }, 20);
      return;
    }
    case 'snapshot':
      send({ type: 'snapshot', at: Date.now(), counters: copy(service!.counters) });
      return;
    case 'stop': {
      if (sweepWatch) clearInterval(sweepWatch);
      const at = Date.now();
      await service!.stop();
      send({ type: 'stopped', at, counters: copy(service!.counters) });
      await service!.close();
      // Keep-alive sockets to the RPC would hold the process open for seconds.
      setTimeout(() => process.exit(0), 200);
      return;
    }
  }
}

process.on('message', (message: ToChild) => {
  handle(message).catch((error: unknown) => {
    send({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    process.exitCode = 1;
    process.disconnect?.();
  });
});
