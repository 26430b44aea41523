// The real Temporal Web UI (served by a dev server of this test's own, the shared one being
// headless) in Debian's Chromium through playwright-core: an operator finds the tier
// workflows, filters them by tier, and reads the `progress` query on a tier workflow's page.
// Each page visited is saved as a screenshot under test-artifacts/webui/.

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address } from '../src/address';
import { addWallets } from '../src/db/wallets';
import { type DevServer, startDevServer } from '../tools/stack/devserver';
import { requestTierSweep, startTierWorkflows } from '../src/tier-control';
import { TIERS, tierWorkflowId } from '../src/tiers';
import { type Engine, startEngine } from './helpers/engine';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '..', 'test-artifacts', 'webui');
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** The UI fetches lists and query answers after the page loads; visibility lags a little too. */
const UI_TIMEOUT_MS = 30_000;

describe('the Temporal Web UI', () => {
  let server: DevServer | undefined;
  let engine: Engine | undefined;
  let context: BrowserContext | undefined;
  let userDataDir: string | undefined;
  let page: Page;
  let ui: string;

  beforeAll(async () => {
    // Not a skip: without the browser this check would silently not happen.
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium is missing at ${CHROMIUM}: install Debian's package with \`apt-get install -y chromium\` (.ci/run does)`);
    }
    await mkdir(ARTIFACTS, { recursive: true });
    server = await startDevServer({ port: 0, uiPort: 0 });
    ui = server.uiUrl!;
    engine = await startEngine({
      temporalAddress: server.address,
      simulator: { wallets: 250, seed: 4 },
      env: { BATCHES_PER_CHILD: '1', SWEEP_CONCURRENCY: '2' },
    });
    await addWallets(engine.sql, engine.sim.world.addresses(0, 250) as Address[], 'high');
    await startTierWorkflows(engine.client, engine.config);
    await requestTierSweep(engine.client, engine.config, 'high', 'web ui test');
    await engine.waitForSweeps('high', 1);

    userDataDir = await mkdtemp(join(tmpdir(), 'bt-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1600, height: 1000 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(UI_TIMEOUT_MS);
  });

  afterAll(async () => {
    await context?.close();
    if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
    await engine?.stop();
    await server?.stop();
  });

  async function screenshot(name: string): Promise<void> {
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  }

  it('lists the three tier workflows', async () => {
    await page.goto(`${ui}/namespaces/default/workflows`);
    for (const tier of TIERS) await expect.poll(() => page.getByText(tierWorkflowId(tier), { exact: true }).count(), { timeout: UI_TIMEOUT_MS }).toBeGreaterThan(0);
    await screenshot('1-workflows');
  });

  it('filters the workflows by the BalanceTier search attribute', async () => {
    await page.goto(`${ui}/namespaces/default/workflows?query=${encodeURIComponent('BalanceTier = "high"')}`);
    // The tier workflow and its sweep's three batch children; nothing of the other tiers.
    const listed = async () => [...new Set((await page.locator('main').innerText()).match(/balance-(?:tier|batch)-[\w-]+/g))].sort();
    await expect.poll(listed, { timeout: UI_TIMEOUT_MS }).toHaveLength(4);
    const ids = await listed();
    expect(ids.at(-1)).toBe('balance-tier-high');
    for (const id of ids.slice(0, -1)) expect(id).toMatch(/^balance-batch-high-\d+-[0-9a-f]+-\d$/);
    // The filter shows as a chip above the list.
    expect(await page.locator('main').innerText()).toMatch(/BalanceTier\s*=\s*"high"/);
    await screenshot('2-workflows-high');
  });

  it('shows a sweep\'s batch children on the tier workflow\'s page', async () => {
    const { runId } = await engine!.client.workflow.getHandle(tierWorkflowId('high')).describe();
    await page.goto(`${ui}/namespaces/default/workflows/${tierWorkflowId('high')}/${runId}/relationships`);
    const childIds = async () => new Set((await page.locator('main').innerText()).match(/balance-batch-high-\d+-[0-9a-f]+-\d+/g));
    // 250 wallets, one batch of up to 100 per child: three children.
    await expect.poll(async () => (await childIds()).size, { timeout: UI_TIMEOUT_MS }).toBe(3);
    await expect.poll(() => page.getByText('batchWorkflow').count(), { timeout: UI_TIMEOUT_MS }).toBe(3);
    await screenshot('3-tier-high-relationships');
  });

  it('answers the progress query on a tier workflow\'s page', async () => {
    const { runId } = await engine!.client.workflow.getHandle(tierWorkflowId('high')).describe();
    await page.goto(`${ui}/namespaces/default/workflows/${tierWorkflowId('high')}/${runId}/history`);
    await page.getByRole('tab', { name: 'Queries' }).click();
    await page.waitForURL(/\/query$/);
    // The query types come from the running worker; choose `progress` as an operator would.
    await page.getByTestId('query-select-button').click();
    await page.locator('#query-select-select').getByRole('option', { name: 'progress', exact: true }).click();
    await page.getByRole('button', { name: 'Run Query' }).click();
    const answer = page.getByText('"tier": "high"');
    await answer.first().waitFor();
    const text = await page.locator('body').innerText();
    expect(text).toContain('"totals"');
    expect(text).toMatch(/"sweeps": [1-9]/);
    await screenshot('4-tier-high-progress-query');
  });
});
