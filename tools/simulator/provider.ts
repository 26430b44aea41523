// What a commercial RPC provider in front of the validator adds: latency, a rate limit
// answered with HTTP 429 + Retry-After, and faults (5xx, hung requests, broken bodies).
// Every behaviour is a knob that can change at runtime; the randomness is seeded.

import { createRng, type Rng } from './random';

export interface ProviderKnobs {
  /** Added before every answer, in ms. */
  latencyMs: number;
  /** The delay is latencyMs ± jitterMs (uniform, never below 0). */
  jitterMs: number;
  /** HTTP requests accepted per sliding second; 0 means no limit. */
  rateLimitRps: number;
  /**
   * 0: the limit is a strict sliding one-second window. Above 0: a token bucket instead (as many
   * providers count), holding this many requests and refilled at rateLimitRps per second.
   */
  rateLimitBurst: number;
  /** Retry-After sent with a 429; 0 means the seconds until the window frees a place (at least 1). */
  retryAfterSeconds: number;
  /** Fraction of requests answered 500 or 503 (or errorStatus). */
  errorRate: number;
  /** 0: errorRate's faults are 500 or 503. Else their one status (400 to 599), e.g. 408 or 425. */
  errorStatus: number;
  /** Fraction of requests never answered (until the client gives up or the server stops). */
  hangRate: number;
  /** Fraction of requests answered 200 with a truncated or non-JSON body. */
  malformedRate: number;
  /**
   * Fraction of requests answered with a JSON-RPC internal error (-32603) quoting the request's
   * path and query, as some providers' gateways do: a provider error text carrying the API key.
   */
  echoErrorRate: number;
  /** The JSON-RPC code of echoErrorRate's errors, negated: 32603 internal error (retried) or 32602 invalid params (never). */
  echoErrorCode: number;
  // Lies: a node or proxy that answers 200 with well-formed JSON that must not be trusted.
  // Each applies to the getMultipleAccounts calls of a request that got no fault above.
  /** Fraction answered with one account too few (the list no longer matches the addresses). */
  wrongCountRate: number;
  /** Fraction answered with an account whose lamports are negative. */
  negativeLamportsRate: number;
  /** Fraction answered with an account whose lamports are a JSON string, not a number. */
  stringLamportsRate: number;
  /**
   * Fraction answered from a bank one slot older than the request's minContextSlot (or than
   * the commitment's bank when none is given): a lagging node that ignores minContextSlot.
   */
  staleSlotRate: number;
  /**
   * Fraction answered with an account owned by the wrong program: a token or mint account's
   * owner is the System program, a wallet's the SPL Token program (its data unchanged).
   */
  wrongOwnerRate: number;
}

export const DEFAULT_KNOBS: Readonly<ProviderKnobs> = {
  latencyMs: 0,
  jitterMs: 0,
  rateLimitRps: 0,
  rateLimitBurst: 0,
  retryAfterSeconds: 0,
  errorRate: 0,
  errorStatus: 0,
  hangRate: 0,
  malformedRate: 0,
  echoErrorRate: 0,
  echoErrorCode: 32603,
  wrongCountRate: 0,
  negativeLamportsRate: 0,
  stringLamportsRate: 0,
  staleSlotRate: 0,
  wrongOwnerRate: 0,
};

export const KNOB_NAMES = Object.keys(DEFAULT_KNOBS) as (keyof ProviderKnobs)[];

export type Fault = 'hang' | 'error' | 'malformed' | 'echo' | null;

/** Which lie a getMultipleAccounts answer tells (see the knobs ending in Rate above). */
export type Lie = 'wrongCount' | 'negativeLamports' | 'stringLamports' | 'staleSlot' | 'wrongOwner';
const LIE_RATES = {
  wrongCount: 'wrongCountRate',
  negativeLamports: 'negativeLamportsRate',
  stringLamports: 'stringLamportsRate',
  staleSlot: 'staleSlotRate',
  wrongOwner: 'wrongOwnerRate',
} as const satisfies Record<Lie, keyof ProviderKnobs>;

const WINDOW_MS = 1000;
const RATES = ['errorRate', 'hangRate', 'malformedRate', 'echoErrorRate', ...Object.values(LIE_RATES)] as const;
const INTEGERS: readonly (keyof ProviderKnobs)[] = ['rateLimitRps', 'rateLimitBurst', 'retryAfterSeconds', 'errorStatus', 'echoErrorCode'];
const ECHO_CODES = [32602, 32603];

