// The admin console in a real browser: Debian's Chromium driven by playwright-core with
// JavaScript disabled (every page must work without it), every page checked by axe-core
// (injected into a copy of the page) and photographed to target/screenshots/console-*.png.
// Run by crates/server/tests/api/browser_console.rs, which seeds the organization (100,000
// users) and checks the outcome in the database afterwards. Besides reading, it activates a
// deactivated user, rotates an API key, creates and edits a role (and sees a rank refusal) and
// follows a CSV import job's page to its end. Its last line on stdout is
// {"done": ...}; any failed check makes it exit non-zero.
//
// CONSOLE_PLAN (JSON): base, chromium, screenshots, org, email, password, needle (a term that
// finds one seeded user), needle_email, last_email (the last user by email), csv (a file path).

import { createRequire } from 'node:module';
import { audit, screenshot } from './audit.mjs';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(join(root, 'target/browser/package.json'));
const { chromium } = require('playwright-core');

const plan = JSON.parse(process.env.CONSOLE_PLAN);
mkdirSync(plan.screenshots, { recursive: true });
const started = Date.now();
const failures = [];
const audited = [];
const fail = (where, what) => failures.push(`${where}: ${what}`);
const log = (msg) => process.stdout.write(JSON.stringify({ log: msg }) + '\n');

const browser = await chromium.launch({ executablePath: plan.chromium });
const auditPage = await (await browser.newContext({ javaScriptEnabled: true })).newPage();
auditPage.on('dialog', (d) => {
  fail('audit', `a script of the page ran: dialog "${d.message()}"`);
  d.dismiss();
});
const context = await browser.newContext({ javaScriptEnabled: false, locale: 'en-US', acceptDownloads: true });
const page = await context.newPage();
let documentResponse = null;
page.on('response', (r) => {
  const req = r.request();
  if (req.isNavigationRequest() && req.frame() === page.mainFrame() && r.url().startsWith(plan.base)) {
    documentResponse = r;
  }
});

async function submit(button) {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), button.click()]);
}

