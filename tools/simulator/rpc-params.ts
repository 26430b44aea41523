// Parameter checks worded as the validator words them. The validator is built on
// jsonrpc-core + jsonrpc-derive (paritytech/jsonrpc) and serde_json, so:
// - positional arity errors come from jsonrpc-derive's generated code
//   (derive/src/to_delegate.rs: "`params` should be an array", "`params` should have at
//   least {n} argument(s)", "Expected from {r} to {t} parameters.");
// - type errors are serde_json messages wrapped by jsonrpc-core's Params::parse
//   (core/src/types/params.rs: `Error::invalid_params(format!("Invalid params: {}.", e))`);
// - invalid_params_with_details prefixes "Invalid parameters: " (core/src/types/error.rs).
// All are JSON-RPC code -32602 (core/src/types/error.rs: ErrorCode::InvalidParams).

import { base58Decode } from '../../src/address';
import type { JsonOut } from './json';

export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: JsonOut,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

export const INVALID_PARAMS = -32602;
const U64_MAX = 2 ** 64 - 1;

export type Params = unknown[] | Record<string, unknown> | undefined;

const COMMITMENTS = ['processed', 'confirmed', 'finalized'] as const;
export type Commitment = (typeof COMMITMENTS)[number];
// UiAccountEncoding, #[serde(rename_all = "camelCase")] plus "base64+zstd"
// (account-decoder-client-types/src/lib.rs).
const ENCODINGS = ['binary', 'base58', 'base64', 'jsonParsed', 'base64+zstd'] as const;
export type Encoding = (typeof ENCODINGS)[number];

export interface ContextConfig {
  commitment?: Commitment;
  minContextSlot?: number;
}

export interface AccountConfig extends ContextConfig {
  encoding?: Encoding;
  dataSlice?: { offset: number; length: number };
}

function invalidParams(message: string, data?: JsonOut): RpcError {
  return new RpcError(INVALID_PARAMS, message, data);
}

/** A serde_json deserialization failure, as jsonrpc-core reports it. */
function serde(message: string): RpcError {
  return invalidParams(`Invalid params: ${message}.`);
}

/** serde's `Unexpected` display for a JSON value (serde_json writes null as "null"). */
function unexpected(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return `boolean \`${value}\``;
  if (typeof value === 'number') return Number.isInteger(value) ? `integer \`${value}\`` : `floating point \`${value}\``;
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  return Array.isArray(value) ? 'sequence' : 'map';
}

function invalidType(value: unknown, expected: string): RpcError {
  return serde(`invalid type: ${unexpected(value)}, expected ${expected}`);
}

/**
 * The positional arguments of a method taking `required` to `total` of them, checked as
 * jsonrpc-derive does for trailing Option parameters.
 */
export function positional(params: Params, required: number, total: number): unknown[] {
  if (params !== undefined && !Array.isArray(params)) throw invalidParams('`params` should be an array');
  const args = params ?? [];
  if (args.length < required) throw invalidParams(`\`params\` should have at least ${required} argument(s)`);
  if (args.length > total) {
    // invalid_params_with_details stores the details' Debug text: a quoted Rust string.
    throw invalidParams(`Invalid parameters: Expected from ${required} to ${total} parameters.`, `"Got: ${args.length}"`);
  }
  return args;
}

/** Params::expect_no_params (core/src/types/params.rs), for getHealth and getVersion. */
export function expectNoParams(params: Params): void {
  if (params === undefined || (Array.isArray(params) && params.length === 0)) return;
  throw invalidParams('Invalid parameters: No parameters were expected', paramsDebug(params));
}

export function asString(value: unknown): string {
  if (typeof value !== 'string') throw invalidType(value, 'a string');
  return value;
}

export function asStringArray(value: unknown): string[] {
  if (!Array.isArray(value)) throw invalidType(value, 'a sequence');
  return value.map(asString);
}

function asUnsigned(value: unknown, expected: 'u64' | 'usize'): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalidType(value, expected);
  if (value < 0 || value > U64_MAX) throw serde(`invalid value: integer \`${value}\`, expected ${expected}`);
  return value;
}

