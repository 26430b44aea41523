// Finding and building the Temporal CLI, tctl, the Temporal server and its SQL tool. A fake
// `go` and fake binaries stand in for the real ones here; the real build path runs once per machine.

import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setLogSink } from '../src/log';
import { ensureTctl, ensureTemporalCli, ensureTemporalServer, ensureTemporalSqlTool } from '../tools/toolchain/binaries';

let dir: string;
let cache: string;
let bin: string;
let logLines: string[];
let restoreLog: () => void;

beforeEach(async () => {
  logLines = [];
  restoreLog = setLogSink((line) => logLines.push(line));
  dir = await mkdtemp(join(tmpdir(), 'toolchain-test-'));
  cache = join(dir, 'cache');
  bin = join(dir, 'bin');
  await mkdir(bin);
});
afterEach(async () => {
  restoreLog();
  await rm(dir, { recursive: true, force: true });
});

async function script(path: string, body: string): Promise<void> {
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
}

/** A `go` that "builds" a binary printing its version, logging each call, slowly. */
async function fakeGo(calls: string): Promise<void> {
  const binary = String.raw`printf '#!/bin/sh\necho fake version\n' > "$out"; chmod +x "$out"`;
  await script(
    join(bin, 'go'),
    [
      `echo "$*" >> ${calls}`,
      'sleep 1',
      'case "$1" in',
      `  install) out="$GOBIN/$(basename "\${2%@*}")"; ${binary} ;;`,
      `  mod) echo '{"Dir": "${dir}"}' ;;`,
      `  build) out="$3"; ${binary} ;;`,
      'esac',
    ].join('\n'),
  );
}

describe('ensureTemporalCli', () => {
  it('without Go, with nothing on PATH or in the cache, names the fix', async () => {
    const env = { PATH: bin, HOME: dir };
    const error = await ensureTemporalCli({ env, cacheDir: cache }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain(`'temporal' is not on PATH and not in ${cache}, and Go is not installed to build it.`);
    expect(message).toContain('Fix: install Go >= 1.22');
    expect(message).toContain("'go install github.com/temporalio/cli/cmd/temporal@v1.5.1'");
    expect(message).toContain("or put 'temporal' on PATH.");
  });

  it('uses a working temporal found on PATH', async () => {
    await script(join(bin, 'temporal'), 'echo temporal version test');
    expect(await ensureTemporalCli({ env: { PATH: bin }, cacheDir: cache })).toBe(join(bin, 'temporal'));
  });

  it('skips a temporal on PATH that does not run, and uses the cached one', async () => {
    await script(join(bin, 'temporal'), 'exit 3');
    await mkdir(cache, { recursive: true });
    await script(join(cache, 'temporal'), 'echo temporal version cached');
    expect(await ensureTemporalCli({ env: { PATH: bin }, cacheDir: cache })).toBe(join(cache, 'temporal'));
  });

  it('builds once into the cache when two callers race, then reuses the build', async () => {
    const calls = join(dir, 'go-calls');
    await fakeGo(calls);
    const env = { PATH: `${bin}:/usr/bin:/bin` };
    const paths = await Promise.all([ensureTemporalCli({ env, cacheDir: cache }), ensureTemporalCli({ env, cacheDir: cache })]);
    expect(paths).toEqual([join(cache, 'temporal'), join(cache, 'temporal')]);
    expect(await ensureTemporalCli({ env, cacheDir: cache })).toBe(join(cache, 'temporal'));
    expect((await readFile(calls, 'utf8')).trim().split('\n')).toEqual(['install github.com/temporalio/cli/cmd/temporal@v1.5.1']);
    // One line says a build is happening and that it takes minutes; the other caller says it waits.
    const building = logLines.filter((line) => line.includes('building temporal v1.5.1'));
    expect(building).toHaveLength(1);
    expect(building[0]).toContain('takes about 4 minutes');
    expect(logLines.filter((line) => line.includes('waiting for another process'))).toHaveLength(1);
  });
});

describe('ensureTctl', () => {
  it('builds tctl from its module source into the cache', async () => {
    const calls = join(dir, 'go-calls');
    await fakeGo(calls);
    const env = { PATH: `${bin}:/usr/bin:/bin` };
    expect(await ensureTctl({ env, cacheDir: cache })).toBe(join(cache, 'tctl'));
    const lines = (await readFile(calls, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe('mod download -json github.com/temporalio/tctl@v1.18.0');
    expect(lines[1]).toMatch(/^build -o \S+\/tctl \.\/cmd\/tctl$/);
  });
});

describe('ensureTemporalServer and ensureTemporalSqlTool', () => {
  it('build the server and its SQL tool with go install and cache them under their own names', async () => {
    const calls = join(dir, 'go-calls');
    await fakeGo(calls);
    const env = { PATH: `${bin}:/usr/bin:/bin` };
    // `go install` names the binaries `server` and `sql`, after their package directories.
    expect(await ensureTemporalServer({ env, cacheDir: cache })).toBe(join(cache, 'temporal-server'));
    expect(await ensureTemporalSqlTool({ env, cacheDir: cache })).toBe(join(cache, 'temporal-sql-tool'));
    expect((await readFile(calls, 'utf8')).trim().split('\n')).toEqual([
      'install go.temporal.io/server/cmd/server@v1.29.1',
      'install go.temporal.io/server/cmd/tools/sql@v1.29.1',
    ]);
  });
});
