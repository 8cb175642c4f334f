// End-to-end test of the gridedge dashboard in headless Chromium (Debian's chromium,
// driven by playwright-core). Run by scripts/browser-test.sh, which starts
// `gridedge demo --meters N --days D --serve --listen 127.0.0.1:0` and passes:
//
//   GRIDEDGE_DASHBOARD_URL  the printed dashboard link (http://127.0.0.1:PORT/dashboard/?token=...)
//   GRIDEDGE_METERS         N, the simulated meters
//   GRIDEDGE_DAYS           D, the days of load profile collected
//   GRIDEDGE_ARTIFACTS      where screenshots go (default target/browser-artifacts)
//   CHROMIUM                the browser (default /usr/bin/chromium)
//
// Checks: the overview loads with the demo's data; a meter's chart renders with the right
// number of points and marks estimated intervals; a disconnect issued from the page
// reaches the simulated meter (confirmed by the meter's readback, then read again in a new
// DLMS session) and the page shows it confirmed; the outages page shows the MDMS engine's
// transformer outages (past and in progress) with SAIFI/SAIDI/CAIDI; the commands page
// creates a disconnect and a load limit and follows them live to confirmed; the VEE and
// billing pages load. A screenshot of each page
// is saved. Exit code 0 when every check passes.

import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';

const dashboardUrl = process.env.GRIDEDGE_DASHBOARD_URL;
assert.ok(dashboardUrl, 'GRIDEDGE_DASHBOARD_URL is required');
const METERS = Number(process.env.GRIDEDGE_METERS || '12');
const DAYS = Number(process.env.GRIDEDGE_DAYS || '2');
const artifacts = process.env.GRIDEDGE_ARTIFACTS || path.resolve('target/browser-artifacts');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const url = new URL(dashboardUrl);
const base = url.origin;
const token = url.searchParams.get('token');
assert.ok(token, 'the dashboard link carries a token');
mkdirSync(artifacts, { recursive: true });

const METER = 'GE00000001';
let failures = 0;

async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    failures += 1;
    console.log(`FAIL ${name}: ${e.stack || e}`);
  }
}

