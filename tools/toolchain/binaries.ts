// Finds the Temporal CLI (`temporal`), `tctl`, the Temporal server and its SQL tool, or builds them once from their Go modules
// into a per-user cache and reuses them after. A build takes minutes, so it happens once per
// machine; concurrent callers (two terminals, two test runs) wait on a lock file and the
// binary lands in the cache by an atomic rename, so nobody ever runs a half-written file.

import { execFile, spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, mkdtemp, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { log } from '../../src/log';

export interface Tool {
  /** Executable name on PATH and in the cache (`go install` names it after the package directory; it is renamed). */
  name: string;
  /** Go module path. */
  module: string;
  /** The main package inside the module. */
  pkg: string;
  version: string;
  /**
   * `install`: `go install <module>/<pkg>@<version>`.
   * `module-source`: `go mod download` the module, then `go build` the package inside its own
   * source tree. Needed when `go install` refuses (it also asks the proxy for the module's
   * version list, to report deprecations, and fails when the proxy will not list it).
   */
  build: 'install' | 'module-source';
  /** Arguments that make the binary print something and exit 0: proves it runs. */
  probeArgs: string[];
}

export const TEMPORAL_CLI: Tool = {
  name: 'temporal',
  module: 'github.com/temporalio/cli',
  pkg: 'cmd/temporal',
  // Later versions carry a replace directive and can't be installed with `go install`.
  version: 'v1.5.1',
  build: 'install',
  probeArgs: ['--version'],
};

export const TCTL: Tool = {
  name: 'tctl',
  module: 'github.com/temporalio/tctl',
  pkg: 'cmd/tctl',
  // The module proxy this project's machines reach serves v1.18.0 only (v1.18.1-v1.18.4 answer
  // 403 "This module version is not available"), and refuses tctl's version list, which
  // `go install` asks for; so tctl is built from its module source.
  version: 'v1.18.0',
  build: 'module-source',
  probeArgs: ['--version'],
};

// The server the compose file runs (temporalio/server and auto-setup 1.29.1 are this module's
// release), for the production topology on this machine (tools/stack/cluster.ts).
export const TEMPORAL_SERVER: Tool = {
  name: 'temporal-server',
  module: 'go.temporal.io/server',
  pkg: 'cmd/server',
  version: 'v1.29.1',
  build: 'install',
  probeArgs: ['--version'],
};

/** Creates and upgrades the server's Postgres schemas (they are embedded in the binary). */
export const TEMPORAL_SQL_TOOL: Tool = {
  ...TEMPORAL_SERVER,
  name: 'temporal-sql-tool',
  pkg: 'cmd/tools/sql',
};

/** The `go install` argument of a tool. */
export function installTarget(tool: Tool): string {
  return `${tool.module}/${tool.pkg}@${tool.version}`;
}

export class ToolchainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolchainError';
  }
}

type Env = Record<string, string | undefined>;

/** `$BALANCE_TRACKER_CACHE`, else `${XDG_CACHE_HOME:-$HOME/.cache}/balance-tracker/bin`. */
export function cacheDir(env: Env = process.env): string {
  if (env.BALANCE_TRACKER_CACHE) return env.BALANCE_TRACKER_CACHE;
  const base = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(base, 'balance-tracker', 'bin');
}

export interface EnsureOptions {
  env?: Env;
  /** Where a build goes; defaults to cacheDir(env). */
  cacheDir?: string;
}

export function ensureTemporalCli(options: EnsureOptions = {}): Promise<string> {
  return ensureTool(TEMPORAL_CLI, options);
}

export function ensureTctl(options: EnsureOptions = {}): Promise<string> {
  return ensureTool(TCTL, options);
}

export function ensureTemporalServer(options: EnsureOptions = {}): Promise<string> {
  return ensureTool(TEMPORAL_SERVER, options);
}

export function ensureTemporalSqlTool(options: EnsureOptions = {}): Promise<string> {
  return ensureTool(TEMPORAL_SQL_TOOL, options);
}

