// The dashboard end to end in headless Chromium (Debian's chromium, driven by playwright-core)
// against a real Doppel server with the demo loaded and the device simulator running
// (scripts/web-test.sh sets that up and passes its URL).
//
//   node tests/web/e2e.mjs URL SCREENSHOT_DIR
//
// Prints one line per test and closes with "N passed, N failed, N skipped"; exits non-zero when
// a test failed. Any console error or uncaught page error fails the test it happened in, and
// so does any failed request except the ones a test expects.
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const [url, shots = '/tmp/doppel-web-shots'] = process.argv.slice(2);
if (!url) {
  console.error('usage: node tests/web/e2e.mjs URL SCREENSHOT_DIR');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const TURBINE = 'kr-wtg-01';
const results = { passed: 0, failed: 0, skipped: 0 };

async function api(method, path, body) {
  const response = await fetch(url + path, {
    method, headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  return { status: response.status, data };
}

// Whether an API of issue #7 is usable on this server: null if so, else why not (a route not
// registered answers 404 RouteNotFound; a service not enabled answers 503 with its reason).
async function unavailable(path) {
  const r = await api('GET', path);
  if (r.status < 400) return null;
  return `GET ${path} answers ${r.status}: ${r.data?.error?.message ?? JSON.stringify(r.data)}`;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
const page = await context.newPage();
page.setDefaultTimeout(20000);
let problems = [];
let expectedFailures = [];
// APIs of issue #7 this server does not offer yet: their views show the API's answer as a
// message, which the browser also logs as a failed request.
const missingApis = new Map();
for (const [probe, prefix] of [['/alerts', '/alerts'], ['/workorders', '/workorders'],
  ['/recommendations', '/recommendations'], [`/digitaltwins/${TURBINE}/envelope`, '/digitaltwins/*/envelope']]) {
  const why = await unavailable(probe);
  if (why) missingApis.set(prefix, why);
}
for (const why of missingApis.values()) console.log(`note: ${why} (its view must show that message)`);
const isMissingApi = (path) => [...missingApis.keys()].some((m) => (m.includes('*') ? new RegExp(`^${m.replace('*', '[^/]+')}$`).test(path) : path.startsWith(m)));
page.on('console', (m) => {
  if (m.type() !== 'error') return;
  // A failed request is logged as "Failed to load resource"; judged below by its URL.
  if (m.text().startsWith('Failed to load resource')) return;
  problems.push(`console error: ${m.text()}`);
});
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('response', (r) => {
  if (r.status() < 400) return;
  const path = new URL(r.url()).pathname;
  if (expectedFailures.some((p) => path.startsWith(p)) || ((r.status() === 404 || r.status() === 503) && isMissingApi(path))) return;
  problems.push(`${r.request().method()} ${path} → ${r.status()}`);
});

async function test(name, fn, skipReason) {
  if (skipReason) {
    results.skipped++;
    console.log(`SKIP ${name}: ${skipReason}`);
    return;
  }
  problems = [];
  const started = Date.now();
  try {
    await fn();
    await page.waitForTimeout(300); // late console errors of this step
    if (problems.length) throw new Error(problems.join('; '));
    results.passed++;
    console.log(`PASS ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (e) {
    results.failed++;
    console.log(`FAIL ${name}: ${e.message.split('\n')[0]}`);
    await page.screenshot({ path: join(shots, `FAILED-${name.replace(/\W+/g, '-')}.png`), fullPage: true }).catch(() => {});
  } finally {
    expectedFailures = [];
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

await test('explorer shows the twin tree, search and the graph view', async () => {
  await page.goto(url + '/');
  await page.locator('.tree a[data-twin="kestrel-ridge"]').waitFor();
  await page.locator('.tree a[data-twin="plant-halden"]').waitFor();
  assert(await page.locator('.live-badge').textContent() !== null, 'no live badge');
  await page.fill('#twin-search', 'wtg-0');
  const hits = await page.locator('.search-results a[data-twin]').count();
  assert(hits >= 4, `search for 'wtg-0' found ${hits} twins`);
  await page.click('.tabs button[data-pane="graph"]');
  await page.locator('.graph-svg a.node').first().waitFor();
  await page.screenshot({ path: join(shots, 'explorer.png'), fullPage: true });
  await page.click('.tabs button[data-pane="tree"]');
});

await test('the query box runs a twin query and shows a table', async () => {
  await page.fill('#query', "SELECT T.$dtId, T.state FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, 'dtmi:doppel:example:windfarm:WindTurbine;1')");
  await page.click('#run-query');
  await page.locator('.query-results table tbody tr').first().waitFor();
  const rows = await page.locator('.query-results table tbody tr').count();
  assert(rows === 4, `expected the 4 turbines, got ${rows} rows`);
  // A syntax error is shown as the API's message.
  expectedFailures.push('/query');
  await page.fill('#query', 'SELECT T FORM DIGITALTWINS T');
  await page.click('#run-query');
  await page.locator('.query-results .error').waitFor();
});

await test('navigate to a turbine and see a live value change', async () => {
  await page.fill('#twin-search', TURBINE);
  await page.click(`.search-results a[data-twin="${TURBINE}"]`);
  await page.locator('.twin-head h1', { hasText: TURBINE }).waitFor();
  const tile = page.locator('.tile[data-path="windSpeed"]');
  await tile.waitFor();
  const before = await tile.locator('.tile-time').textContent();
  const unit = await tile.locator('.tile-value').textContent();
  assert(unit.includes('m/s'), `wind speed shown without its unit: '${unit}'`);
  await page.waitForFunction(([sel, old]) => document.querySelector(sel)?.textContent !== old,
    ['.tile[data-path="windSpeed"] .tile-time', before], { timeout: 20000 });
  await page.locator('.tile[data-rul], .tile[data-kpi]').first().waitFor();
  await page.screenshot({ path: join(shots, 'twin-live.png'), fullPage: true });
});

await test('zoom a history chart (server-side downsampling)', async () => {
  const chart = page.locator('.chart[data-points]').first();
  await chart.waitFor();
  const start0 = Number(await chart.getAttribute('data-start'));
  const end0 = Number(await chart.getAttribute('data-end'));
  // Drag across the middle third of the plot: the chart refetches that range.
  const over = chart.locator('.u-over');
  await over.scrollIntoViewIfNeeded();
  const box = await over.boundingBox();
  await page.mouse.move(box.x + box.width / 3, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + (2 * box.width) / 3, box.y + box.height / 2, { steps: 8 });
  await page.mouse.up();
  await page.waitForFunction(([s0, e0]) => {
    const c = document.querySelector('.chart[data-points]');
    return c && Number(c.dataset.end) - Number(c.dataset.start) < (e0 - s0) / 2;
  }, [start0, end0]);
  const start1 = Number(await chart.getAttribute('data-start'));
  const end1 = Number(await chart.getAttribute('data-end'));
  assert(start1 > start0 && end1 < end0, `zoomed range ${start1}–${end1} is not inside ${start0}–${end0}`);
  await page.waitForFunction(() => Number(document.querySelector('.chart[data-points]')?.dataset.points) > 0);
  // Pan left keeps the width and moves the window back.
  await chart.locator('button[aria-label="Pan left"]').click();
  await page.waitForFunction((s1) => Number(document.querySelector('.chart[data-points]')?.dataset.start) < s1, start1);
  await page.screenshot({ path: join(shots, 'twin-zoomed.png'), fullPage: true });
});

await test('a what-if comparison runs and compares the scenarios', async () => {
  await page.click('nav a[data-nav="whatif"]');
  await page.locator('#whatif-twin').waitFor();
  await page.selectOption('#whatif-twin', TURBINE);
  await page.locator('#whatif-run').waitFor();
  await page.fill('#whatif-horizon', '24h');
  await page.click('#whatif-run');
  await page.locator('#whatif-summary tbody tr').nth(2).waitFor({ timeout: 60000 });
  const rows = await page.locator('#whatif-summary tbody tr').count();
  assert(rows === 3, `expected 3 scenarios in the summary, got ${rows}`);
  const charts = await page.locator('.whatif-results .chart[data-output]').count();
  assert(charts >= 1, 'no comparison chart');
  await page.screenshot({ path: join(shots, 'whatif.png'), fullPage: true });
});

await test('the scene shows the farm and the plant and opens a twin', async () => {
  await page.click('nav a[data-nav="scene"]');
  await page.locator('.scene-stage canvas, .scene-stage svg.plan').first().waitFor();
  await page.waitForTimeout(1000);
  await page.screenshot({ path: join(shots, 'scene.png'), fullPage: true });
  await page.click('.tabs button[data-mode="2d"]');
  await page.locator('svg.plan a[data-twin="kr-wtg-03"]').waitFor();
  await page.screenshot({ path: join(shots, 'scene-2d.png'), fullPage: true });
  await page.click('svg.plan a[data-twin="kr-wtg-03"]');
  await page.locator('.twin-head h1', { hasText: 'kr-wtg-03' }).waitFor();
});

await test('acknowledge an alert', async () => {
  const raised = await api('POST', '/alerts', { twinId: 'kr-wtg-03', severity: 'major', title: 'e2e: main bearing running hot' });
  assert(raised.status === 201 || raised.status === 200, `POST /alerts → ${raised.status} ${JSON.stringify(raised.data)}`);
  const id = raised.data.alertId;
  await page.click('nav a[data-nav="alerts"]');
  const row = page.locator(`tr[data-id="${id}"]`);
  await row.waitFor();
  await row.locator('button[data-action="acknowledge"]').click();
  await row.locator('.action-form input').fill('on it (e2e)');
  await row.locator('button[data-confirm="acknowledge"]').click();
  await page.waitForFunction(async (alertId) => {
    const r = await fetch(`/alerts/${alertId}`);
    return r.ok && (await r.json()).state === 'acknowledged';
  }, id);
  await page.selectOption('select[name="state"]', '');
  await page.locator(`tr[data-id="${id}"] .pill.state-acknowledged`).waitFor();
  await page.screenshot({ path: join(shots, 'alerts.png'), fullPage: true });
}, missingApis.get('/alerts'));

await test('approve a recommendation', async () => {
  // A rule in recommend mode whose condition holds for kr-wtg-02: its device action waits
  // for approval.
  const rule = await api('PUT', '/rules/e2e-recommend', {
    description: 'e2e: propose a rotor-speed limit', enabled: true, scope: { twins: ['kr-wtg-02'] },
    condition: 'windSpeed >= 0', mode: 'recommend',
    actions: [{ type: 'setProperty', property: 'rotorSpeedLimit', value: 12 }],
  });
  assert(rule.status < 300, `PUT /rules/e2e-recommend → ${rule.status} ${JSON.stringify(rule.data)}`);
  let pending = null;
  for (let i = 0; i < 60 && !pending; i++) {
    const list = await api('GET', '/recommendations?status=pending&twinId=kr-wtg-02');
    pending = (list.data?.value ?? []).find((r) => r.rule === 'e2e-recommend');
    if (!pending) await new Promise((r) => setTimeout(r, 500));
  }
  assert(pending, 'the rule made no pending recommendation within 30 s');
  await page.click('nav a[data-nav="recommendations"]');
  const row = page.locator(`tr[data-id="${pending.recommendationId}"]`);
  await row.waitFor();
  await row.locator('button[data-action="approve"]').click();
  await row.locator('.action-form input').fill('approved by e2e');
  await row.locator('button[data-confirm="approve"]').click();
  await page.waitForFunction(async (id) => {
    const r = await fetch(`/recommendations/${id}`);
    return r.ok && (await r.json()).status !== 'pending';
  }, pending.recommendationId);
  const decided = await api('GET', `/recommendations/${pending.recommendationId}`);
  assert(decided.data.status === 'executed', `the approved recommendation is '${decided.data.status}': ${JSON.stringify(decided.data.results)}`);
  assert(decided.data.comment === 'approved by e2e', `the approval's comment is '${decided.data.comment}'`);
  await page.selectOption('select[name="status"]', '');
  await page.locator(`tr[data-id="${pending.recommendationId}"] .pill.state-executed`).waitFor();
  await page.screenshot({ path: join(shots, 'recommendations.png'), fullPage: true });
  await api('DELETE', '/rules/e2e-recommend');
}, missingApis.get('/recommendations'));

await test('start a work order', async () => {
  const created = await api('POST', '/workorders', { twinId: 'kr-wtg-03-mainbearing', title: 'e2e: inspect the main bearing', priority: 'high' });
  assert(created.status === 201 || created.status === 200, `POST /workorders → ${created.status} ${JSON.stringify(created.data)}`);
  const id = created.data.workOrderId;
  await page.click('nav a[data-nav="workorders"]');
  const row = page.locator(`tr[data-id="${id}"]`);
  await row.waitFor();
  await row.locator('button[data-action="start"]').click();
  await page.waitForFunction(async (woId) => {
    const r = await fetch(`/workorders/${woId}`);
    return r.ok && (await r.json()).status === 'inProgress';
  }, id);
  await page.selectOption('select[name="status"]', '');
  await page.locator(`tr[data-id="${id}"] .pill.state-inProgress`).waitFor();
  await page.screenshot({ path: join(shots, 'workorders.png'), fullPage: true });
}, missingApis.get('/workorders'));

await test('views whose API is missing say so instead of staying silent', async () => {
  for (const [nav, path] of [['alerts', '/alerts'], ['workorders', '/workorders'], ['recommendations', '/recommendations']]) {
    await page.click(`nav a[data-nav="${nav}"]`);
    await page.locator('.ops-list table, .ops-list .empty, .ops-list .error').first().waitFor();
    const why = missingApis.get(path);
    if (why) {
      const text = await page.locator('.ops-list .error').textContent();
      const reason = why.slice(why.indexOf(': ') + 2);
      assert(text.includes(reason), `the ${nav} view shows '${text}', not the API's '${reason}'`);
    } else {
      assert(await page.locator('.ops-list .error').count() === 0, `the ${nav} view shows an error`);
    }
  }
  await page.screenshot({ path: join(shots, 'lists.png'), fullPage: true });
});

await test('a tablet sees the twin view without horizontal scrolling', async () => {
  await page.setViewportSize({ width: 820, height: 1180 });
  await page.goto(`${url}/#/twin/${TURBINE}`);
  await page.locator('.tile[data-path="windSpeed"]').waitFor();
  await page.locator('.chart[data-points]').first().waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert(overflow <= 1, `the page is ${overflow} px wider than the tablet's screen`);
  await page.screenshot({ path: join(shots, 'tablet-twin.png'), fullPage: true });
  await page.setViewportSize({ width: 1366, height: 900 });
});

await browser.close();
console.log(`screenshots: ${shots}`);
console.log(`${results.passed} passed, ${results.failed} failed, ${results.skipped} skipped`);
process.exit(results.failed > 0 ? 1 : 0);