function asVariant<T extends string>(value: unknown, variants: readonly T[]): T {
  // Enums arrive through serde's content buffering (the configs have a flattened field),
  // whose type error expects "string or map".
  if (typeof value !== 'string') throw invalidType(value, 'string or map');
  if (!(variants as readonly string[]).includes(value)) {
    throw serde(`unknown variant \`${value}\`, expected one of ${variants.map((v) => `\`${v}\``).join(', ')}`);
  }
  return value as T;
}

function fieldsOf(value: unknown, struct: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidType(value, `struct ${struct}`);
  return value as Record<string, unknown>;
}

/**
 * RpcContextConfig / RpcAccountInfoConfig (rpc-client-api/src/config.rs): camelCase
 * fields, `commitment` flattened in, unknown fields ignored, null means absent.
 */
function parseConfig(value: unknown, struct: string, accountFields: boolean): AccountConfig {
  const config: AccountConfig = {};
  for (const [name, field] of Object.entries(fieldsOf(value, struct))) {
    if (field === null) continue;
    if (name === 'commitment') config.commitment = asVariant(field, COMMITMENTS);
    else if (name === 'minContextSlot') config.minContextSlot = asUnsigned(field, 'u64');
    else if (accountFields && name === 'encoding') config.encoding = asVariant(field, ENCODINGS);
    else if (accountFields && name === 'dataSlice') config.dataSlice = parseDataSlice(field);
  }
  return config;
}

export function parseContextConfig(value: unknown): ContextConfig {
  return value === undefined || value === null ? {} : parseConfig(value, 'RpcContextConfig', false);
}

export function parseAccountConfig(value: unknown): AccountConfig {
  return value === undefined || value === null ? {} : parseConfig(value, 'RpcAccountInfoConfig', true);
}

/** UiDataSliceConfig { offset: usize, length: usize }: a plain serde struct, so a 2-array works too. */
function parseDataSlice(value: unknown): { offset: number; length: number } {
  if (Array.isArray(value)) {
    if (value.length !== 2) throw serde(`invalid length ${value.length}, expected struct UiDataSliceConfig with 2 elements`);
    return { offset: asUnsigned(value[0], 'usize'), length: asUnsigned(value[1], 'usize') };
  }
  const fields = fieldsOf(value, 'UiDataSliceConfig');
  const slice: { offset?: number; length?: number } = {};
  for (const [name, field] of Object.entries(fields)) {
    if (name === 'offset' || name === 'length') slice[name] = asUnsigned(field, 'usize');
  }
  if (slice.offset === undefined) throw serde('missing field `offset`');
  if (slice.length === undefined) throw serde('missing field `length`');
  return { offset: slice.offset, length: slice.length };
}

/**
 * verify_pubkey (rpc/src/rpc.rs): `Error::invalid_params(format!("Invalid param: {e:?}"))`
 * over Pubkey::from_str (solana-pubkey), which answers WrongSize for text longer than 44
 * bytes or not decoding to 32 bytes, and Invalid for text that is not base58.
 */
export function verifyPubkey(text: string): Uint8Array {
  if (Buffer.byteLength(text, 'utf8') > 44) throw invalidParams('Invalid param: WrongSize');
  const bytes = base58Decode(text);
  if (bytes === null) throw invalidParams('Invalid param: Invalid');
  if (bytes.length !== 32) throw invalidParams('Invalid param: WrongSize');
  return bytes;
}

/** Rust's derived Debug text of jsonrpc-core's Params, which expect_no_params reports. */
function paramsDebug(params: unknown[] | Record<string, unknown>): string {
  return Array.isArray(params)
    ? `Array([${params.map(valueDebug).join(', ')}])`
    : `Map({${Object.entries(params).map(([k, v]) => `${JSON.stringify(k)}: ${valueDebug(v)}`).join(', ')}})`;
}

/** serde_json::Value's Debug text. */
function valueDebug(value: unknown): string {
  if (value === null) return 'Null';
  if (typeof value === 'boolean') return `Bool(${value})`;
  if (typeof value === 'number') return `Number(${value})`;
  if (typeof value === 'string') return `String(${JSON.stringify(value)})`;
  if (Array.isArray(value)) return `Array [${value.map(valueDebug).join(', ')}]`;
  const entries = Object.entries(value as Record<string, unknown>);
  return `Object {${entries.map(([k, v]) => `${JSON.stringify(k)}: ${valueDebug(v)}`).join(', ')}}`;
}