/** Returns a path to a working binary: from PATH, else from the cache, else built into the cache. */
export async function ensureTool(tool: Tool, options: EnsureOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const dir = options.cacheDir ?? cacheDir(env);

  const onPath = await findOnPath(tool.name, env);
  if (onPath && (await runs(onPath, tool.probeArgs))) return onPath;

  const cached = join(dir, tool.name);
  if (await runs(cached, tool.probeArgs)) return cached;

  const go = await findOnPath('go', env);
  if (!go) {
    throw new ToolchainError(
      `'${tool.name}' is not on PATH and not in ${dir}, and Go is not installed to build it. ` +
        `Fix: install Go >= 1.22 (https://go.dev/doc/install) so it can be built once with ` +
        `'go install ${installTarget(tool)}', or put '${tool.name}' on PATH.`,
    );
  }

  await mkdir(dir, { recursive: true });
  const release = await acquireLock(join(dir, `.${tool.name}.lock`));
  try {
    // Another process may have finished the build while we waited for the lock.
    if (await runs(cached, tool.probeArgs)) return cached;
    await build(tool, go, dir, env);
    if (!(await runs(cached, tool.probeArgs))) {
      throw new ToolchainError(`built ${cached}, but '${tool.name} ${tool.probeArgs.join(' ')}' fails`);
    }
    return cached;
  } finally {
    await release();
  }
}

async function build(tool: Tool, go: string, dir: string, env: Env): Promise<void> {
  log.info(
    `building ${tool.name} ${tool.version} from its Go module (takes about 4 minutes, once; cached in ${dir})`,
  );
  // Build into a private GOBIN on the same filesystem, then rename: atomic, never half-written.
  const gobin = await mkdtemp(join(dir, `.${tool.name}-build-`));
  // Without VCS info the build needs no git checkout of the module.
  const goEnv = { ...env, GOBIN: gobin, GOFLAGS: [env.GOFLAGS, '-buildvcs=false'].filter(Boolean).join(' ') };
  try {
    if (tool.build === 'install') {
      await runGoOrThrow(tool, go, ['install', installTarget(tool)], goEnv);
      await rename(join(gobin, basename(tool.pkg)), join(gobin, tool.name));
    } else {
      const download = await runGoOrThrow(tool, go, ['mod', 'download', '-json', `${tool.module}@${tool.version}`], goEnv);
      const source = (JSON.parse(download) as { Dir?: string }).Dir;
      if (!source) throw new ToolchainError(`'go mod download ${tool.module}@${tool.version}' gave no source directory`);
      // Built inside the module's own tree, so its go.mod (and any replace directive) applies.
      await runGoOrThrow(tool, go, ['build', '-o', join(gobin, tool.name), `./${tool.pkg}`], goEnv, source);
    }
    await rename(join(gobin, tool.name), join(dir, tool.name));
  } finally {
    await rm(gobin, { recursive: true, force: true });
  }
}

async function runGoOrThrow(tool: Tool, go: string, args: string[], env: Env, cwd?: string): Promise<string> {
  const output = await runGo(go, args, env, cwd);
  if (output.code !== 0) {
    throw new ToolchainError(
      `'go ${args.join(' ')}' failed (exit ${output.code}) building ${tool.name} ${tool.version}:\n` +
        `${tail(output.stderr || output.stdout, 20)}\n` +
        `Fix: check that the Go module proxy is reachable and Go is >= 1.22, or put '${tool.name}' on PATH.`,
    );
  }
  return output.stdout;
}

function runGo(go: string, args: string[], env: Env, cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(go, args, { cwd, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-20_000);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** The first executable file called `name` in PATH, or null. */
export async function findOnPath(name: string, env: Env = process.env): Promise<string | null> {
  for (const entry of (env.PATH ?? '').split(delimiter)) {
    if (!entry) continue;
    const candidate = join(entry, name);
    try {
      await access(candidate, fsConstants.X_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

function runs(path: string, args: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(path, args, { timeout: 60_000 }, (error) => resolve(error === null));
  });
}

const LOCK_WAIT_MS = 20 * 60_000;

/** A lock file holding the owner's pid; a lock whose owner is dead is taken over. */
async function acquireLock(path: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  let announced = false;
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) {
      await rm(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new ToolchainError(`timed out waiting for another build to release ${path}; remove it if no build is running`);
    }
    if (!announced) {
      log.info(`waiting for another process (pid ${owner || '?'}) that is building into the same cache`);
      announced = true;
    }
    await sleep(1_000);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
