// Structured logging: JSON lines when stderr is not a terminal, short text when it is.
// Every line passes through redaction, so a secret that slips into a message is still hidden.

import { redactText } from './redact';
import type { LogLevel } from './config';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const secrets: string[] = [];
let threshold: LogLevel = 'info';
let sink: (line: string) => void = (line) => process.stderr.write(`${line}\n`);
let json = !process.stderr.isTTY;

/** Values that must never be printed verbatim (API keys, passwords, whole secret URLs). */
export function registerSecrets(...values: (string | null | undefined)[]): void {
  for (const value of values) if (value && !secrets.includes(value)) secrets.push(value);
}

/** The redaction every log line gets: registered secrets and every URL hidden. */
export function redact(text: string): string {
  return redactText(text, secrets);
}

export function setLogLevel(level: LogLevel): void {
  threshold = level;
}

/** Redirects log output (tests read it back). Returns a function that restores the previous sink. */
export function setLogSink(next: (line: string) => void): () => void {
  const previous = sink;
  sink = next;
  return () => {
    sink = previous;
  };
}

/** JSON lines or short text (the default follows whether stderr is a terminal). Returns a function that restores the previous format. */
export function setLogFormat(format: 'json' | 'text'): () => void {
  const previous = json;
  json = format === 'json';
  return () => {
    json = previous;
  };
}

export type Fields = Record<string, unknown>;

function serialize(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

function write(level: LogLevel, message: string, fields: Fields): void {
  if (ORDER[level] < ORDER[threshold]) return;
  let line: string;
  if (json) {
    line = JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields }, (_k, v) => serialize(v));
  } else {
    const extra = Object.entries(fields)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(serialize(v), (_k, x) => serialize(x))}`)
      .join(' ');
    line = `${level.toUpperCase().padEnd(5)} ${message}${extra ? ` ${extra}` : ''}`;
  }
  sink(redact(line));
}

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

export function createLogger(base: Fields = {}): Logger {
  return {
    debug: (m, f = {}) => write('debug', m, { ...base, ...f }),
    info: (m, f = {}) => write('info', m, { ...base, ...f }),
    warn: (m, f = {}) => write('warn', m, { ...base, ...f }),
    error: (m, f = {}) => write('error', m, { ...base, ...f }),
    child: (f) => createLogger({ ...base, ...f }),
  };
}

export const log = createLogger();
