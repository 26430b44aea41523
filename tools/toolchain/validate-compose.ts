// `npm run validate:compose [-- path/to/docker-compose.yml]`
// No Docker engine runs on CI, so the compose file is checked here instead: YAML syntax,
// variable interpolation as Compose does it (with an empty environment, i.e. the defaults),
// the official compose-spec JSON schema (bundled by the `dclint` package, run with Ajv),
// and what the schema can't see: build contexts and Dockerfiles exist, depends_on and named
// volumes point at something declared, the search attributes registered agree with
// src/search-attributes.ts, the worker's RPC URL comes from the environment, and every file a
// service names inside a bind-mounted directory (deploy/'s config, shared with
// `npm run stack:cluster`) exists there, and the file a service runs with `node` is in its image.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { parseDocument } from 'yaml';
import { PACKAGE_ROOT } from '../../src/package-root';
import { SEARCH_ATTRIBUTE_FLAGS } from '../../src/search-attributes';
import { WORKER_NODE_FLAGS } from '../../src/worker-flags';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Env = Record<string, string | undefined>;

/** The compose-spec schema as the `dclint` package ships it (its `update-compose-schema` keeps it current). */
export function composeSchemaPath(): string {
  return join(dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json');
}

/** Compose's interpolation: $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}, ${VAR:+alt}, ${VAR+alt}. */
export function interpolate(text: string, env: Env, where: string, problems: string[]): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch !== '$') {
      out += ch;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i++;
      continue;
    }
    if (next === '{') {
      // Find the matching brace (defaults may nest ${...}).
      let depth = 1;
      let j = i + 2;
      for (; j < text.length && depth > 0; j++) {
        if (text[j] === '{') depth++;
        else if (text[j] === '}') depth--;
      }
      if (depth !== 0) {
        problems.push(`${where}: unterminated \${ in ${JSON.stringify(text)}`);
        return out;
      }
      const body = text.slice(i + 2, j - 1);
      const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/.exec(body);
      if (!match) {
        problems.push(`${where}: invalid interpolation \${${body}}`);
        return out;
      }
      const [, name, op, arg = ''] = match as unknown as [string, string, string | undefined, string | undefined];
      const value = env[name!];
      const unsetOrEmpty = value === undefined || (op?.startsWith(':') && value === '');
      if (op === undefined) out += value ?? '';
      else if (op.endsWith('-')) out += unsetOrEmpty ? interpolate(arg, env, where, problems) : value;
      else if (op.endsWith('+')) out += unsetOrEmpty ? '' : interpolate(arg, env, where, problems);
      else if (unsetOrEmpty) problems.push(`${where}: requires ${name}: ${arg || 'it is not set'}`);
      else out += value;
      i = j - 1;
      continue;
    }
    const bare = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1));
    if (bare) {
      out += env[bare[0]] ?? '';
      i += bare[0].length;
    } else {
      out += '$';
    }
  }
  return out;
}

function interpolateAll(value: Json, env: Env, path: string, problems: string[]): Json {
  if (typeof value === 'string') return interpolate(value, env, path, problems);
  if (Array.isArray(value)) return value.map((v, i) => interpolateAll(v, env, `${path}[${i}]`, problems));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateAll(v, env, `${path}.${k}`, problems)]));
  }
  return value;
}

const isObject = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface ComposeReport {
  problems: string[];
  services: string[];
}

