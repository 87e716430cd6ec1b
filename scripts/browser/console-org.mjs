// The console's organization, platform and time-zone pages in a real browser, JavaScript off,
// axe-core on every page, screenshots target/screenshots/console-org-*.png. Run by
// crates/server/tests/api/browser_console_org.rs, which checks the database afterwards.
//
// CONSOLE_PLAN (JSON): base, chromium, screenshots, platform (the platform organization's id),
// email, password (its administrator), org (another organization to manage), eva_user (an
// EDITOR of its Production environment), logo (a PNG file).

import { start } from './console-lib.mjs';

const plan = JSON.parse(process.env.CONSOLE_PLAN);
const { page, submit, check, expectText, fail, finish } = await start(plan, 'console-org-');
const label = (l) => page.getByLabel(l, { exact: true });
const button = (n) => page.getByRole('button', { name: n, exact: true });
const link = (n) => page.getByRole('link', { name: n, exact: true });

try {
  // The platform administrator signs in through the platform organization's hosted page.
  await page.goto(`${plan.base}/console/${plan.platform}`);
  await label('Email').fill(plan.email);
  await label('Password').fill(plan.password);
  await submit(button('Sign in'));

  // 1. The platform page: every organization; create one; switch into another's console.
  await page.goto(`${plan.base}/console/${plan.platform}/platform`);
  await check('platform');
  await expectText('platform', plan.org);
  await label('Organization id').fill('browserco');
  await label('Organization name').fill('Browser Co');
  await submit(button('Create an organization'));
  await check('platform-created');
  await expectText('platform-created', 'The organization was created.');
  await submit(page.getByRole('link', { name: `Open its console ${plan.org}`, exact: true }));
  if (!page.url().endsWith(`/console/${plan.org}/users`)) fail('switch', `not at ${plan.org}: ${page.url()}`);

  // 2. The organization's settings.
  await submit(link('Organization'));
  await check('settings');
  await label('Organization name').fill('Managed <b>Org</b>');
  await label('Default time zone').fill('Europe/Lisbon');
  await submit(button('Save'));
  await check('settings-saved');
  await expectText('settings-saved', 'Managed <b>Org</b>');

  // 2b. Its logo, uploaded; shown on the page.
  await label('Logo').setInputFiles(plan.logo);
  await submit(button('Save the images'));
  await check('branding-saved');
  if (!(await page.locator('img.logo[alt="Logo"][src^="data:image/png;base64,"]').count())) {
    fail('branding-saved', 'the logo is not shown');
  }

  // 3. A connection.
  await submit(link('Connections'));
  await label('Connection name').fill('corp');
  await label('Issuer').fill('https://idp.example.com');
  await label('Client id').fill('corp-client');
  await label('Client secret').fill('upstream-secret');
  await label('Email domains').fill('corp.example.com');
  await submit(button('Add'));
  await check('connections');
  await expectText('connections', 'corp.example.com');

  // 4. An OIDC client: its secret once.
  await submit(link('OIDC clients'));
  await label('Client name').fill('Browser app');
  await label('Redirect URIs').fill('https://app.example.com/callback');
  await submit(button('Add'));
  await check('client-created');
  if (((await page.locator('#secret').innerText()) || '').trim().length < 20) fail('client-created', 'no secret');

  // 5. A SCIM token: shown once.
  await submit(link('SCIM tokens'));
  await label('Token name').fill('okta');
  await submit(button('Create'));
  await check('scim-created');
  await expectText('scim-created', 'The token, shown this once:');

  // 6. A webhook endpoint: its signing secret once.
  await submit(link('Webhook endpoints'));
  await label('URL').fill('https://hooks.example.com/roster');
  await label('Description').fill('<script>alert(1)</script>');
  await submit(button('Add'));
  await check('webhook-created');
  await expectText('webhook-created', 'The signing secret, shown this once:');

  // 7. The viewer's time zone: a bad one refused naming the field, then Tokyo on every date.
  await submit(link('Time zone'));
  await check('timezone');
  await label('Time zone').selectOption('Asia/Tokyo');
  await submit(button('Save'));
  await check('timezone-saved');
  await submit(link('API keys'));
  await check('keys-in-tokyo');
  await expectText('keys-in-tokyo', 'JST');

  // 8. An eva user's environments: the table, then a second bot and another environment.
  await page.goto(`${plan.base}/console/${plan.org}/users/${plan.eva_user}`);
  await check('user-envs');
  await expectText('user-envs', 'Environments and bots');
  const production = page.getByRole('group', { name: 'Production', exact: true });
  await production.getByLabel('Second', { exact: true }).check();
  const staging = page.getByRole('group', { name: 'Staging', exact: true });
  await staging.getByLabel('Role in this environment', { exact: true }).selectOption('SUPERVISOR');
  await submit(button('Save environments'));
  await check('user-envs-saved');
  await expectText('user-envs-saved', 'The environments were saved.');
  await expectText('user-envs-saved', 'Main, Second');
} catch (e) {
  fail('script', e.stack || String(e));
}
await finish();