/// The page now shown as `name`: status, headers, language, axe, and its screenshot.
async function check(name, { status = 200, console = true } = {}) {
  const r = documentResponse;
  if (!r) return fail(name, 'no document from the server');
  if (r.status() !== status) fail(name, `status ${r.status()}, not ${status} (${page.url()})`);
  const h = await r.allHeaders();
  const csp = h['content-security-policy'] || '';
  if (console) {
    for (const part of ["default-src 'none'", "frame-ancestors 'none'", "script-src 'self'", "base-uri 'none'"]) {
      if (!csp.includes(part)) fail(name, `CSP without ${part}: ${csp}`);
    }
    if (/unsafe-/.test(csp)) fail(name, `CSP allows unsafe sources: ${csp}`);
    if ((await page.locator('script:not([src])').count()) !== 0) fail(name, 'an inline script');
  }
  if (h['referrer-policy'] !== 'no-referrer') fail(name, `Referrer-Policy ${h['referrer-policy']}`);
  if ((await page.getAttribute('html', 'lang')) !== 'en') fail(name, 'html lang');
  await screenshot(page, join(plan.screenshots, `console-${name}.png`));
  // The copy loads the page's stylesheet from the server (its sizes and colours are audited).
  const html = (await page.content()).replace('<head>', `<head><base href="${plan.base}/">`);
  const result = await audit(auditPage, html);
  for (const v of result.violations) {
    if (v.impact === 'serious' || v.impact === 'critical') {
      fail(name, `axe ${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
    }
  }
  audited.push({ page: name, passes: result.passes.length, violations: result.violations.map((v) => `${v.impact} ${v.id}`) });
}

async function expectText(name, text) {
  if (!(await page.getByText(text, { exact: false }).count())) fail(name, `"${text}" is not shown`);
}

const timed = {};
async function time(what, f) {
  const t = Date.now();
  await f();
  timed[what] = Date.now() - t;
}

try {
  // 1. Which organization, then its hosted sign-in page, then back to the console.
  await page.goto(plan.base + '/console');
  await check('choose');
  await page.getByLabel('Organization id', { exact: true }).fill(plan.org);
  await submit(page.getByRole('button', { name: 'Continue', exact: true }));
  if (!page.url().includes(`/realms/${plan.org}/protocol/openid-connect/auth`)) fail('sign-in', `not at the hosted page: ${page.url()}`);
  await check('sign-in', { console: false });
  await page.getByLabel('Email', { exact: true }).fill(plan.email);
  await page.getByLabel('Password', { exact: true }).fill(plan.password);
  await time('sign-in', () => submit(page.getByRole('button', { name: 'Sign in', exact: true })));
  if (!page.url().endsWith(`/console/${plan.org}/users`)) fail('users', `not at the users page: ${page.url()}`);
  await check('users');
  await expectText('users', 'users in all');

  // 2. Find one user among 100,000 by the search box.
  await page.getByRole('searchbox', { name: 'Search' }).fill(plan.needle);
  await time('search', () => submit(page.getByRole('button', { name: 'Apply', exact: true })));
  await check('search');
  await expectText('search', plan.needle_email);
  if ((await page.locator('tbody tr').count()) !== 1) fail('search', `${await page.locator('tbody tr').count()} rows, not 1`);

  // 3. Sort by email, descending; then page: the next page, and the last one.
  await page.getByRole('searchbox', { name: 'Search' }).fill('');
  await page.getByLabel('Sort by', { exact: true }).selectOption('-email');
  await time('sort', () => submit(page.getByRole('button', { name: 'Apply', exact: true })));
  await check('sorted');
  await time('next-page', () => submit(page.getByRole('link', { name: 'Next page', exact: true })));
  await check('next-page');
  await time('last-page', () => submit(page.getByRole('link', { name: 'Last page', exact: true })));
  await check('last-page');
  const lastRow = await page.locator('tbody tr').last().innerText();
  if (!lastRow.includes(plan.last_email)) fail('last-page', `the last row is ${lastRow}, not ${plan.last_email}`);

  // 4. Invite someone, then edit them.
  await submit(page.getByRole('link', { name: 'Users', exact: true }));
  await submit(page.getByRole('link', { name: 'Invite', exact: true }));
  await check('invite');
  await page.getByLabel('Email', { exact: true }).fill('invited@browser.example');
  await page.getByLabel('First name', { exact: true }).fill('<script>alert(1)</script>');
  await page.getByLabel('Last name', { exact: true }).fill('Invitee');
  await submit(page.getByRole('button', { name: 'Invite', exact: true }));
  await check('user');
  await expectText('user', 'The invitation was sent.');
  await page.getByLabel('First name', { exact: true }).fill('Ivy');
  await page.getByLabel('Time zone', { exact: true }).fill('Asia/Tokyo');
  await submit(page.getByRole('button', { name: 'Save', exact: true }));
  await check('edited');
  if ((await page.getByLabel('First name', { exact: true }).inputValue()) !== 'Ivy') fail('edited', 'the first name did not change');

  // 5. A role the signed-in administrator does not outrank: refused, with the rule explained.
  await page.getByLabel('Role', { exact: true }).selectOption('DefaultSuperAdministratorRole');
  await submit(page.getByRole('button', { name: 'Change role', exact: true }));
  await check('refused', { status: 403 });
  await expectText('refused', 'outrank');
  await expectText('refused', 'a role with every permission of the other and more');

  // 5b. Deactivate that user, then activate them again from their page.
  await submit(page.getByRole('link', { name: 'Back', exact: true }));
  await submit(page.getByRole('button', { name: 'Deactivate', exact: true }));
  await check('deactivated');
  await submit(page.getByRole('button', { name: 'Activate', exact: true }));
  await check('activated');
  if (await page.getByRole('button', { name: 'Activate', exact: true }).count()) fail('activated', 'still deactivated');

  // 6. A CSV with bad rows: the rows applied and every rejected one, downloadable.
  await submit(page.getByRole('link', { name: 'Bulk import', exact: true }));
  await check('bulk');
  await page.getByLabel('CSV file', { exact: true }).setInputFiles(plan.csv);
  await submit(page.getByRole('button', { name: 'Upload', exact: true }));
  // The upload is an import job: its page shows a progress bar and reloads itself (a
  // <noscript> refresh, scripts being off) until the job ends.
  if (!page.url().includes(`/console/${plan.org}/jobs/`)) fail('bulk-done', `not at the job page: ${page.url()}`);
  for (let i = 0; i < 30 && (await page.getByText('Running', { exact: true }).count()); i++) {
    await page.waitForNavigation({ waitUntil: 'load', timeout: 5000 }).catch(() => {});
  }
  if ((await page.locator('progress').count()) !== 1) fail('bulk-done', 'no progress bar');
  await check('bulk-done');
  await expectText('bulk-done', 'Finished');
  await expectText('bulk-done', '2 rows applied, 2 rows rejected');
  await expectText('bulk-done', 'not-an-email');

  // 7. Export the filtered list.
  await submit(page.getByRole('link', { name: 'Users', exact: true }));
  await page.getByRole('searchbox', { name: 'Search' }).fill('browser.example');
  await submit(page.getByRole('button', { name: 'Apply', exact: true }));
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Export as CSV', exact: true }).click(),
  ]);
  const csv = readFileSync(await download.path(), 'utf8').trim().split('\n');
  if (csv[0] !== 'id,email,first_name,last_name,status,roles') fail('export', `header ${csv[0]}`);
  if (csv.length !== 4) fail('export', `${csv.length - 1} rows, not 3: ${csv.join(' | ')}`);

  // 8. An API key: its secret shown once.
  await submit(page.getByRole('link', { name: 'API keys', exact: true }));
  await check('keys');
  await page.getByLabel('Key name', { exact: true }).fill('browser key');
  await submit(page.getByRole('button', { name: 'Create API key', exact: true }));
  await check('key-created');
  const secret = (await page.locator('#secret').innerText()).trim();
  if (secret.length < 20) fail('key-created', 'no secret shown');
  await expectText('key-created', 'browser key');
  await submit(page.getByRole('button', { name: 'Rotate browser key', exact: true }));
  await check('key-rotated');
  await expectText('key-rotated', 'the old ones no longer work');
  const rotated = (await page.locator('#secret').innerText()).trim();
  if (rotated.length < 20 || rotated === secret) fail('key-rotated', 'no new secret shown');

  // 9. Roles, and the audit log filtered by action.
  await submit(page.getByRole('link', { name: 'Roles', exact: true }));
  await check('roles');
  // A custom role, then its grants edited; then one refused by the rank rule.
  await page.getByLabel('Role name', { exact: true }).fill('Browser readers');
  await page.getByLabel('Description', { exact: true }).fill('Read users');
  await page.getByLabel('User:GetUserInfo', { exact: true }).check();
  await submit(page.getByRole('button', { name: 'Create a role', exact: true }));
  await check('role');
  await expectText('role', 'The role was saved.');
  await page.getByLabel('Role:GetRole', { exact: true }).check();
  await submit(page.getByRole('button', { name: 'Save', exact: true }));
  await check('role-edited');
  if (!(await page.getByLabel('Role:GetRole', { exact: true }).isChecked())) fail('role-edited', 'the grant was not added');
  await submit(page.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: 'Roles', exact: true }));
  await page.getByLabel('Role name', { exact: true }).fill('Browser owners');
  await page.getByLabel('Description', { exact: true }).fill('Delete the organization');
  await page.getByLabel('Organization:DeleteOrganization', { exact: true }).check();
  await submit(page.getByRole('button', { name: 'Create a role', exact: true }));
  await check('role-refused', { status: 403 });
  await expectText('role-refused', 'a role with every permission of the other and more');
  await submit(page.getByRole('link', { name: 'Audit log', exact: true }));
  await page.getByLabel('Action', { exact: true }).fill('user.invite');
  await submit(page.getByRole('button', { name: 'Apply', exact: true }));
  await check('audit');
  await expectText('audit', '"channel":"console"');

  // 10. Sign out: the console asks for a sign-in again.
  await submit(page.getByRole('button', { name: 'Sign out', exact: true }));
  await check('signed-out');
  await expectText('signed-out', 'You are signed out.');
  await page.goto(`${plan.base}/console/${plan.org}/users`);
  if (!page.url().includes('/protocol/openid-connect/auth')) fail('signed-out', `still signed in: ${page.url()}`);
} catch (e) {
  fail('script', e.stack || String(e));
}

await browser.close();
const seconds = (Date.now() - started) / 1000;
process.stdout.write(JSON.stringify({ done: { audited, failures, seconds, timed } }) + '\n');
if (failures.length) {
  process.stderr.write(failures.join('\n') + '\n');
  process.exit(1);
}
process.exit(0);
