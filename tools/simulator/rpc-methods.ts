// The validator's JSON-RPC 2.0 surface for the methods a balance tracker uses:
// request envelope rules from jsonrpc-core (paritytech/jsonrpc core/src/io.rs,
// core/src/types/request.rs, core/src/types/error.rs), method behaviour from agave
// (rpc/src/rpc.rs, rpc-client-api/src/custom_error.rs, account-decoder).

import { createHash } from 'node:crypto';
import { base58Encode } from '../../src/address';
import { toJson, type JsonOut } from './json';
import type { Lie } from './provider';
import {
  asString,
  asStringArray,
  expectNoParams,
  parseAccountConfig,
  parseContextConfig,
  positional,
  RpcError,
  verifyPubkey,
  INVALID_PARAMS,
  type AccountConfig,
  type Commitment,
  type ContextConfig,
  type Params,
} from './rpc-params';
import { mintData, PROGRAM_ADDRESS, rentExemptMinimum, tokenAccountData } from './token-accounts';
import { U64_MAX, type World, type WorldAccount } from './world';

/** What getVersion reports; also each response's context.apiVersion (RpcApiVersion). */
const SOLANA_CORE_VERSION = '2.2.20';
const FEATURE_SET = 3294202862;

/** rpc-client-api/src/request.rs: MAX_MULTIPLE_ACCOUNTS. */
const MAX_MULTIPLE_ACCOUNTS = 100;
const SYSTEM_PROGRAM = '11111111111111111111111111111111';
/** account-decoder: MAX_BASE58_BYTES, the most data binary and base58 encodings carry. */
const MAX_BASE58_BYTES = 128;

/**
 * How far each commitment trails the newest slot. Finalized is ~32 slots behind on a real
 * cluster (a root needs 32 confirmed descendants); confirmed trails by about one.
 */
export const COMMITMENT_LAG: Record<Commitment, number> = { processed: 0, confirmed: 1, finalized: 32 };

// jsonrpc-core ErrorCode descriptions (core/src/types/error.rs).
const PARSE_ERROR = { code: -32700, message: 'Parse error' };
const INVALID_REQUEST = { code: -32600, message: 'Invalid request' };
const METHOD_NOT_FOUND = { code: -32601, message: 'Method not found' };
// Error::invalid_version(), for a call without "jsonrpc": "2.0".
const INVALID_VERSION = { code: -32600, message: 'Unsupported JSON-RPC protocol version' };
// rpc-client-api/src/custom_error.rs: JSON_RPC_SERVER_ERROR_MIN_CONTEXT_SLOT_NOT_REACHED.
const MIN_CONTEXT_SLOT_NOT_REACHED = -32016;

const METHODS = ['getAccountInfo', 'getBalance', 'getGenesisHash', 'getHealth', 'getMultipleAccounts', 'getSlot', 'getVersion'] as const;
export type Method = (typeof METHODS)[number];
/** A call's method for the counters: unsupported names and unreadable calls are lumped. */
export type MethodLabel = Method | '<unknown>' | '<invalid>';

export interface CallRecord {
  method: MethodLabel;
  ok: boolean;
  /** The answer told a lie (a provider knob): well-formed, but not to be trusted. */
  lied?: boolean;
  /** The balances a truthful answer carries (none for a notification): which addresses, at which slot. */
  read?: BalanceRead;
}

export interface BalanceRead {
  slot: number;
  addresses: string[];
}

export interface RpcReply {
  /** Response text; null when every call was a notification (HTTP 200, empty body). */
  body: string | null;
  calls: CallRecord[];
}

type Id = null | number | string;

/**
 * Answers one HTTP request body (a single call or a batch) as the validator would, or, with
 * `lie`, as a misbehaving node would for its getMultipleAccounts calls.
 */
export function handleRpc(text: string, world: World, lie: Lie | null = null): RpcReply {
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch {
    return { body: `${failure(null, PARSE_ERROR, true)}\n`, calls: [{ method: '<invalid>', ok: false }] };
  }
  if (!Array.isArray(request)) {
    const { output, call } = handleCall(request, world, lie);
    return { body: output === null ? null : `${output}\n`, calls: [call] };
  }
  // A batch answers in call order and leaves notifications out; an empty or
  // all-notification batch has no response at all (jsonrpc-core io.rs outputs_as_batch).
  const outputs: string[] = [];
  const calls: CallRecord[] = [];
  for (const item of request) {
    const { output, call } = handleCall(item, world, lie);
    calls.push(call);
    if (output !== null) outputs.push(output);
  }
  return { body: outputs.length === 0 ? null : `[${outputs.join(',')}]\n`, calls };
}

