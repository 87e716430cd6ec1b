// The hosted sign-in pages in a real browser: Debian's Chromium, driven by playwright-core with
// JavaScript disabled, every page checked by axe-core (injected from node_modules into a copy of
// the page, as the pages themselves run no script). Run by crates/server/tests/api/browser_signin.rs,
// which serves the app on loopback, reads the emailed links from its SMTP capture and exchanges
// the codes: this script asks for those on stdout (one JSON object a line) and reads each
// answer on stdin. Its last line is {"done": ...}; any failed check makes it exit non-zero.
//
// BROWSER_PLAN (JSON): base, chromium, screenshots, name (the organization's), orgs: [{lang,
// org, email, password, new_password, redirect_uri, logout_target, invitee (an invited person's
// address), invitation_request (the authorization request the invitation's link carries,
// form-encoded), urls: {password, mail, reset, unknown_client, logout, logout_silent}}].

import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { audit, screenshot } from './audit.mjs';
import { mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(join(root, 'target/browser/package.json'));
const { chromium } = require('playwright-core');

const plan = JSON.parse(process.env.BROWSER_PLAN);
mkdirSync(plan.screenshots, { recursive: true });

// What each language's pages say (written here, not taken from the server: the test checks them).
const TEXT = {
  en: {
    invite: 'Accept your invitation', accept: 'Accept the invitation',
    signIn: 'Sign in', email: 'Email', password: 'Password',
    wrong: 'The email or password is not correct.', emailLink: 'Email me a sign-in link',
    forgot: 'Forgot password?', linkSent: 'Check your email', continue: 'Continue',
    newPassword: 'New password', setPassword: 'Set password',
    passwordSet: 'Your new password is set. Sign in with it.', error: 'Sign-in cannot continue',
    signOutTitle: 'Sign out?', signOut: 'Sign out', signedOut: 'Signed out',
  },
  es: {
    invite: 'Acepte su invitación', accept: 'Aceptar la invitación',
    signIn: 'Iniciar sesión', email: 'Correo electrónico', password: 'Contraseña',
    wrong: 'El correo electrónico o la contraseña no son correctos.',
    emailLink: 'Enviarme un enlace de inicio de sesión', forgot: '¿Olvidó su contraseña?',
    linkSent: 'Revise su correo', continue: 'Continuar', newPassword: 'Nueva contraseña',
    setPassword: 'Establecer contraseña',
    passwordSet: 'Su nueva contraseña está establecida. Inicie sesión con ella.',
    error: 'No se puede continuar con el inicio de sesión', signOutTitle: '¿Cerrar sesión?',
    signOut: 'Cerrar sesión', signedOut: 'Sesión cerrada',
  },
  ja: {
    invite: '招待を承諾する', accept: '招待を承諾',
    signIn: 'サインイン', email: 'メールアドレス', password: 'パスワード',
    wrong: 'メールアドレスまたはパスワードが正しくありません。',
    emailLink: 'サインインリンクをメールで送る', forgot: 'パスワードをお忘れですか?',
    linkSent: 'メールを確認してください', continue: '続行', newPassword: '新しいパスワード',
    setPassword: 'パスワードを設定', passwordSet: '新しいパスワードが設定されました。サインインしてください。',
    error: 'サインインを続行できません', signOutTitle: 'サインアウトしますか?', signOut: 'サインアウト',
    signedOut: 'サインアウトしました',
  },
  pt: {
    invite: 'Aceite o seu convite', accept: 'Aceitar o convite',
    signIn: 'Entrar', email: 'E-mail', password: 'Senha',
    wrong: 'O e-mail ou a senha não estão corretos.', emailLink: 'Enviar-me um link de login',
    forgot: 'Esqueceu a senha?', linkSent: 'Verifique o seu e-mail', continue: 'Continuar',
    newPassword: 'Nova senha', setPassword: 'Definir senha',
    passwordSet: 'A sua nova senha foi definida. Entre com ela.',
    error: 'Não é possível continuar o login', signOutTitle: 'Sair?', signOut: 'Sair',
    signedOut: 'Sessão encerrada',
  },
};

const started = Date.now();
const failures = [];
const audited = [];
const fail = (where, what) => failures.push(`${where}: ${what}`);

// The line protocol with the Rust test.
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function ask(question) {
  process.stdout.write(JSON.stringify({ ask: question }) + '\n');
  const { value, done } = await lines.next();
  if (done) throw new Error('the test closed stdin');
  return JSON.parse(value);
}

const browser = await chromium.launch({ executablePath: plan.chromium });
// The copy of each page that axe audits: scripts run here (axe's own), so a name that were
// not escaped would also run here, and open a dialog.
const auditPage = await (await browser.newContext()).newPage();
auditPage.on('dialog', (d) => {
  fail('audit', `a script of the page ran: dialog "${d.message()}"`);
  d.dismiss();
});

// The client's redirect URIs answer here: a plain page on loopback (the client's own code would
// read the code and state from its address).
const visits = [];
const client = createServer((req, res) => {
  if (req.url !== '/favicon.ico') visits.push(req.url);
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end('<!DOCTYPE html><html lang="en"><title>The client</title><main><h1>The client</h1></main></html>');
});
await new Promise((ok) => client.listen(plan.client_port, '127.0.0.1', ok));

// People who have left, their browsers kept: a new page costs Chromium about half a second of
// CPU (docs/architecture.md, "How long the binary takes"), and a context whose cookies are
// cleared holds nothing of its last person (the pages run no script and are never cached).
const left = [];

/// A browser with JavaScript off and no cookies.
async function person() {
  const kept = left.pop();
  if (kept) {
    await kept.context.clearCookies();
    kept.document = null;
    return kept;
  }
  const context = await browser.newContext({ javaScriptEnabled: false, locale: 'en-US' });
  const page = await context.newPage();
  const state = { page, context, document: null };
  page.on('dialog', (d) => {
    fail('page', `a script ran: dialog "${d.message()}"`);
    d.dismiss();
  });
  page.on('response', (r) => {
    const req = r.request();
    if (req.isNavigationRequest() && req.frame() === page.mainFrame() && r.url().startsWith(plan.base)) {
      state.document = r;
    }
  });
  return state;
}

/// `p` is done: its browser waits for the next person.
function leave(p) {
  left.push(p);
}

async function submit(p, button) {
  await Promise.all([p.page.waitForNavigation({ waitUntil: 'load' }), button.click()]);
}

/// Checks the page now shown as `name` in `lang`: its headers, language, the organization's
/// name as text, no script at all, axe; and takes its screenshot.
async function check(p, lang, name, { status = 200, title } = {}) {
  const where = `${lang}/${name}`;
  const { page } = p;
  const r = p.document;
  if (!r) return fail(where, 'no document from the server');
  if (r.status() !== status) fail(where, `status ${r.status()}, not ${status}`);
  const h = await r.allHeaders();
  const csp = h['content-security-policy'] || '';
  for (const part of ["default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", 'form-action ']) {
    if (!csp.includes(part)) fail(where, `CSP without ${part}: ${csp}`);
  }
  if (/unsafe-inline|unsafe-eval|script-src/.test(csp)) fail(where, `CSP allows scripts: ${csp}`);
  if (h['x-frame-options'] !== 'DENY') fail(where, `X-Frame-Options ${h['x-frame-options']}`);
  if (h['referrer-policy'] !== 'no-referrer') fail(where, `Referrer-Policy ${h['referrer-policy']}`);
  if (!(h['cache-control'] || '').includes('no-store')) fail(where, `Cache-Control ${h['cache-control']}`);
  if (!(h['content-type'] || '').startsWith('text/html')) fail(where, `Content-Type ${h['content-type']}`);
  if ((await page.getAttribute('html', 'lang')) !== lang) fail(where, 'html lang');
  if (title && (await page.title()) !== title) fail(where, `title "${await page.title()}", not "${title}"`);
  if ((await page.locator('script').count()) !== 0) fail(where, 'a script element');
  const named = page.getByText(plan.name, { exact: true });
  if ((await named.count()) !== 1 || !(await named.isVisible())) {
    fail(where, `the organization's name ${plan.name} is not shown as text`);
  }
  await screenshot(page, join(plan.screenshots, `${lang}-${name}.png`));
  const result = await audit(auditPage, await page.content());
  for (const v of result.violations) {
    if (v.impact === 'serious' || v.impact === 'critical') {
      fail(where, `axe ${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
    }
  }
  audited.push({ page: where, passes: result.passes.length, violations: result.violations.map((v) => `${v.impact} ${v.id}`) });
}

/// The client got the browser back: the code and state of the last visit.
function landed(p, where, state) {
  const u = new URL(p.page.url());
  if (!u.href.startsWith(plan.orgs[0].redirect_uri)) return fail(where, `not at the client: ${u.href}`), null;
  if (u.searchParams.get('state') !== state) fail(where, `state ${u.searchParams.get('state')}, not ${state}`);
  if (u.searchParams.get('error')) fail(where, `error ${u.searchParams.get('error')}`);
  return u;
}

const outcome = {};
for (const o of plan.orgs) {
  const T = TEXT[o.lang];
  const L = o.lang;
  const out = (outcome[L] = {});

  // 1. Password: a wrong one shows the error on the page; the right one lands at the client.
  const a = await person();
  await a.page.goto(plan.base + o.urls.password);
  await check(a, L, 'sign-in', { title: T.signIn });
  await a.page.getByLabel(T.email, { exact: true }).fill(o.email);
  await a.page.getByLabel(T.password, { exact: true }).fill('Not-the-password1');
  await submit(a, a.page.getByRole('button', { name: T.signIn, exact: true }));
  await check(a, L, 'wrong-password', { status: 401, title: T.signIn });
  if (!(await a.page.getByRole('alert').innerText()).includes(T.wrong)) fail(`${L}/wrong-password`, 'no error shown');
  await a.page.getByLabel(T.password, { exact: true }).fill(o.password);
  await submit(a, a.page.getByRole('button', { name: T.signIn, exact: true }));
  const code = landed(a, `${L}/password`, 'st-password');
  if (code) out.password = await ask({ code: code.searchParams.get('code'), iss: code.searchParams.get('iss'), lang: L, flow: 'password' });

  // 2. Logout from the client without an ID token: the person is asked first.
  await a.page.goto(plan.base + o.urls.logout);
  await check(a, L, 'sign-out', { title: T.signOutTitle });
  await submit(a, a.page.getByRole('button', { name: T.signOut, exact: true }));
  const bye = a.page.url();
  if (!bye.startsWith(o.logout_target) || new URL(bye).searchParams.get('state') !== 'st-bye') {
    fail(`${L}/sign-out`, `not back at ${o.logout_target}: ${bye}`);
  }
  out.logged_out = await ask({ logged_out: L });
  leave(a);

  // 3. An emailed sign-in link, opened in the same browser, lands at the client.
  const m = await person();
  await m.page.goto(plan.base + o.urls.mail);
  await m.page.getByLabel(T.email, { exact: true }).fill(o.email);
  await submit(m, m.page.getByRole('button', { name: T.emailLink, exact: true }));
  await check(m, L, 'link-sent', { title: T.linkSent });
  const link = await ask({ link: 'auth/link', to: o.email });
  await m.page.goto(link.url);
  await check(m, L, 'link-landing', { title: T.signIn });
  await submit(m, m.page.getByRole('button', { name: T.continue, exact: true }));
  const mailed = landed(m, `${L}/link`, 'st-mail');
  if (mailed) out.mail = await ask({ code: mailed.searchParams.get('code'), iss: mailed.searchParams.get('iss'), lang: L, flow: 'mail' });
  leave(m);

  // 4. Forgot password: the emailed link sets a new one, the form comes back, the new one signs in.
  const r = await person();
  await r.page.goto(plan.base + o.urls.reset);
  await r.page.getByLabel(T.email, { exact: true }).fill(o.email);
  await submit(r, r.page.getByRole('button', { name: T.forgot, exact: true }));
  await check(r, L, 'reset-sent', { title: T.linkSent });
  const reset = await ask({ link: 'auth/reset', to: o.email });
  await r.page.goto(reset.url);
  await check(r, L, 'reset', { title: T.newPassword });
  await r.page.getByLabel(T.newPassword, { exact: true }).fill(o.new_password);
  await submit(r, r.page.getByRole('button', { name: T.setPassword, exact: true }));
  await check(r, L, 'password-set', { title: T.signIn });
  if (!(await r.page.getByText(T.passwordSet).count())) fail(`${L}/password-set`, 'no notice');
  await r.page.getByLabel(T.email, { exact: true }).fill(o.email);
  await r.page.getByLabel(T.password, { exact: true }).fill(o.new_password);
  await submit(r, r.page.getByRole('button', { name: T.signIn, exact: true }));
  const after = landed(r, `${L}/reset`, 'st-reset');
  if (after) out.reset = await ask({ code: after.searchParams.get('code'), iss: after.searchParams.get('iss'), lang: L, flow: 'reset' });

  // 5. Logout with nowhere to return to: asked, then the signed-out page.
  await r.page.goto(plan.base + o.urls.logout_silent);
  await submit(r, r.page.getByRole('button', { name: T.signOut, exact: true }));
  await check(r, L, 'signed-out', { title: T.signedOut });

  // 6. An org-user-management invitation, its emailed link carrying an authorization request:
  //    the landing page asks for a first password and goes on to the client.
  const v = await person();
  const invitation = await ask({ link: 'login-actions/verify', to: o.invitee });
  await v.page.goto(`${invitation.url}&${o.invitation_request}`);
  await check(v, L, 'invitation', { title: T.invite });
  await v.page.getByLabel(T.newPassword, { exact: true }).fill(o.new_password);
  await submit(v, v.page.getByRole('button', { name: T.accept, exact: true }));
  const accepted = landed(v, `${L}/invitation`, 'st-invite');
  if (accepted) out.invitation = await ask({ code: accepted.searchParams.get('code'), iss: accepted.searchParams.get('iss'), lang: L, flow: 'invitation' });
  leave(v);

  // 7. An unknown client: a page that says so, never a redirect.
  await r.page.goto(plan.base + o.urls.unknown_client);
  await check(r, L, 'error', { status: 400, title: T.error });
  if (!r.page.url().startsWith(plan.base)) fail(`${L}/error`, `left for ${r.page.url()}`);
  leave(r);
}

await browser.close();
client.close();
if (visits.length !== 4 * 5) fail('client', `the client was visited ${visits.length} times, not 20: ${visits.join(' ')}`);
const seconds = (Date.now() - started) / 1000;
process.stdout.write(JSON.stringify({ done: { outcome, audited, failures, seconds } }) + '\n');
if (failures.length) {
  process.stderr.write(failures.join('\n') + '\n');
  process.exit(1);
}
process.exit(0);