export function validateCompose(file: string, env: Env = {}): ComposeReport {
  const problems: string[] = [];
  const text = readFileSync(file, 'utf8');
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  for (const error of [...doc.errors, ...doc.warnings]) problems.push(`YAML: ${error.message}`);
  if (problems.length > 0) return { problems, services: [] };

  const raw = doc.toJS({ maxAliasCount: 100 }) as Json;
  const compose = interpolateAll(raw, env, '', problems);

  const ajv = new Ajv({ allErrors: true, strict: false });
  const schema = JSON.parse(readFileSync(composeSchemaPath(), 'utf8')) as Record<string, unknown>;
  // It names draft-07 as https://json-schema.org/draft-07/schema, which Ajv knows (and uses by
  // default) under its http://...# id; drop the reference rather than fetch anything.
  delete schema.$schema;
  const validate = ajv.compile(schema);
  if (!validate(compose)) {
    for (const e of validate.errors ?? []) {
      const extra = e.keyword === 'additionalProperties' ? ` '${String((e.params as { additionalProperty?: string }).additionalProperty)}'` : '';
      problems.push(`schema: ${e.instancePath || '/'} ${e.message ?? e.keyword}${extra}`);
    }
  }
  if (!isObject(compose) || !isObject(compose.services)) {
    problems.push('no services');
    return { problems, services: [] };
  }

  const base = dirname(resolve(file));
  const services = compose.services as Record<string, Json>;
  const volumes = isObject(compose.volumes) ? Object.keys(compose.volumes) : [];
  for (const [name, service] of Object.entries(services)) {
    if (!isObject(service)) continue;
    if (service.build === undefined && service.image === undefined) problems.push(`services.${name}: needs an image or a build`);
    if (service.build !== undefined) {
      const { context, dockerfile } = buildPaths(service.build, base);
      if (!existsSync(context) || !statSync(context).isDirectory()) problems.push(`services.${name}.build: context ${context} is not a directory`);
      else if (!existsSync(dockerfile)) problems.push(`services.${name}.build: ${dockerfile} does not exist`);
    }
    const dependsOn = Array.isArray(service.depends_on)
      ? service.depends_on
      : isObject(service.depends_on)
        ? Object.keys(service.depends_on)
        : [];
    for (const dependency of dependsOn) {
      if (typeof dependency === 'string' && !(dependency in services)) {
        problems.push(`services.${name}.depends_on: no service '${dependency}'`);
      }
    }
    for (const mount of Array.isArray(service.volumes) ? service.volumes : []) {
      const source = typeof mount === 'string' ? mount.split(':')[0] : isObject(mount) && mount.type === 'volume' ? mount.source : undefined;
      if (typeof source === 'string' && source && !/^[./~]/.test(source) && !volumes.includes(source)) {
        problems.push(`services.${name}.volumes: volume '${source}' is not declared under top-level volumes`);
      }
    }
  }

  checkSearchAttributes(raw, problems);
  checkWorkerEnvironment(raw, problems);
  checkMountedFiles(services, base, problems);
  checkImageCommands(services, base, problems);
  checkWorkerFlags(services, base, problems);
  return { problems, services: Object.keys(services) };
}

/** The one-shot setup service registers exactly the attributes the dev server gets. */
function checkSearchAttributes(raw: Json, problems: string[]): void {
  const text = JSON.stringify(raw);
  const match = /for attribute in ([^;]*);/.exec(text);
  if (!match) {
    problems.push('no service registers the custom search attributes (expected a `for attribute in Name=Type ...;` loop)');
    return;
  }
  const registered = match[1]!.trim().split(/\s+/).sort();
  const expected = [...SEARCH_ATTRIBUTE_FLAGS].sort();
  if (registered.join(' ') !== expected.join(' ')) {
    problems.push(`search attributes registered (${registered.join(' ')}) differ from src/search-attributes.ts (${expected.join(' ')})`);
  }
}

/** The worker gets its connection settings from the environment, and its RPC URL (a secret) from the host's. */
function checkWorkerEnvironment(raw: Json, problems: string[]): void {
  const worker = isObject(raw) && isObject(raw.services) ? raw.services.worker : undefined;
  if (!isObject(worker)) {
    problems.push('no worker service');
    return;
  }
  const env = isObject(worker.environment)
    ? worker.environment
    : Object.fromEntries(
        (Array.isArray(worker.environment) ? worker.environment : []).map((e) => String(e).split(/=(.*)/s).slice(0, 2)),
      );
  for (const name of ['TEMPORAL_ADDRESS', 'DATABASE_URL', 'SOLANA_RPC_URL']) {
    if (!(name in env)) problems.push(`services.worker.environment: ${name} missing`);
  }
  const rpc = env.SOLANA_RPC_URL;
  if (typeof rpc === 'string' && !rpc.startsWith('${SOLANA_RPC_URL')) {
    problems.push('services.worker.environment.SOLANA_RPC_URL must come from the host environment (${SOLANA_RPC_URL...})');
  }
}

/** A path a service names under a directory it bind-mounts from the host must exist in that directory. */
function checkMountedFiles(services: Record<string, Json>, base: string, problems: string[]): void {
  for (const [name, service] of Object.entries(services)) {
    if (!isObject(service)) continue;
    const text = JSON.stringify({ ...service, volumes: undefined });
    for (const mount of Array.isArray(service.volumes) ? service.volumes : []) {
      if (typeof mount !== 'string') continue;
      const [source, target] = mount.split(':');
      if (!source || !target || !/^[./]/.test(source)) continue;
      const host = resolve(base, source);
      if (!existsSync(host) || !statSync(host).isDirectory()) continue;
      const escaped = target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      for (const match of text.matchAll(new RegExp(`${escaped}/([\\w./-]+)`, 'g'))) {
        if (!existsSync(join(host, match[1]!))) problems.push(`services.${name}: ${target}/${match[1]} is not in ${source}`);
      }
    }
  }
}

