// What a command runs with: the configuration (validated once), and Postgres and Temporal
// connections made on first use with short timeouts, so an unreachable server is one clear
// line after a few seconds rather than a hang or a stack trace.

import { Client, Connection } from '@temporalio/client';
import { type Config, ConfigError, loadConfig } from '../config';
import { connect, type Sql } from '../db/client';
import { migrate } from '../db/migrate';
import { configSecrets, redactUrl } from '../redact';
import { CliError, EXIT, errorCode, oneLine } from './errors';
import { type Output, stdio } from './output';

/** How long a first connection (and its first answer) may take. */
export const CONNECT_TIMEOUT_MS = 5_000;
/** How long one Temporal call (a query, a describe) may take. */
export const CALL_TIMEOUT_MS = 5_000;

export class Context {
  private cachedConfig: Config | null = null;
  private sql: Sql | null = null;
  private connection: Connection | null = null;
  private client: Client | null = null;

  constructor(
    readonly json: boolean,
    readonly verbose: boolean,
    readonly io: Output = stdio,
    private readonly env: Record<string, string | undefined> = process.env,
  ) {}

  config(): Config {
    if (!this.cachedConfig) {
      try {
        this.cachedConfig = loadConfig(this.env);
      } catch (error) {
        if (error instanceof ConfigError) throw new CliError(`invalid configuration: ${error.problems.join('; ')}`, EXIT.usage);
        throw error;
      }
    }
    return this.cachedConfig;
  }

  /** Secrets to keep out of any message. */
  secrets(): string[] {
    // Whole URLs are redacted wherever they appear (redactText); their secret parts are
    // listed too, in case one shows up on its own.
    return this.cachedConfig ? configSecrets(this.cachedConfig) : [];
  }

  /**
   * A Postgres connection that has answered once. With `migrate`, the schema is created or
   * brought up to date first (as a worker does at start-up), for commands that write.
   */
  async db({ migrate: wantMigrate = false }: { migrate?: boolean } = {}): Promise<Sql> {
    if (this.sql) return this.sql;
    const url = this.config().databaseUrl;
    const sql = connect(url, { max: 4, appName: 'balance-tracker-cli' });
    const shown = redactUrl(url);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        sql`SELECT 1`,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new CliError(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS);
        }),
      ]);
    } catch (error) {
      await sql.end({ timeout: 0 }).catch(() => undefined);
      throw new CliError(`cannot connect to Postgres at ${shown}: ${describePostgresError(error, this.secrets())}`, EXIT.failure, error);
    } finally {
      clearTimeout(timer);
    }
    this.sql = sql;
    if (wantMigrate) {
      try {
        await migrate(sql);
      } catch (error) {
        throw new CliError(`cannot prepare the database at ${shown}: ${oneLine(error, this.secrets())}`, EXIT.failure, error);
      }
    }
    return sql;
  }

  async temporal(): Promise<Client> {
    if (this.client) return this.client;
    const { address, namespace } = this.config().temporal;
    try {
      this.connection = await Connection.connect({ address, connectTimeout: CONNECT_TIMEOUT_MS });
    } catch (error) {
      throw new CliError(
        `cannot connect to Temporal at ${address}: ${oneLine(error, this.secrets())} (is the server running? TEMPORAL_ADDRESS sets where)`,
        EXIT.failure,
        error,
      );
    }
    this.client = new Client({ connection: this.connection, namespace });
    return this.client;
  }

  /** Runs Temporal calls with a deadline, so a call nobody answers fails instead of hanging. */
  async withDeadline<T>(fn: (client: Client) => Promise<T>, ms = CALL_TIMEOUT_MS): Promise<T> {
    const client = await this.temporal();
    return client.withDeadline(Date.now() + ms, () => fn(client));
  }

  async close(): Promise<void> {
    const sql = this.sql;
    const connection = this.connection;
    this.sql = null;
    this.connection = null;
    this.client = null;
    await Promise.all([
      sql?.end({ timeout: 2 }).catch(() => undefined),
      connection?.close().catch(() => undefined),
    ]);
  }
}

/** Why a Postgres connection failed, in words, without secrets. */
export function describePostgresError(error: unknown, secrets: readonly string[] = []): string {
  switch (errorCode(error)) {
    case 'ECONNREFUSED':
      return 'connection refused (is Postgres running? DATABASE_URL sets where)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found (check DATABASE_URL)';
    case 'CONNECT_TIMEOUT':
      return 'timed out connecting (check DATABASE_URL and the network)';
    case '3D000':
      return `${oneLine(error, secrets)} (create it, or run \`npm start\` once)`;
    case '28P01':
    case '28000':
      return `${oneLine(error, secrets)} (check the user and password in DATABASE_URL)`;
    default:
      return oneLine(error, secrets);
  }
}

/**
 * A missing table or column means the database has not been migrated to this version yet
 * (read commands never change the schema): say how to.
 */
export function describeQueryError(error: unknown, secrets: readonly string[] = []): string {
  const code = errorCode(error);
  if (code === '42P01' || code === '42703') {
    return (
      `${oneLine(error, secrets)}: the database schema is missing or older than this CLI ` +
      '(a worker migrates it at start-up, and so do `wallets add` and `wallets import`)'
    );
  }
  return oneLine(error, secrets);
}
