// The statistics page (/stats) in a real browser, against the server .ci/browser-tests.sh
// starts with 2,000 seeded calls over 60 days: axes and gridlines, the partial marker, the
// period picker, the top orders' links, a phone's width and axe-core, in German and English.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const BASE = process.env.LIZA_URL ?? 'http://127.0.0.1:5000';
const USER = process.env.LIZA_USER ?? 'admin';
const PASSWORD = process.env.LIZA_PASSWORD;
const ARTIFACTS = process.env.ARTIFACTS ?? join(import.meta.dirname, '..', 'test-artifacts');

let browser;
let page;
const cspErrors = [];

async function axeViolations() {
  await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
  );
  return results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** The smallest rendered font size (CSS px on screen) of the charts' text. */
async function smallestChartText() {
  return page.evaluate(() => {
    let smallest = Infinity;
    for (const text of document.querySelectorAll('.chart svg text')) {
      const svg = text.ownerSVGElement;
      const scale = svg.getScreenCTM().a;
      smallest = Math.min(smallest, parseFloat(getComputedStyle(text).fontSize) * scale);
    }
    return smallest;
  });
}

before(async () => {
  assert.ok(PASSWORD, 'set LIZA_PASSWORD');
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) {
      cspErrors.push(message.text());
    }
  });
  await page.goto(`${BASE}/login?lang=en`);
  await page.getByLabel('User name').fill(USER);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(`${BASE}/`);
});

after(async () => {
  await browser?.close();
});

test('the charts have axes, gridlines, ticks and a marked partial day', async () => {
  await page.goto(`${BASE}/stats?lang=en`);
  const chart = page.locator('#chart-over-time');
  assert.equal(await chart.locator('figcaption').textContent(), 'Calls per day');
  assert.equal(await chart.locator('svg[role=img] rect.bar').count(), 30);
  assert.ok((await chart.locator('line.gridline').count()) >= 2, 'gridlines');
  const ticks = await chart.locator('text.tick').allTextContents();
  assert.equal(ticks[0], '0');
  assert.ok(ticks.length >= 2 && ticks.every((t) => /^[\d,]+$/.test(t)), ticks.join(' '));
  const labels = await chart.locator('text.label').allTextContents();
  assert.ok(labels.length >= 3 && labels.length < 30, `x labels thinned: ${labels.length}`);
  assert.match(await chart.locator('svg[role=img]').getAttribute('aria-label'), /Calls per day: 30 bars/);
  // Today is the last bar: running, hatched, named in the legend and in the table.
  assert.equal(await chart.locator('svg[role=img] rect.bar.partial').count(), 1);
  assert.equal(await chart.locator('svg[role=img] rect.bar').last().getAttribute('class'), 'bar partial');
  assert.match(await chart.locator('.legend').textContent(), /hatched, lighter bar/);
  const partialRow = page.locator('#table-over-time tr.partial');
  assert.equal(await partialRow.count(), 1);
  assert.match(await partialRow.textContent(), /so far \(not over\)/);
  // Calendar weeks beside, from Monday, labelled by their ISO number.
  const weeks = await page.locator('#chart-coarser text.label').allTextContents();
  assert.ok(weeks.every((w) => /^week \d+$/.test(w)), weeks.join(', '));
  assert.equal(await page.locator('#chart-by-hour svg[role=img] rect.bar').count(), 24);
  assert.equal(await page.locator('#chart-by-weekday svg[role=img] rect.bar').count(), 7);
  assert.match(await page.locator('#consent-definition').textContent(), /given ÷ \(given \+ refused\).*without an answer/);
  assert.deepEqual(cspErrors, []);
  await page.screenshot({ path: join(ARTIFACTS, 'stats-charts-1280.png'), fullPage: true });
});