/** A service's build context and Dockerfile, absolute. */
function buildPaths(given: Json, base: string): { context: string; dockerfile: string } {
  const build = typeof given === 'string' ? { context: given } : isObject(given) ? given : {};
  const context = resolve(base, typeof build.context === 'string' ? build.context : '.');
  return { context, dockerfile: resolve(context, typeof build.dockerfile === 'string' ? build.dockerfile : 'Dockerfile') };
}

/**
 * A service built here that runs `node FILE` runs a file its image has: the final stage of the
 * Dockerfile copies it (dist/ from the build stage, bin/ from the context), and it comes from a
 * file of the checkout (dist/X.js is built from X.ts).
 */
function checkImageCommands(services: Record<string, Json>, base: string, problems: string[]): void {
  for (const [name, service] of Object.entries(services)) {
    if (!isObject(service) || service.build === undefined || !Array.isArray(service.command) || service.command[0] !== 'node') continue;
    const file = service.command.slice(1).find((arg) => typeof arg === 'string' && !arg.startsWith('-'));
    if (typeof file !== 'string') continue;
    const { context, dockerfile } = buildPaths(service.build, base);
    if (!existsSync(dockerfile)) continue; // reported above
    const source = file.startsWith('dist/') ? file.slice('dist/'.length).replace(/\.js$/, '.ts') : file;
    if (!existsSync(join(context, source))) problems.push(`services.${name}.command: runs ${file}, but there is no ${source} to make it from`);
    const copied = finalStageCopies(readFileSync(dockerfile, 'utf8'));
    if (!copied.some((dest) => file === dest || file.startsWith(`${dest}/`))) {
      problems.push(`services.${name}.command: runs ${file}, which the final stage of ${dockerfile} does not copy (it copies ${copied.join(', ')})`);
    }
  }
}

/** The worker runs with WORKER_NODE_FLAGS, in compose's command and in the image's own CMD. */
function checkWorkerFlags(services: Record<string, Json>, base: string, problems: string[]): void {
  const worker = services.worker;
  if (!isObject(worker)) return; // reported above
  // node's own flags are those before the script; after it they would be the script's arguments.
  const command = Array.isArray(worker.command) ? worker.command : [];
  const script = command.findIndex((arg, i) => i > 0 && typeof arg === 'string' && !arg.startsWith('-'));
  const nodeFlags = command.slice(1, script < 0 ? command.length : script);
  for (const flag of WORKER_NODE_FLAGS) if (!nodeFlags.includes(flag)) problems.push(`services.worker.command: ${flag} missing before the script (WORKER_NODE_FLAGS, src/worker-flags.ts)`);
  if (worker.build === undefined) return;
  const { dockerfile } = buildPaths(worker.build, base);
  if (!existsSync(dockerfile)) return; // reported above
  const cmd = readFileSync(dockerfile, 'utf8').split('\n').filter((line) => /^CMD\s/i.test(line.trim())).at(-1) ?? '';
  for (const flag of WORKER_NODE_FLAGS) if (!cmd.includes(`"${flag}"`)) problems.push(`${dockerfile}: CMD lacks ${flag} (WORKER_NODE_FLAGS, src/worker-flags.ts)`);
}

/** Where the last stage's COPY instructions put things, relative to WORKDIR. */
function finalStageCopies(dockerfile: string): string[] {
  const lines = dockerfile.split('\n').map((line) => line.trim());
  const lastFrom = lines.reduce((last, line, i) => (/^FROM\s/i.test(line) ? i : last), -1);
  return lines
    .slice(lastFrom + 1)
    .filter((line) => /^COPY\s/i.test(line))
    .map((line) => line.split(/\s+/).at(-1)!.replace(/^\.\/?/, '').replace(/\/$/, ''))
    .filter((dest) => dest !== '');
}

function main(): void {
  const file = resolve(process.argv[2] ?? join(PACKAGE_ROOT, 'docker-compose.yml'));
  const dclint = (JSON.parse(readFileSync(require.resolve('dclint/package.json'), 'utf8')) as { version: string }).version;
  const report = validateCompose(file);
  if (report.problems.length > 0) {
    process.stderr.write(`${file}: ${report.problems.length} problem(s):\n${report.problems.map((p) => `  - ${p}`).join('\n')}\n`);
    process.exit(1);
  }
  process.stdout.write(
    `${file}: valid (compose-spec schema from dclint ${dclint}; services: ${report.services.join(', ')}; builds, dependencies, volumes, search attributes, image commands, worker flags checked)\n`,
  );
}

if (require.main === module) main();