/**
 * What a body asks, without running it (also for requests the provider refuses): the
 * method label of each call, and a key that is equal for equal questions. The key leaves
 * the ids out, since a client's retry of the same calls comes with new ids.
 */
export function inspectRequest(text: string): { methods: MethodLabel[]; key: string } {
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch {
    return { methods: ['<invalid>'], key: digest(text) };
  }
  const items = Array.isArray(request) ? request : [request];
  const methods: MethodLabel[] = [];
  const questions: unknown[] = [];
  for (const item of items) {
    const shape = classify(item);
    methods.push(shape.kind === 'invalid' ? '<invalid>' : labelOf(shape.method));
    questions.push(shape.kind === 'invalid' ? item : [shape.method, shape.params ?? null]);
  }
  return { methods, key: digest(JSON.stringify(questions)) };
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 16);
}

type Shape =
  | { kind: 'invalid'; id: Id }
  | { kind: 'call'; versioned: boolean; method: string; params: Params; id: Id; notification: boolean };

/**
 * jsonrpc-core's Call: a MethodCall or Notification with only the fields jsonrpc, method,
 * params, id (deny_unknown_fields); anything else is Invalid, keeping the id if readable.
 */
function classify(value: unknown): Shape {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { kind: 'invalid', id: null };
  const fields = value as Record<string, unknown>;
  const idField = fields.id;
  const id: Id | undefined = isId(idField) ? idField : undefined;
  const invalid: Shape = { kind: 'invalid', id: id ?? null };
  if (Object.keys(fields).some((key) => !['jsonrpc', 'method', 'params', 'id'].includes(key))) return invalid;
  // Version accepts only "2.0"; absent or null leaves the version unset.
  const version = fields.jsonrpc;
  if (version !== undefined && version !== null && version !== '2.0') return invalid;
  if (typeof fields.method !== 'string') return invalid;
  const params = fields.params;
  if (params !== undefined && params !== null && typeof params !== 'object') return invalid;
  const notification = !('id' in fields);
  if (!notification && id === undefined) return invalid;
  return {
    kind: 'call',
    versioned: version === '2.0',
    method: fields.method,
    params: (params ?? undefined) as Params,
    id: id ?? null,
    notification,
  };
}

/** jsonrpc-core Id: null, a u64, or a string. */
function isId(value: unknown): value is Id {
  return (
    value === null ||
    typeof value === 'string' ||
    (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 2 ** 64 - 1)
  );
}

function labelOf(method: string): MethodLabel {
  return (METHODS as readonly string[]).includes(method) ? (method as Method) : '<unknown>';
}

function handleCall(value: unknown, world: World, lie: Lie | null): { output: string | null; call: CallRecord } {
  const shape = classify(value);
  if (shape.kind === 'invalid') {
    return { output: failure(shape.id, INVALID_REQUEST, true), call: { method: '<invalid>', ok: false } };
  }
  const method = labelOf(shape.method);
  if (!shape.versioned) {
    // A notification with a bad version is dropped silently; a call gets an answer
    // without the "jsonrpc" member, since it did not speak 2.0 (Output::from with None).
    const output = shape.notification ? null : failure(shape.id, INVALID_VERSION, false);
    return { output, call: { method, ok: false } };
  }
  const lying = method === 'getMultipleAccounts' ? lie : null;
  let result: JsonOut;
  let read: BalanceRead | undefined;
  try {
    ({ result, read } = run(shape.method, shape.params, world, lying));
  } catch (error) {
    if (!(error instanceof RpcError)) throw error;
    const output = shape.notification ? null : failure(shape.id, error, true);
    return { output, call: { method, ok: false } };
  }
  if (shape.notification) return { output: null, call: { method, ok: true } };
  const output = toJson({ jsonrpc: '2.0', result, id: shape.id });
  return { output, call: lying ? { method, ok: true, lied: true } : read ? { method, ok: true, read } : { method, ok: true } };
}

function failure(id: Id, error: { code: number; message: string; data?: JsonOut }, versioned: boolean): string {
  const body = { code: error.code, message: error.message, data: error.data };
  return toJson(versioned ? { jsonrpc: '2.0', error: body, id } : { error: body, id });
}

