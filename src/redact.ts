// Secrets (RPC URLs carry provider API keys, database URLs carry passwords)
// pass through here before they reach a log line, an error or a metric label.

/** Keeps scheme, host and port; hides credentials, path and query, which is where keys live. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.protocol.startsWith('postgres')) {
      // A database URL's secret is its password; user and database name help an operator.
      const user = url.username ? `${url.username}${url.password ? ':***' : ''}@` : '';
      return `${url.protocol}//${user}${url.host}${url.pathname}`;
    }
    const hidden = url.username || url.password || (url.pathname && url.pathname !== '/') || url.search;
    return `${url.protocol}//${url.host}${hidden ? '/***' : ''}`;
  } catch {
    return '***';
  }
}

const URL_PATTERN = /\b(?:https?|wss?|postgres(?:ql)?):\/\/[^\s"'<>`]+/gi;

/** Redacts every URL found in free text, plus any exact secret values given. */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 6) out = out.split(secret).join('***');
  }
  return out.replace(URL_PATTERN, (match) => redactUrl(match));
}

/**
 * The parts of a URL that may be a credential on their own, to register as log secrets with
 * the whole URL: the password, and path segments and query values long enough to be a key
 * (providers put API keys in either: `/v2/<key>`, `?api-key=<key>`).
 */
export function urlSecrets(raw: string): string[] {
  try {
    const url = new URL(raw);
    const parts = [decodeURIComponent(url.password), ...url.pathname.split('/').map((p) => decodeURIComponent(p)), ...[...url.searchParams.values()]];
    return [raw, ...parts.filter((p) => p.length >= 16)];
  } catch {
    return [raw];
  }
}