test('the period picker changes the charts', async () => {
  await page.goto(`${BASE}/stats?lang=en`);
  const periods = page.getByRole('navigation', { name: 'Period' });
  await periods.getByRole('link', { name: 'last 7 days' }).click();
  await page.waitForURL(/days=7/);
  assert.equal(await page.locator('#chart-over-time svg[role=img] rect.bar').count(), 7);
  await periods.getByRole('link', { name: 'last 365 days' }).click();
  await page.waitForURL(/days=365/);
  assert.equal(await page.locator('#chart-over-time figcaption').textContent(), 'Calls per calendar week');
  const weekBars = await page.locator('#chart-over-time svg[role=img] rect.bar').count();
  assert.ok(weekBars >= 53 && weekBars <= 54, `${weekBars} weeks`);
  assert.equal(await page.locator('#chart-coarser figcaption').textContent(), 'Calls per month');
  // Two dates of one's own: 10 days, per day.
  const day = (offset) => new Date(Date.now() - offset * 86400000).toISOString().slice(0, 10);
  await page.getByLabel('From day').fill(day(15));
  await page.getByLabel('To day').fill(day(6));
  await page.getByRole('button', { name: 'Show' }).click();
  await page.waitForURL(/from=/);
  assert.equal(await page.locator('#chart-over-time svg[role=img] rect.bar').count(), 10);
  assert.equal(await page.locator('#chart-over-time svg[role=img] rect.bar.partial').count(), 0, 'past days are whole');
  // The wrong way round: a message, and the form to correct it.
  await page.getByLabel('From day').fill(day(3));
  await page.getByLabel('To day').fill(day(9));
  await page.getByRole('button', { name: 'Show' }).click();
  await page.waitForURL(/from=/);
  assert.match(await page.locator('[role=alert]').textContent(), /is after the last day/);
  assert.equal(await page.locator('.chart').count(), 0);
});

test('a top order links to its page', async () => {
  await page.goto(`${BASE}/stats?days=90&lang=en`);
  const link = page.locator('#top-order tbody a').first();
  const key = await link.textContent();
  await link.click();
  await page.waitForURL(/\/records\/order\/\d+$/);
  assert.match(await page.locator('main').textContent(), new RegExp(key));
});

test('on a phone: no horizontal scroll, chart text at least 11 px, no axe violation (de, en)', async () => {
  for (const lang of ['de', 'en']) {
    for (const query of ['', 'days=7', 'days=90', 'days=365', 'from=2026-02-30']) {
      const path = `/stats?${query}${query ? '&' : ''}lang=${lang}`;
      await page.setViewportSize({ width: 375, height: 812 });
      await page.goto(`${BASE}${path}`);
      const { scroll, inner } = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        inner: window.innerWidth,
      }));
      assert.ok(scroll <= inner, `${path} is ${scroll}px wide at ${inner}px`);
      if (!query.startsWith('from')) {
        const smallest = await smallestChartText();
        assert.ok(smallest >= 11, `${path}: chart text ${smallest.toFixed(1)} px`);
        if (lang === 'de') {
          const weeks = await page.locator('#chart-coarser text.label, #chart-over-time text.label').allTextContents();
          assert.ok(query !== 'days=365' || weeks.some((w) => /^KW \d+$/.test(w)), weeks.join(', '));
        }
      }
      assert.deepEqual(await axeViolations(), [], `${path} at 375 px`);
      await page.screenshot({ path: join(ARTIFACTS, `stats-phone-${lang}-${query || 'default'}.png`), fullPage: true });
      if (!query.startsWith('from')) {
        // The first chart alone, at the phone's size, to look at its labels.
        await page.locator('#chart-over-time').screenshot({ path: join(ARTIFACTS, `stats-phone-${lang}-${query || 'default'}-chart.png`) });
      }
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.goto(`${BASE}${path}`);
      if (!query.startsWith('from')) {
        assert.ok((await smallestChartText()) >= 11, `${path} at 1280 px`);
      }
      assert.deepEqual(await axeViolations(), [], `${path} at 1280 px`);
    }
  }
  assert.deepEqual(cspErrors, []);
});