/** A method's result, and the balances it carries when it reads accounts. */
function run(method: string, params: Params, world: World, lie: Lie | null = null): { result: JsonOut; read?: BalanceRead } {
  switch (method) {
    case 'getAccountInfo': {
      // Encoding defaults differ per method in agave: Binary here, Base64 for getMultipleAccounts.
      // serde parses every argument before the method body verifies the pubkey.
      const [pubkey, config] = positional(params, 1, 2);
      const text = asString(pubkey);
      const options = parseAccountConfig(config);
      const key = verifyPubkey(text);
      const slot = bankSlot(world, options);
      const encoded = { encoding: options.encoding ?? 'binary', dataSlice: options.dataSlice } as const;
      checkSliceAndEncoding(encoded);
      return { result: response(slot, encodeAccount(world.accountAt(key, slot), encoded)), read: { slot, addresses: [text] } };
    }
    case 'getMultipleAccounts': {
      const [pubkeys, config] = positional(params, 1, 2);
      const texts = asStringArray(pubkeys);
      const options = parseAccountConfig(config);
      if (texts.length > MAX_MULTIPLE_ACCOUNTS) {
        throw new RpcError(INVALID_PARAMS, `Too many inputs provided; max ${MAX_MULTIPLE_ACCOUNTS}`);
      }
      const keys = texts.map(verifyPubkey);
      const slot = lie === 'staleSlot' ? laggingSlot(world, options) : bankSlot(world, options);
      const encoded = { encoding: options.encoding ?? 'base64', dataSlice: options.dataSlice } as const;
      checkSliceAndEncoding(encoded);
      const accounts = keys.map((key) => encodeAccount(world.accountAt(key, slot), encoded));
      return { result: response(slot, lie ? tell(lie, accounts, encoded) : accounts), read: lie ? undefined : { slot, addresses: texts } };
    }
    case 'getBalance': {
      const [pubkey, config] = positional(params, 1, 2);
      const text = asString(pubkey);
      const options = parseContextConfig(config);
      const key = verifyPubkey(text);
      const slot = bankSlot(world, options);
      return { result: response(slot, lamportsOf(world.accountAt(key, slot))), read: { slot, addresses: [text] } };
    }
    case 'getSlot': {
      const [config] = positional(params, 0, 1);
      return { result: bankSlot(world, parseContextConfig(config)) };
    }
    case 'getGenesisHash':
      // rpc.rs get_genesis_hash: the base58 hash, no parameters.
      expectNoParams(params);
      return { result: world.genesisHash };
    case 'getHealth':
      expectNoParams(params);
      return { result: 'ok' };
    case 'getVersion':
      expectNoParams(params);
      return { result: { 'solana-core': SOLANA_CORE_VERSION, 'feature-set': FEATURE_SET } };
    default:
      throw new RpcError(METHOD_NOT_FOUND.code, METHOD_NOT_FOUND.message);
  }
}

/**
 * The slot of the bank a commitment reads from; the default commitment is finalized
 * (CommitmentConfig::default). JsonRpcRequestProcessor::get_bank_with_config refuses
 * a bank older than minContextSlot with MinContextSlotNotReached { context_slot }.
 */
function bankSlot(world: World, config: ContextConfig): number {
  const slot = Math.max(0, world.slot() - COMMITMENT_LAG[config.commitment ?? 'finalized']);
  if (config.minContextSlot !== undefined && slot < config.minContextSlot) {
    throw new RpcError(MIN_CONTEXT_SLOT_NOT_REACHED, 'Minimum context slot has not been reached', { contextSlot: slot });
  }
  return slot;
}

/** A lagging node that ignores minContextSlot: its bank is one slot older than what was asked. */
function laggingSlot(world: World, config: ContextConfig): number {
  const bank = Math.max(0, world.slot() - COMMITMENT_LAG[config.commitment ?? 'finalized']);
  return Math.max(0, Math.min(bank, config.minContextSlot ?? bank) - 1);
}

/** The account list as a lying node returns it (a staleSlot lie is told by the slot alone). */
function tell(lie: Lie, accounts: JsonOut[], config: EncodingConfig): JsonOut[] {
  if (lie === 'staleSlot') return accounts;
  if (lie === 'wrongCount') return accounts.length > 0 ? accounts.slice(0, -1) : [null];
  // The first existing account's lamports or owner (a made-up account's when none exists) go bad.
  const index = Math.max(0, accounts.findIndex((a) => a !== null));
  const account = (accounts[index] ?? encodeAccount({ kind: 'system', lamports: 1n }, config)) as { readonly [key: string]: JsonOut };
  const lamports = account.lamports as bigint;
  const told =
    lie === 'wrongOwner'
      ? { ...account, owner: account.owner === SYSTEM_PROGRAM ? PROGRAM_ADDRESS.token : SYSTEM_PROGRAM }
      : { ...account, lamports: lie === 'negativeLamports' ? -lamports : lamports.toString() };
  return accounts.length === 0 ? [told] : accounts.map((a, i) => (i === index ? told : a));
}

function response(slot: number, value: JsonOut): JsonOut {
  return { context: { slot, apiVersion: SOLANA_CORE_VERSION }, value };
}

