// Counters for tests and benchmarks: JSON-RPC calls by outcome and by method, HTTP
// requests by outcome, and a record of recent HTTP requests (when, what they got, and a
// key naming what they asked) to check a client's rate and its retries; and, when asked
// for, every balance the simulator served, per address and slot, to check what a client
// claims to have read against what it was actually told.

const OUTCOMES = ['ok', 'rpc_error', 'http_429', 'http_4xx', 'http_5xx', 'hung', 'malformed', 'lie'] as const;
export type Outcome = (typeof OUTCOMES)[number];
/** Sparse: an outcome that never happened is absent. */
export type OutcomeCounts = Partial<Record<Outcome, number>>;

/** Arrivals kept (a ring buffer): minutes of a busy client. */
const ARRIVALS_KEPT = 100_000;

export interface Arrival {
  /** When the HTTP request arrived, ms since the epoch. */
  at: number;
  outcome: Outcome;
  /** Same key, same question: a digest of the calls' methods and params, ids left out. */
  key: string;
}

export interface SimulatorStats {
  /** When counting started (ms since the epoch): start-up or the last reset. */
  since: number;
  /** HTTP requests to the RPC endpoint; the /__sim/ control endpoints are not counted. */
  httpRequests: number;
  /**
   * HTTP requests by what they got: 'ok' is a 200 whose calls all succeeded, 'rpc_error'
   * a 200 carrying at least one JSON-RPC error, 'http_4xx' the validator's HTTP refusals,
   * 'lie' a 200 whose getMultipleAccounts answer lied (the lie knobs).
   */
  httpOutcomes: OutcomeCounts;
  /** JSON-RPC calls (each call of a batch counts) by outcome. */
  outcomes: OutcomeCounts;
  /** JSON-RPC calls by method, then outcome. '<unknown>': unsupported method; '<invalid>': unreadable call. */
  methods: Record<string, OutcomeCounts>;
  /** The most HTTP requests that arrived within any 1,000 ms, over the arrivals kept. */
  peakRequestsPerSecond: number;
  /** The latest HTTP requests that got an answer or a refusal, oldest first. */
  arrivals: Arrival[];
}

export interface CallOutcome {
  method: string;
  outcome: Outcome;
}

/** Address → slot → how many answers carried that address's balance at that slot. */
export type ServedReads = Map<string, Map<number, number>>;
/** ServedReads on the wire (GET /__sim/reads): slots as object keys. */
export type ServedReadsJson = Record<string, Record<string, number>>;

export class Stats {
  private since = Date.now();
  private httpRequests = 0;
  private httpOutcomes: OutcomeCounts = {};
  private outcomes: OutcomeCounts = {};
  private methods = new Map<string, OutcomeCounts>();
  private readonly arrivedAt = new Float64Array(ARRIVALS_KEPT);
  private readonly arrivalOutcome = new Uint8Array(ARRIVALS_KEPT);
  private readonly arrivalKey: string[] = new Array<string>(ARRIVALS_KEPT);
  private recorded = 0;
  /** Null unless served reads are recorded (they cost memory per address and slot); kept across reset(). */
  private served: ServedReads | null;

  constructor({ recordReads = false }: { recordReads?: boolean } = {}) {
    this.served = recordReads ? new Map() : null;
  }

  /** An HTTP request reached the RPC endpoint. */
  arrive(): void {
    this.httpRequests++;
  }

  /** What an HTTP request that arrived at `at` got, and what each of its calls got. */
  settle(at: number, key: string, outcome: Outcome, calls: readonly CallOutcome[]): void {
    const slot = this.recorded++ % ARRIVALS_KEPT;
    this.arrivedAt[slot] = at;
    this.arrivalOutcome[slot] = OUTCOMES.indexOf(outcome);
    this.arrivalKey[slot] = key;
    bump(this.httpOutcomes, outcome);
    for (const call of calls) {
      bump(this.outcomes, call.outcome);
      let counts = this.methods.get(call.method);
      if (!counts) this.methods.set(call.method, (counts = {}));
      bump(counts, call.outcome);
    }
  }

  /** A truthful answer carrying these balances reached the client's socket. */
  serve(slot: number, addresses: readonly string[]): void {
    if (!this.served) return;
    for (const address of addresses) {
      let slots = this.served.get(address);
      if (!slots) this.served.set(address, (slots = new Map()));
      slots.set(slot, (slots.get(slot) ?? 0) + 1);
    }
  }

  /** Every balance served since start-up (a stats reset keeps them); throws unless recording was asked for. */
  servedReads(): ServedReads {
    if (!this.served) throw new RangeError('served reads are not recorded: start the simulator with recordReads');
    return new Map([...this.served].map(([address, slots]) => [address, new Map(slots)]));
  }

  snapshot(): SimulatorStats {
    const kept = Math.min(this.recorded, ARRIVALS_KEPT);
    const arrivals: Arrival[] = [];
    for (let i = this.recorded - kept; i < this.recorded; i++) {
      const slot = i % ARRIVALS_KEPT;
      arrivals.push({ at: this.arrivedAt[slot]!, outcome: OUTCOMES[this.arrivalOutcome[slot]!]!, key: this.arrivalKey[slot]! });
    }
    // Recorded when settled; a slow body read can settle a request after a later one.
    arrivals.sort((a, b) => a.at - b.at);
    return {
      since: this.since,
      httpRequests: this.httpRequests,
      httpOutcomes: { ...this.httpOutcomes },
      outcomes: { ...this.outcomes },
      methods: Object.fromEntries([...this.methods].map(([method, counts]) => [method, { ...counts }])),
      peakRequestsPerSecond: peakInWindow(
        arrivals.map((a) => a.at),
        1000,
      ),
      arrivals,
    };
  }

  reset(): void {
    this.since = Date.now();
    this.httpRequests = 0;
    this.httpOutcomes = {};
    this.outcomes = {};
    this.methods = new Map();
    this.recorded = 0;
    // Served reads are kept: they are what a client was told, whatever phase it is measured in.
  }
}

export function servedReadsToJson(reads: ServedReads): ServedReadsJson {
  return Object.fromEntries([...reads].map(([address, slots]) => [address, Object.fromEntries(slots)]));
}

export function servedReadsFromJson(json: ServedReadsJson): ServedReads {
  return new Map(Object.entries(json).map(([address, slots]) => [address, new Map(Object.entries(slots).map(([slot, n]) => [Number(slot), n]))]));
}

function bump(counts: OutcomeCounts, outcome: Outcome): void {
  counts[outcome] = (counts[outcome] ?? 0) + 1;
}

/** The most timestamps within any half-open window [t, t + windowMs); input sorted ascending. */
export function peakInWindow(timestamps: readonly number[], windowMs: number): number {
  let peak = 0;
  let start = 0;
  for (let end = 0; end < timestamps.length; end++) {
    while (timestamps[end]! - timestamps[start]! >= windowMs) start++;
    peak = Math.max(peak, end - start + 1);
  }
  return peak;
}