// The API, called the way an integrator would (not through the page).
async function api(method, p, body) {
  const response = await fetch(base + p, {
    method,
    headers: Object.assign({ Authorization: 'Bearer ' + token }, body ? { 'Content-Type': 'application/json' } : {}),
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${p}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// A fresh profile directory each run (playwright passes it as --user-data-dir).
const userDataDir = mkdtempSync(path.join(tmpdir(), 'gridedge-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  viewport: { width: 1400, height: 1000 },
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
const page = context.pages()[0] || (await context.newPage());
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));
page.on('console', (m) => {
  if (m.type() === 'error') pageErrors.push(m.text());
});
// The dashboard must work offline: any request to another origin fails the test.
const foreign = [];
page.on('request', (r) => {
  if (!r.url().startsWith(base) && !r.url().startsWith('data:')) foreign.push(r.url());
});

async function ready() {
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30000 });
}

async function shot(name) {
  await page.screenshot({ path: path.join(artifacts, name), fullPage: true });
}

try {
  await step('overview loads with the demo fleet', async () => {
    await page.goto(dashboardUrl);
    await ready();
    // The token left the address bar and sits in sessionStorage.
    assert.ok(!page.url().includes('token='), page.url());
    assert.equal(await page.textContent('#meters-total'), String(METERS));
    assert.equal(await page.textContent('#comm-ok'), String(METERS));
    assert.equal(await page.textContent('#read-rate'), '100.0 %');
    const rows = await page.$$eval('#meter-table tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent))
    );
    assert.equal(rows.length, METERS);
    for (const r of rows) {
      assert.match(r[0], /^GE\d{8}$/);
      assert.equal(r[2], 'ok');
      assert.match(r[3], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/, 'last successful read shown');
    }
    await shot('overview.png');
  });

  // Ground truth for the chart: the stored bulk values of the meter (raw readings, not the
  // chart's load-profile series), which must form one unbroken 15-minute grid.
  const detail = await api('GET', `/api/v1/meters/${METER}`);
  const to = new Date(Date.parse(detail.last_read_at) + 1000).toISOString();
  const from = new Date(Date.parse(to) - 7 * 86400000).toISOString();
  const raw = await api('GET', `/api/v1/meters/${METER}/readings?from=${from}&to=${to}&limit=10000&validated=false`);
  const ends = raw.items.map((i) => Date.parse(i.interval_end) / 1000);

  await step('the collected profile is what the demo asked for', async () => {
    // D days of a 15-minute profile read back from "now": D*96 interval ends (one more
    // when the collection started exactly on a quarter hour).
    assert.ok(ends.length === DAYS * 96 || ends.length === DAYS * 96 + 1, `${ends.length} interval ends`);
    for (let k = 1; k < ends.length; k++) assert.equal(ends[k] - ends[k - 1], 900, `gap before ${ends[k]}`);
  });

  // An operator estimates one hour in the middle of the data: 4 interval ends get
  // estimated versions, so 5 intervals of the chart touch an estimated value.
  const estFrom = new Date(ends[100] * 1000).toISOString();
  const estTo = new Date((ends[100] + 3600) * 1000).toISOString();
  const estimate = await api('POST', `/api/v1/meters/${METER}/readings/active_energy_import/estimate`, {
    from: estFrom,
    to: estTo,
    reason: 'browser test: suspected register fault',
  });
  assert.equal(estimate.estimated.length, 4);

  await step('meter chart renders every interval and marks the estimated ones', async () => {
    await page.goto(`${base}/dashboard/meter.html?id=${METER}`);
    await ready();
    await page.waitForSelector('#chart[data-rendered="true"] canvas', { timeout: 30000 });
    const chart = await page.evaluate(() => ({
      xs: window.GE_CHART.data[0].length,
      kw: window.GE_CHART.data[1].filter((v) => v !== null).length,
      estimated: window.GE_CHART.data[2].filter((v) => v !== null).length,
      estimatedAt: window.GE_CHART.data[0].filter((_, i) => window.GE_CHART.data[2][i] !== null),
    }));
    // One point per interval between two consecutive stored values.
    assert.equal(chart.xs, ends.length - 1);
    assert.equal(chart.kw, ends.length - 1);
    assert.equal(chart.estimated, 5);
    assert.deepEqual(chart.estimatedAt, [0, 1, 2, 3, 4].map((k) => ends[100] + 900 * k));
    assert.equal(await page.getAttribute('#chart', 'data-estimated'), '5');
    assert.match(await page.textContent('#chart-info'), /5 estimated/);
    await shot('meter.png');
  });

  await step('a disconnect from the page reaches the meter and is shown confirmed', async () => {
    assert.equal(await page.isDisabled('#disconnect'), false, 'an operator may disconnect');
    await page.click('#disconnect');
    await page.waitForSelector('#command-status[data-state="confirmed"], #command-status[data-state="failed"], #command-status[data-state="error"]', { timeout: 60000 });
    const status = await page.textContent('#command-status');
    assert.match(status, /^disconnect #\d+: confirmed \(relay disconnected\)$/, status);
    const id = Number(await page.getAttribute('#command-status', 'data-command-id'));
    await page.waitForFunction(() => document.querySelector('#relay-state')?.textContent === 'disconnected', null, { timeout: 20000 });
    await page.waitForFunction((cid) => {
      const row = document.querySelector(`#command-table tr[data-command-id="${cid}"]`);
      return row && row.textContent.includes('confirmed');
    }, id, { timeout: 20000 });
    await page.waitForFunction(() => document.querySelector('#event-table')?.textContent.includes('relay disconnected'), null, { timeout: 20000 });
    await shot('meter-disconnected.png');
    // The meter list shows the state the meter read back.
    assert.equal((await api('GET', `/api/v1/meters/${METER}`)).relay_state, 'disconnected');
    // Reconnect from the page, back to normal.
    await page.click('#reconnect');
    await page.waitForFunction(() => /reconnect #\d+: (confirmed|failed)/.test(document.querySelector('#command-status').textContent), null, { timeout: 60000 });
    assert.match(await page.textContent('#command-status'), /confirmed \(relay connected\)/);
  });

  await step('the commands page creates commands and follows them live to confirmed', async () => {
    const target = 'GE00000002';
    await page.goto(`${base}/dashboard/commands.html?meter=${target}`);
    await ready();
    await page.waitForSelector('#commands-table, #command-list p');
    assert.equal(await page.inputValue('#c-meter'), target);
    // A disconnect, followed from queued to confirmed in the list without reloading.
    await page.selectOption('#c-kind', 'disconnect');
    await page.click('#c-send');
    await page.waitForSelector('#c-status[data-command-id]', { timeout: 20000 });
    const id = await page.getAttribute('#c-status', 'data-command-id');
    await page.waitForSelector(`#commands-table tr[data-command-id="${id}"][data-state="confirmed"]`, { timeout: 60000 });
    await page.waitForSelector('#c-status[data-state="confirmed"]', { timeout: 20000 });
    assert.match(await page.textContent('#c-status'), new RegExp(`^disconnect #${id} for ${target}: confirmed \\(relay disconnected\\)$`));
    const row = await page.textContent(`#commands-table tr[data-command-id="${id}"]`);
    assert.ok(row.includes(target) && row.includes('relay disconnected'), row);
    // Its history: every state the command went through.
    await page.click(`#commands-table tr[data-command-id="${id}"] td:first-child`);
    await page.waitForSelector('#history-table');
    const events = await page.$$eval('#history-table tbody tr td:nth-child(2)', (tds) => tds.map((td) => td.textContent));
    assert.deepEqual(events, ['queued', 'sent', 'confirmed']);
    // The API agrees, and the meter really is disconnected.
    const done = await api('GET', `/api/v1/commands/${id}`);
    assert.equal(done.state, 'confirmed');
    assert.equal(done.result.control_state, 'disconnected');
    assert.equal(done.result.output_state, false);
    // A load limit with parameters typed as JSON: the limiter's threshold read back.
    await page.selectOption('#c-kind', 'load_limit');
    await page.fill('#c-parameters', '{"threshold_normal_w": 1000000}');
    await page.click('#c-send');
    await page.waitForFunction((prev) => {
      const s = document.querySelector('#c-status');
      return s.dataset.commandId !== prev && ['confirmed', 'failed', 'error'].includes(s.dataset.state);
    }, id, { timeout: 60000 });
    assert.match(await page.textContent('#c-status'), /^load_limit #\d+ for GE00000002: confirmed \(threshold 1000000 W\)$/);
    await shot('commands.png');
    // Back to normal for the pages that follow.
    const back = await api('POST', '/api/v1/commands', { meter: target, kind: 'reconnect' });
    assert.equal((await api('GET', `/api/v1/commands/${back.id}?wait_s=20`)).state, 'confirmed');
  });

  await step('outages page shows the MDMS correlation and IEEE 1366 indices', async () => {
    // Six of the ten meters of transformer TX0001 lose supply together for an hour; both
    // meters of TX0002 lose supply now. The MDMS outage engine declares one transformer
    // outage each, interrupting every customer of the transformer.
    assert.ok(METERS >= 12, 'the scenario needs two transformers (12 meters)');
    const now = Date.now();
    const iso = (ms) => new Date(ms).toISOString();
    const events = [];
    for (let i = 1; i <= 6; i++) {
      const m = `GE0000000${i}`;
      events.push({ meter: m, event_type: '3.26.0.47', occurred_at: iso(now - 2 * 3600000) });
      events.push({ meter: m, event_type: '3.26.0.216', occurred_at: iso(now - 3600000) });
    }
    for (const m of ['GE00000011', 'GE00000012']) {
      events.push({ meter: m, event_type: '3.26.0.47', occurred_at: iso(now - 2000) });
    }
    const recorded = await api('POST', '/api/v1/events', events);
    assert.equal(recorded.recorded, 14);
    await page.goto(`${base}/dashboard/outages.html`);
    await ready();
    await page.waitForSelector('#saifi');
    // 10 customers of TX0001 interrupted for 60 min, over METERS customers.
    assert.equal(await page.textContent('#saifi'), (10 / METERS).toFixed(3));
    assert.equal(await page.textContent('#saidi'), ((10 * 60) / METERS).toFixed(2));
    assert.equal(await page.textContent('#caidi'), '60.0');
    assert.equal(await page.textContent('#customers'), String(METERS));
    const past = await page.$$eval('#past-table tbody tr', (trs) => trs.map((tr) => tr.textContent));
    assert.equal(past.length, 1, past.join('\n'));
    assert.ok(past[0].includes('transformerTX0001FDR01—10 / 10'), past[0]);
    assert.ok(past[0].includes('1 h 0 min') && past[0].endsWith('sustained'), past[0]);
    const current = await page.$$eval('#current-table tbody tr', (trs) => trs.map((tr) => tr.textContent));
    assert.equal(current.length, 1, current.join('\n'));
    assert.ok(current[0].includes('transformerTX0002FDR01—2 / 2') && current[0].endsWith('ongoing'), current[0]);
    assert.ok(await page.$('#outage-timeline rect'), 'timeline bar drawn');
    await shot('outages.png');
  });

  await step('VEE exceptions page loads', async () => {
    await page.goto(`${base}/dashboard/vee.html`);
    await ready();
    await page.waitForFunction(() => /\d+ open exceptions/.test(document.querySelector('#vee-total').textContent), null, { timeout: 20000 });
    const total = Number((await page.textContent('#vee-total')).split(' ')[0]);
    const listed = await api('GET', '/api/v1/vee/exceptions?limit=1');
    assert.equal(total, listed.total);
    await shot('vee.png');
  });

  await step('billing page lists every meter for yesterday', async () => {
    await page.goto(`${base}/dashboard/billing.html`);
    await ready();
    const yesterday = new Date(Date.now() - 86400000).toISOString().slice(0, 10);
    await page.fill('#first-day', yesterday);
    await page.fill('#last-day', yesterday);
    await page.click('#period button[type="submit"]');
    // The view of the chosen period (not the default one already on the page).
    await page.waitForFunction((day) => document.querySelector('#schedule').textContent.endsWith(`${day} to ${day}`), yesterday, { timeout: 30000 });
    assert.equal(await page.$$eval('#billing-table tbody tr', (trs) => trs.length), METERS);
    const totals = await page.$$eval('#billing-table tbody tr td:nth-child(3)', (tds) => tds.map((td) => td.textContent));
    for (const t of totals) assert.ok(Number(t.replace(/,/g, '')) > 0, `total kWh ${t}`);
    await shot('billing.png');
  });

  await step('no page error and no request left the origin', async () => {
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(foreign, []);
  });
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}

console.log(failures === 0 ? `all checks passed; screenshots in ${artifacts}` : `${failures} check(s) failed`);
process.exit(failures === 0 ? 0 : 1);
