// `npm run simulator -- --port 8899 --wallets 1000 --seed demo [--knob value ...]`
// Runs the Solana RPC simulator until SIGINT/SIGTERM.

import { parseArgs } from 'node:util';
import { DEFAULT_KNOBS, KNOB_NAMES, type ProviderKnobs } from './provider';
import { startSimulator, type SimulatorOptions } from './server';
import { WORLD_DEFAULTS, type WorldOptions } from './world';

type NumericOption = Exclude<keyof WorldOptions, 'seed' | 'now'> | keyof ProviderKnobs | 'port';

/** Flag → option (a knob when it names one), and whether it takes an integer or any non-negative number. */
const NUMERIC_FLAGS: Record<string, { option: NumericOption; integer: boolean; fallback: number }> = {
  port: { option: 'port', integer: true, fallback: 8899 },
  wallets: { option: 'wallets', integer: true, fallback: WORLD_DEFAULTS.wallets },
  'slot-ms': { option: 'slotMs', integer: true, fallback: WORLD_DEFAULTS.slotMs },
  'start-slot': { option: 'startSlot', integer: true, fallback: WORLD_DEFAULTS.startSlot },
  'busy-fraction': { option: 'busyFraction', integer: false, fallback: WORLD_DEFAULTS.busyFraction },
  'busy-change-rate': { option: 'busyChangeRate', integer: false, fallback: WORLD_DEFAULTS.busyChangeRate },
  'idle-change-rate': { option: 'idleChangeRate', integer: false, fallback: WORLD_DEFAULTS.idleChangeRate },
  'missing-fraction': { option: 'missingFraction', integer: false, fallback: WORLD_DEFAULTS.missingFraction },
  mints: { option: 'mints', integer: true, fallback: WORLD_DEFAULTS.mints },
  'latency-ms': { option: 'latencyMs', integer: false, fallback: DEFAULT_KNOBS.latencyMs },
  'jitter-ms': { option: 'jitterMs', integer: false, fallback: DEFAULT_KNOBS.jitterMs },
  'rate-limit-rps': { option: 'rateLimitRps', integer: true, fallback: DEFAULT_KNOBS.rateLimitRps },
  'rate-limit-burst': { option: 'rateLimitBurst', integer: true, fallback: DEFAULT_KNOBS.rateLimitBurst },
  'retry-after-seconds': { option: 'retryAfterSeconds', integer: true, fallback: DEFAULT_KNOBS.retryAfterSeconds },
  'error-rate': { option: 'errorRate', integer: false, fallback: DEFAULT_KNOBS.errorRate },
  'error-status': { option: 'errorStatus', integer: true, fallback: DEFAULT_KNOBS.errorStatus },
  'hang-rate': { option: 'hangRate', integer: false, fallback: DEFAULT_KNOBS.hangRate },
  'malformed-rate': { option: 'malformedRate', integer: false, fallback: DEFAULT_KNOBS.malformedRate },
  'echo-error-rate': { option: 'echoErrorRate', integer: false, fallback: DEFAULT_KNOBS.echoErrorRate },
  'echo-error-code': { option: 'echoErrorCode', integer: true, fallback: DEFAULT_KNOBS.echoErrorCode },
  'wrong-count-rate': { option: 'wrongCountRate', integer: false, fallback: DEFAULT_KNOBS.wrongCountRate },
  'negative-lamports-rate': { option: 'negativeLamportsRate', integer: false, fallback: DEFAULT_KNOBS.negativeLamportsRate },
  'string-lamports-rate': { option: 'stringLamportsRate', integer: false, fallback: DEFAULT_KNOBS.stringLamportsRate },
  'stale-slot-rate': { option: 'staleSlotRate', integer: false, fallback: DEFAULT_KNOBS.staleSlotRate },
  'wrong-owner-rate': { option: 'wrongOwnerRate', integer: false, fallback: DEFAULT_KNOBS.wrongOwnerRate },
};

const USAGE = `usage: npm run simulator -- [--flag value ...]

  --host <ip>                   listen address (default 127.0.0.1)
  --seed <text>                 world seed (default ${WORLD_DEFAULTS.seed})
  --record-reads                record every balance served (GET /__sim/reads); memory grows with them
${Object.entries(NUMERIC_FLAGS)
  .map(([flag, { integer, fallback }]) => `  --${`${flag} <${integer ? 'int' : 'num'}>`.padEnd(28)}default ${fallback}`)
  .join('\n')}

Rates and fractions are from 0 to 1; --slot-ms 0 stops the clock (advance with POST /__sim/advance).
--mints N makes N mints from the seed, alternating SPL Token and Token-2022, and gives every
wallet an associated token account for each (GET /__sim/mints lists them).`;

function parse(argv: string[]): SimulatorOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      host: { type: 'string' },
      seed: { type: 'string' },
      'record-reads': { type: 'boolean' },
      ...Object.fromEntries(Object.keys(NUMERIC_FLAGS).map((flag) => [flag, { type: 'string' as const }])),
    },
  });
  if (values.help) return 'help';
  const options: SimulatorOptions & Record<string, unknown> = { port: 8899 };
  const knobs: Partial<ProviderKnobs> = {};
  if (typeof values.host === 'string') options.host = values.host;
  if (typeof values.seed === 'string') options.seed = values.seed;
  if (values['record-reads']) options.recordReads = true;
  for (const [flag, { option, integer }] of Object.entries(NUMERIC_FLAGS)) {
    const text = (values as Record<string, unknown>)[flag];
    if (typeof text !== 'string') continue;
    const pattern = integer ? /^\d+$/ : /^\d+(\.\d+)?([eE]-?\d+)?$/;
    if (!pattern.test(text)) {
      throw new RangeError(`--${flag} must be ${integer ? 'a non-negative integer' : 'a non-negative number'}, got ${JSON.stringify(text)}`);
    }
    if ((KNOB_NAMES as string[]).includes(option)) knobs[option as keyof ProviderKnobs] = Number(text);
    else options[option] = Number(text);
  }
  return { ...options, knobs };
}

async function main(): Promise<void> {
  let options: SimulatorOptions | 'help';
  try {
    options = parse(process.argv.slice(2));
  } catch (error) {
    // parseArgs names unknown flags and missing values; ours name the bad value.
    console.error(`simulator: ${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (options === 'help') {
    console.log(USAGE);
    return;
  }
  let simulator;
  try {
    simulator = await startSimulator(options);
  } catch (error) {
    // RangeError from the world or the knobs (names the option), or EADDRINUSE and kin.
    console.error(`simulator: ${(error as Error).message}`);
    process.exitCode = 2;
    return;
  }
  const { world } = simulator;
  console.log(`Solana RPC simulator listening on ${simulator.url}`);
  console.log(
    `  ${world.size} wallets, seed ${JSON.stringify(world.seed)}, slot ${world.slot()}` +
      (world.slotMs > 0 ? `, ${world.slotMs} ms per slot` : ', clock stopped (POST /__sim/advance)'),
  );
  for (const mint of world.mints) console.log(`  mint ${mint.address} (${mint.program}, ${mint.decimals} decimals)`);
  console.log(`  knobs ${JSON.stringify(simulator.knobs())}; control endpoints under ${simulator.url}/__sim/`);
  const stop = (signal: NodeJS.Signals): void => {
    console.log(`simulator: ${signal}, stopping`);
    void simulator.stop();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

void main();
