// axe-core's audit of one page's HTML, and a page's screenshot, shared by the browser scripts.
// The HTML is copied into a JavaScript-on page of its own (the pages under test run with
// JavaScript off, and axe needs it); a script of the page that ran there would open a dialog,
// which the caller fails on.

import { createRequire } from 'node:module';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(join(root, 'target/browser/package.json'));
const axe = require('axe-core');

const OPTIONS = {
  runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
  // Every node of every violation, as before; passed and incomplete rules are still each
  // listed (the callers count passes), but with one node each, so axe builds no selector for
  // every node that passed: about a quarter of an audit's time (docs/architecture.md).
  resultTypes: ['violations'],
};

/// Loads `html` into `auditPage` and runs axe on it; the result is axe's (violations, passes).
export async function audit(auditPage, html) {
  await auditPage.setContent(html, { waitUntil: 'load' });
  // setContent rewrites the document of the same window (document.open, write, close), so
  // axe, evaluated there once, is still there for the next page; it is evaluated again only
  // if it is gone (docs/architecture.md, "How long the binary takes", has what this saved).
  if (!(await auditPage.evaluate(() => typeof window.axe?.run === 'function'))) {
    await auditPage.evaluate(axe.source);
  }
  return auditPage.evaluate((options) => window.axe.run(document, options), OPTIONS);
}

/// A full-page screenshot of `page` at `path`. Chromium sometimes answers "Unable to capture
/// screenshot" when its compositor has no frame ready under load (seen with three browsers on
/// two cores); the picture is for people to look at, not a check, so it is asked for again.
export async function screenshot(page, path) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await page.screenshot({ path, fullPage: true });
    } catch (e) {
      if (attempt === 3 || !String(e).includes('Unable to capture screenshot')) throw e;
    }
  }
}
