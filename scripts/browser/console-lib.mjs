// Shared by the console's browser scripts: Debian's Chromium through playwright-core with
// JavaScript off, a second JavaScript-on page into which each page's HTML is copied for
// axe-core (a script of the page that ran would open a dialog and fail), screenshots, and the
// closing {"done": ...} line on stdout.

import { createRequire } from 'node:module';
import { audit, screenshot } from './audit.mjs';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(join(root, 'target/browser/package.json'));
const { chromium } = require('playwright-core');

/// A browser for `plan` (base, chromium, screenshots); screenshots are `{prefix}{name}.png`.
export async function start(plan, prefix) {
  mkdirSync(plan.screenshots, { recursive: true });
  const started = Date.now();
  const failures = [];
  const audited = [];
  const fail = (where, what) => failures.push(`${where}: ${what}`);
  const browser = await chromium.launch({ executablePath: plan.chromium });
  const auditPage = await (await browser.newContext({ javaScriptEnabled: true })).newPage();
  auditPage.on('dialog', (d) => {
    fail('audit', `a script of the page ran: dialog "${d.message()}"`);
    d.dismiss();
  });
  const context = await browser.newContext({ javaScriptEnabled: false, locale: 'en-US' });
  const page = await context.newPage();
  let documentResponse = null;
  page.on('response', (r) => {
    const req = r.request();
    if (req.isNavigationRequest() && req.frame() === page.mainFrame() && r.url().startsWith(plan.base)) {
      documentResponse = r;
    }
  });

  async function submit(control) {
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), control.click()]);
  }

  /// The page now shown as `name`: status, headers, no inline script, axe, its screenshot.
  async function check(name, { status = 200, console = true } = {}) {
    const r = documentResponse;
    if (!r) return fail(name, 'no document from the server');
    if (r.status() !== status) fail(name, `status ${r.status()}, not ${status} (${page.url()})`);
    const h = await r.allHeaders();
    const csp = h['content-security-policy'] || '';
    if (console) {
      for (const part of ["default-src 'none'", "frame-ancestors 'none'", "script-src 'self'"]) {
        if (!csp.includes(part)) fail(name, `CSP without ${part}: ${csp}`);
      }
      if (/unsafe-/.test(csp)) fail(name, `CSP allows unsafe sources: ${csp}`);
      if ((await page.locator('script:not([src])').count()) !== 0) fail(name, 'an inline script');
    }
    await screenshot(page, join(plan.screenshots, `${prefix}${name}.png`));
    const html = (await page.content()).replace('<head>', `<head><base href="${plan.base}/">`);
    const result = await audit(auditPage, html);
    for (const v of result.violations) {
      if (v.impact === 'serious' || v.impact === 'critical') {
        fail(name, `axe ${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
      }
    }
    audited.push({ page: name, violations: result.violations.map((v) => `${v.impact} ${v.id}`) });
  }

  async function expectText(name, text) {
    if (!(await page.getByText(text, { exact: false }).count())) fail(name, `"${text}" is not shown`);
  }

  async function finish() {
    await browser.close();
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(JSON.stringify({ done: { audited, failures, seconds } }) + '\n');
    if (failures.length) {
      process.stderr.write(failures.join('\n') + '\n');
      process.exit(1);
    }
    process.exit(0);
  }

  return { page, submit, check, expectText, fail, finish };
}
