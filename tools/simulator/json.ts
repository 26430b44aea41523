// JSON text for values that may hold bigints. Lamports and rentEpoch are u64:
// JSON.stringify cannot write them and a JS number would round anything above 2^53,
// so bigints are written as their exact decimal digits, as the validator's serde does.

export type JsonOut =
  | null
  | boolean
  | number
  | bigint
  | string
  | readonly JsonOut[]
  | { readonly [key: string]: JsonOut | undefined };

export function toJson(value: JsonOut): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'bigint':
      return value.toString();
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`cannot write ${value} as JSON`);
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((item: JsonOut) => toJson(item)).join(',')}]`;
  const parts: string[] = [];
  for (const [key, item] of Object.entries(value as { [key: string]: JsonOut | undefined })) {
    // Like serde's skip_serializing_if = "Option::is_none": absent fields are left out.
    if (item !== undefined) parts.push(`${JSON.stringify(key)}:${toJson(item)}`);
  }
  return `{${parts.join(',')}}`;
}
