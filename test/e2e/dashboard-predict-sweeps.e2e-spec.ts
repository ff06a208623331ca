import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { eventually, finishedExperiment, startTestStack, type TestStack } from '../utils/tfleet-stack.util';

/** Screenshots land here (git-ignored), beside dashboard.e2e-spec.ts's. */
const ARTIFACTS = join(__dirname, '..', '..', '..', 'test-artifacts', 'dashboard');
const CHROMIUM = process.env['TFLEET_CHROMIUM'] ?? '/usr/bin/chromium';

const mnistRun = {
  name: 'digits to predict',
  dataset: { name: 'mnist', samples: 1000 },
  model: { family: 'cnn', blocks: [{ filters: 8 }], denseUnits: [32] },
  training: { epochs: 1, batchSize: 32, seed: 3, ranks: 1 },
};
/** A tiny grapheme-to-phoneme model (as in export-predict.e2e-spec.ts): words of at most 6 letters. */
const cmudictRun = {
  name: 'phonemes to predict',
  dataset: { name: 'cmudict', samples: 300, maxWordLength: 6 },
  model: { family: 'gru', units: 16, embeddingDim: 8 },
  training: { epochs: 1, batchSize: 32, ranks: 1 },
};
/** Tiny trials (200 digits, one dense layer of 8, one epoch), as in sweeps.e2e-spec.ts. */
const sweepOf = (name: string, seeds: number[]) => ({
  name,
  base: { dataset: { name: 'mnist', samples: 200 }, model: { family: 'cnn', blocks: [], denseUnits: [8], dropout: 0 }, training: { epochs: 1, batchSize: 16, ranks: 1 } },
  method: 'grid',
  space: { 'training.learningRate': { values: [0.01, 0.1] } },
  seeds,
});
/**
 * Four trials of two epochs under ASHA (one rung, at epoch 1). One worker runs them in plan
 * order; the two learning rates of 1e-6 barely move the loss, so they rank below the first two
 * at the rung and stop there (as in sweeps.e2e-spec.ts's ASHA test).
 */
const ashaSweep = {
  ...sweepOf('asha over four learning rates', [1]),
  base: { ...sweepOf('', [1]).base, training: { epochs: 2, batchSize: 16, ranks: 1 } },
  space: { 'training.learningRate': { values: [0.01, 0.005, 0.000001, 0.000002] } },
  earlyStopping: { method: 'asha', metric: 'loss', mode: 'min', gracePeriod: 1, reductionFactor: 2, maxEpochs: 2 },
};

interface SweepBody {
  id: string;
  status: string;
  trials: { id: string; status: string; assignment: Record<string, number>; stop: { rung: number; epoch: number; metric: string; value: number; cutoff: number } | null }[];
  counts: Record<string, number>;
  epochsSpent: number;
}

