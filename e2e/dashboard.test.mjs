// The dashboard in a real browser (Debian's Chromium, headless), against a running
// `liza serve` started by .ci/browser-tests.sh with seeded data and two known calls:
// one from +4915112345678 that saved order 12345, one whose From is a script tag, and one
// from +4917098765432 that saved order 55555 (the privacy test erases it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

// axe-core's engine, run inside the page through the DevTools protocol (the dashboard's CSP
// rightly refuses an injected <script>).
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const BASE = process.env.LIZA_URL ?? 'http://127.0.0.1:5000';
const USER = process.env.LIZA_USER ?? 'admin';
const PASSWORD = process.env.LIZA_PASSWORD;
const ARTIFACTS = process.env.ARTIFACTS ?? join(import.meta.dirname, '..', 'test-artifacts');
const XSS_FROM = '<script>alert(1)</script>';

let browser;
let context;
let page;
const dialogs = [];

async function shot(name) {
  for (const width of [1280, 375]) {
    await page.setViewportSize({ width, height: width === 375 ? 812 : 900 });
    await page.screenshot({ path: join(ARTIFACTS, `${name}-${width}.png`), fullPage: true });
    if (width === 375) {
      // Usable on a phone: nothing wider than the screen except inside scrolling tables.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(overflow <= 376, `${name} is ${overflow}px wide at 375px`);
    }
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

/** axe-core's violations on the current page (WCAG 2.x A and AA), as readable lines. */
async function axeViolations() {
  await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
  );
  return results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** A webhook as Twilio sends it (the test server runs with LIZA_INSECURE_DEV: unsigned). */
async function webhook(path, params) {
  const response = await fetch(`${BASE}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ To: '+4930123456', ...params }),
  });
  assert.equal(response.status, 200, `${path}: ${response.status}`);
  return response.text();
}

/** A call driven from the test: started, keys pressed at each Gather, ended. */
class LiveCall {
  constructor(sid, from) {
    this.sid = sid;
    this.from = from;
  }

  async start() {
    this.twiml = await webhook('/webhook/voice', { CallSid: this.sid, From: this.from });
  }

  async press(digits) {
    const action = /<Gather[^>]*action="([^"]*)"/.exec(this.twiml)[1].replaceAll('&amp;', '&');
    const path = `/webhook/${action.split('/webhook/')[1]}`;
    this.twiml = await webhook(path, { CallSid: this.sid, From: this.from, Digits: digits });
  }

  async end() {
    await webhook('/webhook/status', {
      CallSid: this.sid, From: this.from, CallStatus: 'completed', CallDuration: '42',
    });
  }
}

/** Waits until `read()` returns something `ok` accepts (the live view updates the page). */
async function eventually(read, ok, what, timeout = 15000) {
  const until = Date.now() + timeout;
  let last;
  while (Date.now() < until) {
    last = await read();
    if (ok(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`${what}: still ${JSON.stringify(last)} after ${timeout} ms`);
}

const cspErrors = [];

before(async () => {
  assert.ok(PASSWORD, 'set LIZA_PASSWORD');
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  // A script that ran would open a dialog; none may.
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) {
      cspErrors.push(message.text());
    }
  });
  page.on('dialog', async (dialog) => {
    dialogs.push(dialog.message());
    await dialog.dismiss();
  });
});

after(async () => {
  await browser?.close();
});

test('a visitor without a session is sent to the login page', async () => {
  await page.goto(`${BASE}/calls`);
  assert.equal(new URL(page.url()).pathname, '/login');
  assert.equal(await page.locator('h1').textContent(), 'Log in');
});

test('a wrong password is refused with a message', async () => {
  await page.goto(`${BASE}/login`);
  await page.getByLabel('User name').fill(USER);
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Log in' }).click();
  assert.match(await page.locator('[role=alert]').textContent(), /Wrong user name or password/);
});

test('log in and see the overview', async () => {
  await page.goto(`${BASE}/login`);
  await page.getByLabel('User name').fill(USER);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(`${BASE}/`);
  assert.equal(await page.locator('h1').textContent(), 'Overview');
  assert.match(await page.locator('main').textContent(), /calls today/);
  assert.match(await page.locator('main').textContent(), /liza/);
  await shot('overview');
});

test('filter calls by status', async () => {
  await page.goto(`${BASE}/calls`);
  await page.getByLabel('Status').selectOption('problem');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/status=problem/);
  const statuses = await page.locator('#calls tbody .status').allTextContents();
  assert.ok(statuses.length > 0, 'the seeded data has problem calls');
  assert.deepEqual([...new Set(statuses)], ['problem']);
  // The list explains its statuses.
  await page.locator('#status-legend summary').click();
  assert.match(await page.locator('#status-legend').textContent(), /problem.*heard Liza's apology/s);
  await shot('calls-problem');
});

test('filter calls by number, open one and see its timeline', async () => {
  await page.goto(`${BASE}/calls`);
  await page.getByLabel('Phone number').fill('12345678');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/number=12345678/);
  const numbers = await page.locator('#calls tbody td.phone').allTextContents();
  assert.ok(numbers.length >= 1);
  for (const number of numbers) {
    assert.equal(number, '+49 151 ••• ••78', 'lists show masked numbers');
  }
  await page.locator('#calls tbody a').first().click();
  // The call's page knows the list it came from.
  await page.waitForURL(/\/calls\/\d+\?back=/);
  assert.match(await page.locator('h1').textContent(), /\+4915112345678/, 'the detail page shows the full number');
  const steps = page.locator('#timeline li');
  assert.ok((await steps.count()) >= 3, 'greeting, consent, order, read-back');
  const timeline = await page.locator('#timeline').textContent();
  assert.match(timeline, /Caller pressed:\s*1/);
  // Steps are named by the flow's labels and their outcomes in plain words, not by node ids.
  assert.match(timeline, /Order number asked/);
  assert.match(timeline, /Consent given/);
  assert.doesNotMatch(timeline, /order_confirm|chose 1|invalid, /);
  // What the flow asked the shop's system is a request, not something Liza said.
  assert.match(timeline, /Asked the system:\s*GET shop \/orders\/12345/);
  assert.doesNotMatch(timeline, /Liza:\s*GET/);
  assert.match(timeline, /Caller pressed:\s*12345/);
  await shot('call-detail');
  // "← Calls" leads back to the filtered list.
  await page.locator('#back').click();
  await page.waitForURL(/\/calls\?(.*&)?number=12345678(&|$)/);
  assert.equal(await page.getByLabel('Phone number').inputValue(), '12345678');
});

test('times are shown in the local time zone, and the zone is named', async () => {
  await page.goto(`${BASE}/calls?number=12345678`);
  assert.equal(await page.locator('footer #zone').textContent(), 'Europe/Berlin');
  const shown = (await page.locator('#calls tbody a').first().textContent()).trim();
  // The English page writes `1 Dec 2026, 05:10:00`.
  assert.match(shown, /^\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d:\d\d$/);
  // The call was placed a moment ago: its start is Berlin's time now, not UTC's.
  const berlinNow = new Intl.DateTimeFormat('sv-SE', {
    timeZone: 'Europe/Berlin', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).format(new Date());
  const minutes = Math.abs(Date.parse(`${berlinNow.replace(' ', 'T')}Z`)
    - Date.parse(`${shown.replace(',', '')} GMT`)) / 60000;
  assert.ok(minutes < 30, `shown ${shown}, Berlin now ${berlinNow}`);
  assert.doesNotMatch(await page.locator('main').textContent(), /UTC/);
});

test("change an order's status and see the audit entry", async () => {
  await page.goto(`${BASE}/`);
  // The navigation lists the kinds of records the flow declares, named by its locale.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Orders' }).click();
  await page.waitForURL(/\/records\/order$/);
  await page.getByLabel('Order number').fill('12345');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/\/records\/order\?/);
  await page.locator('#records tbody a', { hasText: /^12345$/ }).click();
  await page.waitForURL(/\/records\/order\/\d+$/);
  assert.equal(await page.locator('h1').textContent(), 'Order 12345');
  const before = await page.locator('#record-status').textContent();
  const target = before === 'shipped' ? 'delivered' : 'shipped';
  await page.getByLabel('Change status').selectOption(target);
  await page.getByRole('button', { name: 'Save status' }).click();
  await page.waitForLoadState();
  assert.equal(await page.locator('#record-status').textContent(), target);
  const entry = await page.locator('#audit tbody tr').first().locator('td').allTextContents();
  assert.deepEqual(entry.slice(1), [USER, 'Status', before, target]);
  await shot('order-detail');
});

test('an old /orders bookmark opens the orders', async () => {
  await page.goto(`${BASE}/orders?number=12345`);
  await page.waitForURL(/\/records\/order\?number=12345$/);
  assert.equal(await page.locator('h1').textContent(), 'Orders');
  assert.ok((await page.locator('#records tbody a', { hasText: /^12345$/ }).count()) >= 1);
});

test('a caller whose From is a script tag is shown as text', async () => {
  await page.goto(`${BASE}/calls?number=script`);
  const rows = page.locator('#calls tbody tr');
  assert.equal(await rows.count(), 1);
  await rows.locator('a').click();
  await page.waitForURL(/\/calls\/\d+\?back=/);
  assert.equal(await page.locator('h1 .phone').textContent(), XSS_FROM);
  assert.equal(await page.locator('main script').count(), 0);
  assert.deepEqual(dialogs, [], 'no script ran');
  await shot('call-xss');
});

test('statistics are drawn as SVG with the numbers in tables', async () => {
  await page.goto(`${BASE}/stats`);
  assert.equal(await page.locator('h1').textContent(), 'Statistics');
  assert.ok((await page.locator('svg rect.bar').count()) > 30);
  assert.ok((await page.locator('#by-language tbody tr').count()) >= 2);
  await shot('stats');
});

test('find a caller on the privacy page, preview, erase, and see the audit entry', async () => {
  await page.goto(`${BASE}/`);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Privacy' }).click();
  await page.waitForURL(/\/privacy$/);
  // A malformed number gets a message that shows the form to use.
  await page.getByLabel('Phone number').fill('12');
  await page.getByRole('button', { name: 'Find' }).click();
  assert.match(await page.locator('[role=alert]').textContent(), /\+4915112345678/);
  // The national form, as a caller would say it on the phone.
  await page.getByLabel('Phone number').fill('0170 98765432');
  await page.getByRole('button', { name: 'Find' }).click();
  await page.waitForURL(/\/privacy\?phone=/);
  assert.equal(await page.locator('h2 .phone').textContent(), '+49 170 ••• ••32');
  assert.equal(await page.locator('#person-calls tbody tr').count(), 1);
  assert.match(await page.locator('main').textContent(), /order\s+55555/);
  const download = page.waitForEvent('download');
  await page.getByRole('link', { name: /Download everything stored/ }).click();
  const exported = JSON.parse(readFileSync(await (await download).path(), 'utf8'));
  assert.equal(exported.calls.length, 1);
  assert.equal(exported.calls[0].from_number, '+4917098765432');
  assert.ok(exported.steps.some((s) => s.digits === '55555'), 'the export has what was typed');
  await shot('privacy-preview');
  // Erasing needs the confirmation ticked (the browser enforces it too: skip that check).
  await page.locator('#confirm').evaluate((box) => box.removeAttribute('required'));
  await page.getByRole('button', { name: "Erase this caller's data" }).click();
  assert.match(await page.locator('[role=alert]').textContent(), /Nothing was erased/);
  await page.getByLabel('I understand that this cannot be undone').check();
  await page.getByRole('button', { name: "Erase this caller's data" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator('#erased').textContent(), /1 call made anonymous/);
  assert.match(await page.locator('#nothing-found').textContent(), /Nothing is stored about this number any more/);
  // The audit entry names the action and the counts, never the number.
  const entry = await page.locator('#privacy-audit tbody tr').first().textContent();
  assert.match(entry, new RegExp(USER));
  assert.match(entry, /erase/);
  assert.match(entry, /caller [0-9a-f]{12}…/);
  assert.doesNotMatch(await page.locator('#privacy-audit').textContent(), /98765432/);
  await shot('privacy-erased');
  // The order stays, without the caller.
  await page.goto(`${BASE}/records/order?number=55555`);
  assert.ok((await page.locator('#records tbody a', { hasText: /^55555$/ }).count()) >= 1);
});

test('the live tile and the call page follow a call while it runs, without reloading', async () => {
  const call = new LiveCall('CAbrowserlive00000000000000000001', '+4915104500990');
  await page.goto(`${BASE}/`);
  const tile = page.locator('#live-calls [data-live-count]');
  const before = Number(await tile.textContent());
  await page.evaluate(() => { window.notReloaded = true; });
  await call.start();
  await eventually(async () => Number(await tile.textContent()), (n) => n === before + 1, 'the tile');
  assert.equal(await page.evaluate(() => window.notReloaded), true, 'updated in place');
  assert.deepEqual(await axeViolations(), []);
  await shot('overview-live');

  // The list of calls in progress has it; its page follows it.
  await tile.click();
  await page.waitForURL(/status=in_progress/);
  await page.locator('#calls tbody td.phone', { hasText: '+49 151 ••• ••90' }).first().waitFor();
  assert.deepEqual(await axeViolations(), []);
  await page.goto(`${BASE}/calls?status=in_progress&number=%2B4915104500990`);
  await page.locator('#calls tbody a').first().click();
  await page.waitForURL(/\/calls\/\d+/);
  await page.evaluate(() => { window.notReloaded = true; });
  const steps = page.locator('#timeline li');
  const first = await steps.count();
  await call.press('1');
  await eventually(() => steps.count(), (n) => n > first, 'new steps on the timeline');
  await call.press('12345');
  const timeline = await eventually(
    () => page.locator('#timeline').textContent(), (t) => /Caller pressed:\s*12345/.test(t), 'the keys pressed');
  assert.match(timeline, /Caller pressed:\s*1/);
  assert.deepEqual(await axeViolations(), []);
  await call.end();
  await eventually(() => page.locator('#live-status').textContent(), (t) => /has ended/.test(t), 'the end');
  assert.equal(await page.locator('#call-status').textContent(), 'completed');
  assert.equal(await page.evaluate(() => window.notReloaded), true, 'updated in place');
  await shot('call-live-ended');

  // Back on the overview the call no longer counts.
  await page.goto(`${BASE}/`);
  assert.equal(Number(await tile.textContent()), before);
  assert.deepEqual(cspErrors, [], 'the live script keeps within the CSP');
});

test('a call page without JavaScript is whole and says to reload', async () => {
  const plain = await browser.newContext({ javaScriptEnabled: false });
  const other = await plain.newPage();
  await other.goto(`${BASE}/login`);
  await other.getByLabel('User name').fill(USER);
  await other.getByLabel('Password').fill(PASSWORD);
  await other.getByRole('button', { name: 'Log in' }).click();
  await other.waitForURL(`${BASE}/`);
  assert.match(await other.locator('#live-calls').textContent(), /calls in progress/);
  const call = new LiveCall('CAbrowserlive00000000000000000002', '+4915104500991');
  await call.start();
  await other.goto(`${BASE}/calls?status=in_progress&number=%2B4915104500991`);
  await other.locator('#calls tbody a').first().click();
  await other.waitForURL(/\/calls\/\d+/);
  assert.match(await other.locator('noscript').first().innerHTML(), /reload it to see what is new/);
  const first = await other.locator('#timeline li').count();
  await call.press('1');
  await other.reload();
  assert.ok((await other.locator('#timeline li').count()) > first, 'a reload shows the new steps');
  await call.end();
  await plain.close();
});

test('a number is found in its national, spaced, international and masked forms', async () => {
  const calls = async () => page.locator('#calls tbody td.phone').allTextContents();
  const search = async (typed) => {
    await page.goto(`${BASE}/calls`);
    await page.getByLabel('Phone number').fill(typed);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/number=/);
    return calls();
  };
  const whole = await search('+4915104500990');
  assert.ok(whole.length >= 1, 'the live test called from +4915104500990');
  for (const typed of ['015104500990', '0151 04500990', '+49 151 04500990']) {
    assert.deepEqual(await search(typed), whole, typed);
  }
  // The masked form, copied from the list.
  const masked = whole[0];
  assert.equal(masked, '+49 151 ••• ••90');
  const found = await search(masked);
  assert.ok(found.length >= whole.length, 'every call with the same visible digits');
  assert.deepEqual([...new Set(found)], [masked]);
  assert.match(await page.locator('#masked-hint').textContent(), /possibly more than one person/);
  assert.deepEqual(await axeViolations(), []);
  await shot('calls-masked-search');
  // The call page offers the number kept in clear as a tel: link.
  await search('+4915104500990');
  await page.locator('#calls tbody a').first().click();
  await page.waitForURL(/\/calls\/\d+/);
  assert.equal(await page.locator('h1 a[href^="tel:"]').getAttribute('href'), 'tel:+4915104500990');
});

test('a status save says what it did', async () => {
  await page.goto(`${BASE}/calls?status=completed`);
  await page.locator('#calls tbody a').first().click();
  await page.waitForURL(/\/calls\/\d+\?back=/);
  await page.getByLabel('Change status').selectOption('processed');
  await page.getByRole('button', { name: 'Save status' }).click();
  await page.waitForURL(/saved=status/);
  assert.match(await page.locator('#saved').textContent(), /Status saved: the call is now\s*processed/);
  assert.deepEqual(await axeViolations(), []);
  await page.locator('#back').click();
  await page.waitForURL(/\/calls\?status=completed$/);
});

test('a bulk change sets the ticked calls, keeps the list and is audited per call', async () => {
  await page.goto(`${BASE}/calls?status=problem`);
  const older = page.getByRole('link', { name: 'Older calls →' });
  await older.click();
  await page.waitForURL(/status=problem&before=/);
  const list = page.url();
  const rows = page.locator('#calls tbody tr');
  const ids = [];
  for (const i of [0, 1]) {
    await rows.nth(i).locator('input[type=checkbox]').check();
    ids.push(/\/calls\/(\d+)/.exec(await rows.nth(i).locator('a').getAttribute('href'))[1]);
  }
  assert.deepEqual(await axeViolations(), []);
  await page.getByLabel('Set the ticked calls to').selectOption('processed');
  await page.getByRole('button', { name: 'Change status' }).click();
  await page.waitForURL(/bulk=/);
  // The same list (filter and page), with what was done.
  const back = new URL(page.url());
  assert.equal(back.searchParams.get('status'), 'problem');
  assert.equal(back.searchParams.get('before'), new URL(list).searchParams.get('before'));
  assert.match(await page.locator('#bulk-result').textContent(), /^2 calls set to processed\.$/);
  assert.deepEqual(await axeViolations(), []);
  await shot('calls-bulk');
  for (const id of ids) {
    await page.goto(`${BASE}/calls/${id}`);
    assert.equal(await page.locator('#call-status').textContent(), 'processed');
    const entry = await page.locator('#audit tbody tr').first().locator('td').allTextContents();
    assert.deepEqual(entry.slice(1), [USER, 'Status', 'problem', 'processed']);
  }
});

test('export a filtered list: the CSV holds the rows of every page of the filter', async () => {
  await page.goto(`${BASE}/calls`);
  await page.getByLabel('Status').selectOption('problem');
  await page.getByLabel('Consent').selectOption('given');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/status=problem/);
  // What the list shows, page after page.
  const listed = [];
  for (;;) {
    listed.push(...(await page.locator('#calls tbody input[name="id"]').evaluateAll((boxes) => boxes.map((b) => b.value))));
    const next = page.locator('.pager a[rel="next"]');
    if ((await next.count()) === 0) break;
    await next.click();
    await page.waitForURL(/before=/);
  }
  assert.ok(listed.length > 0, 'the seeded data has problem calls with consent');
  await page.goto(`${BASE}/calls?status=problem&consent=given`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#export-csv').click()]);
  assert.match(download.suggestedFilename(), /^liza-calls-\d{4}-\d{2}-\d{2}\.csv$/);
  const lines = readFileSync(await download.path(), 'utf8').trimEnd().split('\r\n');
  assert.equal(lines[0], 'id,started_at,caller,language,status,consent,duration_secs,call_sid,records');
  const rows = lines.slice(1);
  assert.equal(rows.length, listed.length, 'one row per listed call');
  assert.deepEqual(rows.map((r) => r.split(',')[0]), listed);
  assert.ok(rows.every((r) => r.split(',')[4] === 'problem' && r.split(',')[5] === 'given'));
  // Masked unless asked for: no number in clear.
  assert.ok(rows.every((r) => !/\+\d{8}/.test(r)), 'numbers are masked');
});

test("a call's order is a link; an order shows its calls with their total, paged", async () => {
  // The order column on /calls leads to the order.
  await page.goto(`${BASE}/calls?number=%2B4915112345678`);
  await page.locator('#calls tbody td.records a', { hasText: /^12345$/ }).first().click();
  await page.waitForURL(/\/records\/order\/\d+$/);
  assert.equal(await page.locator('h1').textContent(), 'Order 12345');
  const totalText = await page.locator('#record-calls-total').textContent();
  const total = totalText === 'One call' ? 1 : Number(totalText.replace(/\D/g, ''));
  assert.equal(await page.locator('#record-calls tbody tr').count(), Math.min(total, 50));
  // The history is there before the long list, and linked from the top.
  await page.getByRole('link', { name: 'History' }).click();
  await page.waitForURL(/#history$/);

  // The order-number filter on /calls: only that order's calls, the other filters kept.
  await page.goto(`${BASE}/calls?number=%2B4915112345678`);
  await page.getByLabel('Order number').fill('12345');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/record=12345/);
  assert.match(page.url(), /number=%2B4915112345678/);
  const orders = await page.locator('#calls tbody td.records').allTextContents();
  assert.ok(orders.length > 0);
  assert.ok(orders.every((o) => o.split(', ').includes('12345')), orders.join(' | '));

  // The order most called about: its calls 50 a page, with the total, the next page a click away.
  const exported = await page.request.get(`${BASE}/records/order/export.json`);
  const records = (await exported.text()).trim().split('\n').map((line) => JSON.parse(line));
  const busiest = records.reduce((a, b) => (b.calls > a.calls ? b : a));
  assert.ok(busiest.calls > 50, `the seeded data has an order with more than 50 calls (${busiest.calls})`);
  await page.goto(`${BASE}/records/order/${busiest.id}`);
  assert.equal(Number((await page.locator('#record-calls-total').textContent()).replace(/\D/g, '')), busiest.calls);
  assert.equal(await page.locator('#record-calls tbody tr').count(), 50);
  const pages = Math.ceil(busiest.calls / 50);
  assert.match(await page.locator('.pager').textContent(), new RegExp(`Page 1 of ${pages}`));
  await page.locator('.pager a[rel="next"]').click();
  await page.waitForURL(/page=2/);
  assert.equal(await page.locator('#record-calls tbody tr').count(), Math.min(50, busiest.calls - 50));
  assert.deepEqual(await axeViolations(), []);
  await shot('order-calls-page-2');
});

test('every page in German and English: no horizontal scroll at 375 px, no axe violation', async () => {
  await page.goto(`${BASE}/calls`);
  const callHref = await page.locator('#calls tbody a').first().getAttribute('href');
  await page.goto(`${BASE}/records/order`);
  const orderHref = await page.locator('#records tbody a').first().getAttribute('href');
  const pages = [
    ['overview', '/'],
    ['calls', '/calls'],
    ['call', callHref.split('?')[0]],
    ['orders', '/records/order'],
    ['order', orderHref],
    ['stats', '/stats'],
    ['privacy', '/privacy'],
    ['account', '/account'],
    ['not-found', '/no/such/page'],
    ['bad-request', '/calls?from=31.12.2026'],
  ];
  const words = { de: { '/': 'Übersicht', '/calls': 'Anrufe' }, en: { '/': 'Overview', '/calls': 'Calls' } };
  for (const lang of ['de', 'en']) {
    await page.setViewportSize({ width: 375, height: 812 });
    for (const [name, path] of pages) {
      const joiner = path.includes('?') ? '&' : '?';
      await page.goto(`${BASE}${path}${joiner}lang=${lang}`);
      assert.equal(await page.getAttribute('html', 'lang'), lang, `${name} (${lang})`);
      if (words[lang][path]) {
        assert.match(await page.locator('h1').textContent(), new RegExp(words[lang][path]));
      }
      const { scroll, inner } = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        inner: window.innerWidth,
      }));
      assert.ok(scroll <= inner, `${name} (${lang}) is ${scroll}px wide at ${inner}px`);
      await page.screenshot({ path: join(ARTIFACTS, `phone-${lang}-${name}.png`), fullPage: true });
      assert.deepEqual(await axeViolations(), [], `${name} (${lang})`);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
    for (const [name, path] of pages) {
      const joiner = path.includes('?') ? '&' : '?';
      await page.goto(`${BASE}${path}${joiner}lang=${lang}`);
      assert.deepEqual(await axeViolations(), [], `${name} (${lang}, 1280 px)`);
    }
  }
  // The login page, without a session, in both languages.
  const visitor = await browser.newContext();
  const login = await visitor.newPage();
  await login.setViewportSize({ width: 375, height: 812 });
  for (const lang of ['de', 'en']) {
    await login.goto(`${BASE}/login?lang=${lang}`);
    assert.equal(await login.getAttribute('html', 'lang'), lang);
    const { scroll, inner } = await login.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      inner: window.innerWidth,
    }));
    assert.ok(scroll <= inner, `login (${lang}) is ${scroll}px wide`);
    await login.screenshot({ path: join(ARTIFACTS, `phone-${lang}-login.png`), fullPage: true });
  }
  await visitor.close();
  // The choice is kept: back to English for the tests that follow.
  await page.goto(`${BASE}/?lang=en`);
});

test('log out and be refused', async () => {
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL(`${BASE}/login`);
  await page.goto(`${BASE}/calls`);
  assert.equal(new URL(page.url()).pathname, '/login');
  const response = await page.request.post(`${BASE}/api/calls/1/status`, {
    data: { status: 'problem' },
  });
  assert.equal(response.status(), 401);
});
