// Secrets (RPC URLs carry provider API keys, database URLs carry passwords)
// pass through here before they reach a log line, an error, a metric label or Temporal.

/**
 * A host label that is a credential rather than a name (some providers issue
 * `<key>.provider.example`): a part of 8+ characters mixing letters and digits, or of 20+
 * characters. Names such as `solana-mainnet`, `eu-central-1` or an IP address are kept.
 */
function isKeyLabel(label: string): boolean {
  return label.split(/[-_]/).some((part) => part.length >= 20 || (part.length >= 8 && /\d/.test(part) && /[a-z]/i.test(part)));
}

/** The host with every key-like label replaced by `***` (the port is kept). */
function redactHost(url: URL): string {
  if (url.hostname.startsWith('[')) return url.host;
  const host = url.hostname.split('.').map((label) => (isKeyLabel(label) ? '***' : label)).join('.');
  return url.port ? `${host}:${url.port}` : host;
}

/** Keeps scheme, host (minus key-like labels) and port; hides credentials, path and query, which is where keys live. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.protocol.startsWith('postgres')) {
      // A database URL's secret is its password; user and database name help an operator.
      const user = url.username ? `${url.username}${url.password ? ':***' : ''}@` : '';
      return `${url.protocol}//${user}${url.host}${url.pathname}`;
    }
    const hidden = url.username || url.password || (url.pathname && url.pathname !== '/') || url.search;
    return `${url.protocol}//${redactHost(url)}${hidden ? '/***' : ''}`;
  } catch {
    return '***';
  }
}

const URL_PATTERN = /\b(?:https?|wss?|postgres(?:ql)?):\/\/[^\s"'<>`]+/gi;

/** Redacts every URL found in free text, plus any exact secret values given. */
export function redactText(text: string, secrets: readonly string[] = []): string {
  // URLs first, so that a secret URL still shows its provider (`https://***.host/***`).
  let out = text.replace(URL_PATTERN, (match) => redactUrl(match));
  for (const secret of secrets) {
    if (secret.length >= 6) out = out.split(secret).join('***');
  }
  return out;
}

/**
 * The parts of a URL that may be a credential on their own, to register as log secrets with
 * the whole URL: the password (and the Basic authorization made of it), a key-like user name
 * and host labels, and path segments and query values long enough to be a key (providers put
 * API keys in any of these: `https://user:<key>@host`, `<key>.host`, `/v2/<key>`, `?api-key=<key>`).
 */
export function urlSecrets(raw: string): string[] {
  try {
    const url = new URL(raw);
    const credentials = basicCredentials(url);
    const password = decodeURIComponent(url.password);
    // Some providers put the key in the user name (`https://<key>@host/`).
    const user = decodeURIComponent(url.username);
    const labels = [...(isKeyLabel(user) ? [user] : []), ...url.hostname.split('.').filter(isKeyLabel)];
    const parts = [...url.pathname.split('/').map((p) => decodeURIComponent(p)), ...[...url.searchParams.values()]];
    return [raw, ...(password ? [password] : []), ...(credentials ? [credentials] : []), ...labels, ...parts.filter((p) => p.length >= 16)];
  } catch {
    return [raw];
  }
}

/**
 * Every secret a configuration carries, to register for the logs and to redact from messages:
 * the RPC URL and the webhook URL with their key-like parts (urlSecrets), the webhook signing
 * secret, and the database password.
 */
export function configSecrets(config: { rpcUrl: string | null; databaseUrl: string; webhook?: { url: string; secret: string } | null }): string[] {
  const secrets = config.rpcUrl === null ? [] : urlSecrets(config.rpcUrl);
  if (config.webhook) secrets.push(...urlSecrets(config.webhook.url), config.webhook.secret);
  try {
    const password = decodeURIComponent(new URL(config.databaseUrl).password);
    if (password) secrets.push(password);
  } catch {
    // not a URL (the config check says so): nothing more to hide
  }
  return secrets;
}

/** `user:password` of a URL, base64 as in an `Authorization: Basic` header; null without userinfo. */
export function basicCredentials(url: URL): string | null {
  if (!url.username && !url.password) return null;
  return Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64');
}

/**
 * Redacts an error in place before it leaves the process (into a Temporal failure): its
 * message, stack, string details and the whole cause chain. Class, type and retry fields stay.
 */
export function redactError<T>(error: T, redact: (text: string) => string): T {
  const seen = new Set<object>();
  for (let e: unknown = error; e instanceof Error && !seen.has(e); e = e.cause) {
    seen.add(e);
    // Defined, not assigned: some errors (a DOMException) have a getter-only message.
    Object.defineProperty(e, 'message', { value: redact(e.message), writable: true, configurable: true });
    if (e.stack) Object.defineProperty(e, 'stack', { value: redact(e.stack), writable: true, configurable: true });
    const details = (e as { details?: unknown }).details;
    if (Array.isArray(details)) {
      for (const [i, d] of details.entries()) if (typeof d === 'string') details[i] = redact(d);
    }
  }
  return error;
}