describe('the dashboard: predict box and sweeps (Debian chromium via playwright-core; real API and worker)', () => {
  let stack: TestStack;
  let browser: Browser;
  let page: Page;
  let runId: string;
  let sweepId: string;
  let cmudictId: string;
  const pageErrors: string[] = [];

  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  const sweep = async (id: string) => (await stack.request('GET', `/api/sweeps/${id}`)).body as SweepBody;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    stack = await startTestStack();
    const run = await stack.request('POST', '/api/experiments', mnistRun);
    runId = (run.body as { id: string }).id;
    const created = await stack.request('POST', '/api/sweeps', ashaSweep);
    expect(created.status).toBe(201);
    sweepId = (created.body as SweepBody).id;
    cmudictId = ((await stack.request('POST', '/api/experiments', cmudictRun)).body as { id: string }).id;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${stack.baseUrl}/`);
    await page.getByLabel('API key').fill(stack.apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Experiments' }).waitFor();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("predicts a drawn digit on a completed run's page: probabilities that sum to 1 and a label", async () => {
    await finishedExperiment(stack, runId, 120_000);
    await page.goto(`${stack.baseUrl}/#/experiments/${runId}`);
    const canvas = page.getByLabel('Drawing pad for a digit (28 x 28)');
    await canvas.waitFor();
    // A "1": one stroke down the middle.
    const box = (await canvas.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.52, box.y + box.height * 0.5, { steps: 5 });
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.8, { steps: 5 });
    await page.mouse.up();
    await page.getByRole('button', { name: 'Predict drawing' }).click();
    const classes = page.getByRole('list', { name: 'Class probabilities' }).locator('li');
    await classes.nth(9).waitFor();
    expect(await classes.count()).toBe(10);
    const probabilities = (await classes.evaluateAll((items) => items.map((li) => Number(li.getAttribute('data-probability'))))) as number[];
    expect(probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    for (const p of probabilities) expect(p).toBeGreaterThanOrEqual(0);
    // Highest first, and the label shown is the most probable class, one of the ten digits.
    expect([...probabilities].sort((a, b) => b - a)).toEqual(probabilities);
    const label = await page.locator('.predicted-label').textContent();
    expect(label).toMatch(/^[0-9]$/);
    expect(await classes.first().getAttribute('data-label')).toBe(label);
    // The export is shown as a snippet with the key header, never a bare link.
    expect(await page.getByLabel('Export snippet').textContent()).toContain(`/api/experiments/${runId}/model/model.json -H "Authorization: Bearer $KEY"`);
    await shot('predict');
  }, 180_000);

  it("shows a bad input's 400 message beside the JSON box", async () => {
    await page.getByText('JSON input').click();
    const jsonBox = page.getByLabel('Prediction input (JSON)');
    const badBody = { image: Array.from({ length: 27 }, () => Array.from({ length: 28 }, () => 0)) };
    await jsonBox.fill(JSON.stringify(badBody));
    await page.getByRole('button', { name: 'Predict from JSON' }).click();
    const error = page.locator('.field-error[role="alert"]').filter({ hasText: '400' });
    await error.waitFor();
    // The API's own words for the same body.
    const answer = await stack.request('POST', `/api/experiments/${runId}/predict`, badBody);
    expect(answer.status).toBe(400);
    const issue = (answer.body as { issues: { field: string; message: string }[] }).issues[0]!;
    expect(issue.field).toBe('image');
    expect(await error.textContent()).toContain(issue.message);
    expect(await error.textContent()).toMatch(/27 rows/);
    expect(await jsonBox.getAttribute('aria-invalid')).toBe('true');
    expect(await jsonBox.getAttribute('aria-describedby')).toBe(await error.getAttribute('id'));
    // The previous answer is gone: nothing stale beside the error.
    expect(await page.locator('ol.probabilities').count()).toBe(0);
  });

  it("fits a phone's width with the predict box, every control named", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${stack.baseUrl}/#/experiments/${runId}`);
    await page.getByLabel('Drawing pad for a digit (28 x 28)').waitFor();
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    const unnamed = await page.evaluate(`[...document.querySelectorAll('input, select, textarea, button, canvas.drawing')]
      .filter((el) => !((el.labels && el.labels.length > 0) || el.getAttribute('aria-label') || (el.tagName === 'BUTTON' && el.textContent.trim())))
      .map((el) => el.outerHTML.slice(0, 80))`);
    expect(unnamed).toEqual([]);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('lists a real sweep and shows its trials: statuses, which stopped early and why, epochs spent, the best', async () => {
    const ended = await eventually(async () => {
      const body = await sweep(sweepId);
      return body.status !== 'running' ? body : undefined;
    }, 180_000, 'the sweep to end', 1_000);
    expect(ended.trials).toHaveLength(4);
    const slow = ended.trials.filter((t) => t.assignment['training.learningRate']! < 0.001);
    for (const t of slow) expect(t.status).toBe('stopped');
    await page.goto(`${stack.baseUrl}/#/sweeps`);
    const listed = page.getByRole('table', { name: 'Sweeps' }).locator(`tr[data-id="${sweepId}"]`);
    await listed.waitFor();
    expect(await listed.getAttribute('data-status')).toBe(ended.status);
    await listed.getByRole('link', { name: 'asha over four learning rates' }).click();
    const trials = page.getByRole('table', { name: 'Trials' }).locator('tbody tr');
    await trials.nth(3).waitFor();
    expect(await trials.count()).toBe(4);
    const shown = await trials.evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-id'), r.getAttribute('data-status')]));
    expect(shown).toEqual(ended.trials.map((t) => [t.id, t.status]));
    // Why each slow trial stopped: the rung, its value and the cutoff, as the API recorded them.
    for (const t of slow) {
      const why = await page.locator(`tr[data-id="${t.id}"] td.why`).textContent();
      expect(why).toMatch(/^rung 0 \(epoch 1\): loss [\d.]+ vs cutoff [\d.]+$/);
      const [value, cutoff] = [...why!.matchAll(/([\d.]+)(?: vs|$)/g)].map((m) => Number(m[1]));
      expect(value).toBeCloseTo(t.stop!.value, 3);
      expect(cutoff).toBeCloseTo(t.stop!.cutoff, 3);
    }
    expect(await page.getByRole('heading', { name: /^Trials/ }).textContent()).toBe(`Trials (4, ${ended.trials.filter((t) => t.status === 'stopped').length} stopped early)`);
    const facts = await page.locator('dl.facts').textContent();
    expect(facts).toContain(`epochs spent${ended.epochsSpent}`);
    expect(ended.epochsSpent).toBeLessThan(4 * 2);
    expect(facts).toMatch(/best so far[0-9a-f]{8} \{"training.learningRate":0\.0\d+\} seed 1: test \d/);
    // An ended sweep cannot be cancelled; with nothing failed or cancelled there is nothing to re-run.
    expect(await page.getByRole('button', { name: 'Cancel sweep' }).isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Re-run failed trials' }).isDisabled()).toBe(true);
    await shot('sweep');
    // At a phone's width the trials table scrolls inside its card; the page itself does not.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await page.setViewportSize({ width: 1280, height: 900 });
  }, 240_000);

  it("predicts a word's phonemes from the text box, and shows a too-long word's 400 beside it", async () => {
    await finishedExperiment(stack, cmudictId, 180_000);
    await page.goto(`${stack.baseUrl}/#/experiments/${cmudictId}`);
    const word = page.getByLabel('Word', { exact: true });
    await word.fill('cat');
    await page.getByRole('button', { name: 'Predict', exact: true }).click();
    const shown = page.locator('.predicted-sequence');
    await shown.waitFor();
    // Greedy decoding: the API gives the same phonemes for the same word.
    const answer = (await stack.request('POST', `/api/experiments/${cmudictId}/predict`, { word: 'cat' })).body as { prediction: { kind: string; output: string[] } };
    expect(answer.prediction.kind).toBe('sequence');
    expect(await shown.textContent()).toBe(answer.prediction.output.length > 0 ? answer.prediction.output.join(' ') : '(empty: the end token came first)');
    await word.fill('abcdefghij');
    await page.getByRole('button', { name: 'Predict', exact: true }).click();
    const error = page.locator('.field-error[role="alert"]').filter({ hasText: 'at most 6 letters' });
    await error.waitFor();
    expect(await error.textContent()).toMatch(/^400: word: /);
    expect(await word.getAttribute('aria-invalid')).toBe('true');
  }, 240_000);

  it("shows a shootout's claims, its metric as mean ± std over seeds, and its trials", async () => {
    interface ShootoutBody {
      id: string;
      status: string;
      metric: { name: string };
      trials: { id: string; label: string; seed: number; status: string }[];
      spread: Record<string, Record<string, { n: number; mean: number; std: number | null }>>;
      claims: { id: string; statement: string; verdict: string }[];
    }
    const created = await stack.request('POST', '/api/shootouts', { suite: 'sequence-speed', seeds: [1, 2], only: ['gru'] });
    expect(created.status).toBe(201);
    const id = (created.body as ShootoutBody).id;
    await eventually(async () => ((await sweep(id)).status !== 'running' ? true : undefined), 240_000, 'the shootout to end', 1_000);
    const report = (await stack.request('GET', `/api/shootouts/${id}`)).body as ShootoutBody;
    const metric = report.metric.name;
    await page.goto(`${stack.baseUrl}/#/sweeps?shootout=${id}`);
    const claims = page.getByRole('table', { name: 'Claims' }).locator('tbody tr');
    await claims.first().waitFor();
    expect(await claims.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-verdict')))).toEqual(report.claims.map((c) => c.verdict));
    expect(await claims.first().textContent()).toContain(report.claims[0]!.statement);
    const spread = page.getByRole('table', { name: `${metric} mean ± std` }).locator('tbody tr', { hasText: 'gru' });
    const cells = await spread.locator('td').allTextContents();
    const expected = report.spread['gru']![metric]!;
    expect(cells[1]).toBe('2');
    const [mean, std] = cells[2]!.split(' ± ').map(Number);
    expect(mean).toBeCloseTo(expected.mean, 3);
    expect(std).toBeCloseTo(expected.std!, 3);
    const trialStatuses = await page.getByRole('table', { name: 'Shootout trials' }).locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')));
    expect(trialStatuses).toEqual(report.trials.map((t) => t.status));
    expect(trialStatuses).toEqual(['completed', 'completed']);
    await shot('shootout');
  }, 300_000);

  it('cancels a sweep from its page and re-runs its cancelled trials to completion', async () => {
    expect((await stack.request('POST', '/api/queue/pause')).status).toBe(200);
    let resumed = false;
    try {
      const created = await stack.request('POST', '/api/sweeps', sweepOf('to cancel', [2]));
      const id = (created.body as SweepBody).id;
      await page.goto(`${stack.baseUrl}/#/sweeps/${id}`);
      await page.getByRole('button', { name: 'Cancel sweep' }).click();
      await page.locator('table[aria-label="Trials"] tbody tr[data-status="cancelled"]').nth(1).waitFor();
      expect((await sweep(id)).trials.map((t) => t.status)).toEqual(['cancelled', 'cancelled']);
      await page.getByRole('button', { name: 'Re-run failed trials' }).click();
      await page.getByRole('status').filter({ hasText: '2 trial(s) queued again.' }).waitFor();
      expect((await stack.request('POST', '/api/queue/resume')).status).toBe(200);
      resumed = true;
      // The page reads a sweep with unfinished trials again every 2 s: no reload.
      await page.locator('table[aria-label="Trials"] tbody tr[data-status="completed"]').nth(1).waitFor({ timeout: 180_000 });
      expect((await sweep(id)).trials.map((t) => t.status)).toEqual(['completed', 'completed']);
    } finally {
      if (!resumed) await stack.request('POST', '/api/queue/resume');
    }
    expect(pageErrors).toEqual([]);
  }, 240_000);
});
