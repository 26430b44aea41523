// The dev server as the local stack runs it: answers, has the custom search attributes,
// keeps them across a restart on its SQLite file, and stops leaving no process behind.

import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevServer, type DevServer } from '../tools/stack/devserver';
import { SEARCH_ATTRIBUTE_FLAGS, TIER_KEY } from '../src/search-attributes';
import { portOpen, processExists } from './helpers/processes';
import { waitFor } from './helpers/reliability';

/** temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD */
const KEYWORD = 2;
const expectedAttributes = Object.fromEntries(SEARCH_ATTRIBUTE_FLAGS.map((flag) => [flag.split('=')[0], KEYWORD]));

async function customSearchAttributes(address: string): Promise<Record<string, unknown>> {
  const connection = await Connection.connect({ address });
  try {
    const response = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    return { ...response.customAttributes };
  } finally {
    await connection.close();
  }
}

/** An attribute the dev server is never started with (so only a kept store can have it after a restart). */
const EXTRA_ATTRIBUTE = 'DevserverTestOnly';

async function withClient<T>(address: string, use: (client: Client, connection: Connection) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address });
  try {
    return await use(new Client({ connection, namespace: 'default' }), connection);
  } finally {
    await connection.close();
  }
}

async function taggedWorkflows(client: Client): Promise<string[]> {
  const ids: string[] = [];
  for await (const execution of client.workflow.list({ query: `${TIER_KEY.name} = 'kept-across-restart'` })) ids.push(execution.workflowId);
  return ids;
}

async function expectGone(server: DevServer): Promise<void> {
  expect(processExists(server.pid)).toBe(false);
  // Nothing of its process group is left either.
  expect(() => process.kill(-server.pid, 0)).toThrow();
  expect(await portOpen(server.address)).toBe(false);
}

describe('dev server', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'devserver-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('starts on free ports with the custom search attributes and stops leaving nothing behind', async () => {
    const server = await startDevServer({ port: 0, uiPort: 0 });
    try {
      expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(await customSearchAttributes(server.address)).toMatchObject(expectedAttributes);
      expect(server.uiUrl).toMatch(/^http:\/\/localhost:\d+$/);
      const ui = await fetch(server.uiUrl!.replace('localhost', '127.0.0.1'));
      expect(ui.status).toBe(200);
    } finally {
      await server.stop();
    }
    await expectGone(server);
  });

  it('restarts on its SQLite file with the search attributes it already has', async () => {
    const dbFile = join(dir, 'data', 'temporal.sqlite');
    const first = await startDevServer({ port: 0, headless: true, dbFile });
    try {
      // Kept, not re-created: an attribute no flag names survives, and so does a value
      // stored under one the flags do name.
      await withClient(first.address, async (client, connection) => {
        await connection.operatorService.addSearchAttributes({ namespace: 'default', searchAttributes: { [EXTRA_ATTRIBUTE]: KEYWORD } });
        await client.workflow.start('notRunAnywhere', {
          taskQueue: 'devserver-test-no-worker',
          workflowId: 'devserver-test-kept',
          typedSearchAttributes: [{ key: TIER_KEY, value: 'kept-across-restart' }],
        });
        await waitFor('the workflow to be visible by BalanceTier', async () => ((await taggedWorkflows(client)).length === 1 ? true : undefined), 30_000);
      });
    } finally {
      await first.stop();
    }
    await expectGone(first);

    const second = await startDevServer({ port: 0, headless: true, dbFile });
    try {
      expect(await customSearchAttributes(second.address)).toMatchObject({ ...expectedAttributes, [EXTRA_ATTRIBUTE]: KEYWORD });
      await withClient(second.address, async (client) => {
        expect(await taggedWorkflows(client)).toEqual(['devserver-test-kept']);
      });
    } finally {
      await second.stop();
    }
    await expectGone(second);
  });

  it('does not outlive a process that started it and was killed with SIGKILL', async () => {
    const script = join(dir, 'owner.ts');
    const module = resolve(__dirname, '../tools/stack/devserver.ts');
    await writeFile(
      script,
      `import { startDevServer } from ${JSON.stringify(module)};\n` +
        `startDevServer({ port: 0, headless: true }).then((s) => console.log(JSON.stringify({ pid: s.pid, address: s.address })));\n` +
        `setInterval(() => undefined, 1000);\n`,
    );
    // One process (node with tsx's loader, not the tsx CLI, which runs the script in a child).
    const owner = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: resolve(__dirname, '..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolveLine, reject) => {
      let text = '';
      owner.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('\n')) resolveLine(text.split('\n')[0]!);
      });
      owner.once('exit', (code) => reject(new Error(`owner exited (${code}) before the server was ready`)));
    });
    const server = JSON.parse(line) as { pid: number; address: string };
    expect(processExists(server.pid)).toBe(true);
    owner.kill('SIGKILL');
    const deadline = Date.now() + 10_000;
    while (processExists(server.pid) && Date.now() < deadline) await sleep(100);
    expect(processExists(server.pid)).toBe(false);
    expect(await portOpen(server.address)).toBe(false);
  });

  it('fails with a clear error and the log tail when the port is taken', async () => {
    const sockets = new Set<Socket>();
    const blocker = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const logFile = join(dir, 'taken.log');
    try {
      const failure = startDevServer({ port, headless: true, logFile, readyTimeoutMs: 30_000 });
      await expect(failure).rejects.toThrow(
        new RegExp(`Temporal dev server .* (exited|did not answer)[\\s\\S]*last lines of ${logFile}:\\n[\\s\\S]*address already in use`),
      );
      // What startDevServer retries on with fresh ports when it chose them itself.
      await expect(failure).rejects.toMatchObject({ name: 'DevServerError', portClash: true });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