type EncodingConfig = Required<Pick<AccountConfig, 'encoding'>> & Pick<AccountConfig, 'dataSlice'>;

/** rpc.rs check_slice_and_encoding: jsonParsed cannot be sliced. */
function checkSliceAndEncoding({ encoding, dataSlice }: EncodingConfig): void {
  if (encoding === 'jsonParsed' && dataSlice !== undefined) {
    throw new RpcError(INVALID_REQUEST.code, 'Sliced account data can only be encoded using binary (base 58) or base64 encoding.');
  }
}

/** The account's data bytes, its program, and its lamports (a token or mint account holds its rent-exempt minimum). */
function contentsOf(account: WorldAccount): { data: Uint8Array; owner: string; lamports: bigint } {
  switch (account.kind) {
    case 'system':
      return { data: new Uint8Array(0), owner: SYSTEM_PROGRAM, lamports: account.lamports };
    case 'mint': {
      const data = mintData(account.mint.decimals, account.mint.supply);
      return { data, owner: PROGRAM_ADDRESS[account.mint.program], lamports: rentExemptMinimum(data.length) };
    }
    case 'token': {
      const { program, address } = account.mint;
      const data = tokenAccountData(program, address, account.owner, account.amount);
      return { data, owner: PROGRAM_ADDRESS[program], lamports: rentExemptMinimum(data.length) };
    }
  }
}

function lamportsOf(account: WorldAccount | null): bigint {
  return account === null ? 0n : contentsOf(account).lamports;
}

/**
 * UiAccount (rpc.rs encode_account, account-decoder encode_ui_account), or null when the
 * account does not exist. Binary and base58 refuse more than MAX_BASE58_BYTES of (sliced)
 * data. jsonParsed finds no parser for a system account's empty data and falls back to
 * base64; token and mint accounts would be parsed, which the simulator does not model.
 */
function encodeAccount(account: WorldAccount | null, { encoding, dataSlice }: EncodingConfig): JsonOut {
  if (account === null) return null;
  const { data, owner, lamports } = contentsOf(account);
  const slice = sliceData(data, dataSlice);
  if ((encoding === 'binary' || encoding === 'base58') && slice.length > MAX_BASE58_BYTES) {
    throw new RpcError(INVALID_REQUEST.code, `Encoded binary (base 58) data should be less than ${MAX_BASE58_BYTES} bytes, please use Base64 encoding.`);
  }
  if (encoding === 'jsonParsed' && account.kind !== 'system') {
    throw new RpcError(INVALID_PARAMS, 'the simulator does not serve token or mint accounts as jsonParsed; ask for base64');
  }
  return {
    lamports,
    data: encodeData(slice, encoding),
    owner,
    executable: false,
    // Rent-exempt accounts carry RENT_EXEMPT_RENT_EPOCH = u64::MAX.
    rentEpoch: U64_MAX,
    space: data.length,
  };
}

/** account-decoder slice_data: an offset at or past the end is empty; a length past the end stops there. */
function sliceData(data: Uint8Array, dataSlice: AccountConfig['dataSlice']): Uint8Array {
  if (dataSlice === undefined) return data;
  const { offset, length } = dataSlice;
  if (offset >= data.length) return data.subarray(0, 0);
  return data.subarray(offset, length > data.length - offset ? data.length : offset + length);
}

function encodeData(bytes: Uint8Array, encoding: EncodingConfig['encoding']): JsonOut {
  switch (encoding) {
    case 'binary':
      return base58Encode(bytes); // UiAccountData::LegacyBinary: a bare base58 string
    case 'base58':
      return [base58Encode(bytes), 'base58'];
    case 'base64':
    case 'jsonParsed':
      return [Buffer.from(bytes).toString('base64'), 'base64'];
    case 'base64+zstd':
      return [Buffer.from(zstdFrame(bytes)).toString('base64'), 'base64+zstd'];
  }
}

/**
 * A zstd frame holding `bytes` as one raw (stored) block: magic, a single-segment header
 * with a 1-byte content size, then the block header (last block, raw, size << 3). A zstd
 * decoder reads it back as the validator's compressed frame; accounts here are at most 255 bytes.
 */
function zstdFrame(bytes: Uint8Array): Uint8Array {
  if (bytes.length > 255) throw new RangeError(`zstdFrame holds at most 255 bytes, got ${bytes.length}`);
  const blockHeader = (bytes.length << 3) | 1;
  const frame = new Uint8Array(9 + bytes.length);
  frame.set([0x28, 0xb5, 0x2f, 0xfd, 0x20, bytes.length, blockHeader & 0xff, (blockHeader >> 8) & 0xff, blockHeader >> 16]);
  frame.set(bytes, 9);
  return frame;
}