/** Validates a partial knob update from untrusted input; throws RangeError naming the knob. */
function checkKnobs(input: unknown): Partial<ProviderKnobs> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new RangeError('knobs must be a JSON object');
  }
  const out: Partial<ProviderKnobs> = {};
  for (const [name, value] of Object.entries(input)) {
    if (!(KNOB_NAMES as string[]).includes(name)) {
      throw new RangeError(`unknown knob "${name}"; the knobs are ${KNOB_NAMES.join(', ')}`);
    }
    const knob = name as keyof ProviderKnobs;
    const rate = (RATES as readonly string[]).includes(knob);
    const integer = INTEGERS.includes(knob);
    if (knob === 'echoErrorCode' && !ECHO_CODES.includes(value as number)) {
      throw new RangeError(`knob echoErrorCode must be one of ${ECHO_CODES.join(', ')}, got ${JSON.stringify(value)}`);
    }
    const max = rate ? 1 : knob === 'errorStatus' ? 599 : 3_600_000;
    if (knob === 'errorStatus' && (value !== 0 && !(typeof value === 'number' && value >= 400 && value <= 599 && Number.isInteger(value)))) {
      throw new RangeError(`knob errorStatus must be 0 or an HTTP status from 400 to 599, got ${JSON.stringify(value)}`);
    }
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max || (integer && !Number.isInteger(value))) {
      const kind = rate ? 'a number from 0 to 1' : integer ? `an integer from 0 to ${max}` : `a number of ms from 0 to ${max}`;
      throw new RangeError(`knob ${name} must be ${kind}, got ${JSON.stringify(value)}`);
    }
    out[knob] = value;
  }
  return out;
}

export class Provider {
  private current: ProviderKnobs;
  private readonly rng: Rng;
  /** Times (performance.now) of the requests accepted in the last second, oldest first. */
  private readonly accepted: number[] = [];
  /** The token bucket (rateLimitBurst > 0): tokens left, as of `refilledAt`; null until first used. */
  private bucket: { tokens: number; refilledAt: number } | null = null;

  constructor(seed: string, knobs: Partial<ProviderKnobs> = {}) {
    this.rng = createRng(`${seed}/provider`);
    this.current = { ...DEFAULT_KNOBS };
    this.update(knobs);
  }

  get knobs(): ProviderKnobs {
    return { ...this.current };
  }

  /** Applies a partial update atomically; the four fault rates together may not exceed 1, nor the lie rates. */
  update(partial: Partial<ProviderKnobs>): ProviderKnobs {
    const next = { ...this.current, ...checkKnobs(partial) };
    const total = next.errorRate + next.hangRate + next.malformedRate + next.echoErrorRate;
    if (total > 1) throw new RangeError(`errorRate + hangRate + malformedRate + echoErrorRate must not exceed 1, got ${total}`);
    const lies = Object.values(LIE_RATES).reduce((sum, knob) => sum + next[knob], 0);
    if (lies > 1) throw new RangeError(`${Object.values(LIE_RATES).join(' + ')} must not exceed 1, got ${lies}`);
    this.current = next;
    return this.knobs;
  }

  /** Null when the request is within the rate limit, else the Retry-After seconds for its 429. */
  admit(now: number): number | null {
    const { rateLimitRps: rps, rateLimitBurst: burst, retryAfterSeconds } = this.current;
    if (rps > 0 && burst > 0) {
      const bucket = (this.bucket ??= { tokens: burst, refilledAt: now });
      bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.refilledAt) * rps) / 1000);
      bucket.refilledAt = now;
      if (bucket.tokens < 1) return retryAfterSeconds > 0 ? retryAfterSeconds : Math.max(1, Math.ceil((1 - bucket.tokens) / rps));
      bucket.tokens -= 1;
      return null;
    }
    while (this.accepted.length > 0 && this.accepted[0]! <= now - WINDOW_MS) this.accepted.shift();
    const limit = this.current.rateLimitRps;
    if (limit > 0 && this.accepted.length >= limit) {
      if (this.current.retryAfterSeconds > 0) return this.current.retryAfterSeconds;
      return Math.max(1, Math.ceil((this.accepted[0]! + WINDOW_MS - now) / 1000));
    }
    this.accepted.push(now);
    return null;
  }

  fault(): Fault {
    const { hangRate, errorRate, malformedRate, echoErrorRate } = this.current;
    const draw = this.rng.float();
    if (draw < hangRate) return 'hang';
    if (draw < hangRate + errorRate) return 'error';
    if (draw < hangRate + errorRate + malformedRate) return 'malformed';
    if (draw < hangRate + errorRate + malformedRate + echoErrorRate) return 'echo';
    return null;
  }

  /** The lie a request's answer tells, if any. Draws only while a lie rate is set, so seeded fault sequences stay as they were. */
  lie(): Lie | null {
    const kinds = Object.keys(LIE_RATES) as Lie[];
    if (kinds.every((kind) => this.current[LIE_RATES[kind]] === 0)) return null;
    let draw = this.rng.float();
    for (const kind of kinds) {
      draw -= this.current[LIE_RATES[kind]];
      if (draw < 0) return kind;
    }
    return null;
  }

  delayMs(): number {
    const { latencyMs, jitterMs } = this.current;
    if (jitterMs === 0) return latencyMs;
    return Math.max(0, latencyMs + (this.rng.float() * 2 - 1) * jitterMs);
  }

  errorStatus(): number {
    if (this.current.errorStatus !== 0) return this.current.errorStatus;
    return this.rng.float() < 0.5 ? 500 : 503;
  }

  /** A body that is not the JSON it should be: cut short, or a proxy's HTML page. */
  malform(body: string): string {
    if (body.length > 1 && this.rng.float() < 0.5) return body.slice(0, Math.floor(body.length / 2));
    return '<html><head><title>502 Bad Gateway</title></head><body>upstream error</body></html>\n';
  }
}
