// The upstream OpenID Connect providers of Roster's tests: npm oidc-provider (the certified
// Node implementation), unchanged, on loopback. Each stands in for Google
// (ROSTER_GOOGLE_ISSUER) and for an organization's own provider.
//
// One process serves the whole test run (node and oidc-provider take about a second to
// start); each test has its own provider in it, on its own port, with its own issuer and
// clients. Protocol with the tests, one JSON object a line, requests handled one at a time in
// the order they came, each answered once with the request's "id" (the tests wait for the
// answers they need and pass over the others, such as a close's):
//   {"id": n, "new": true}                     → {"id": n, "issuer": "http://127.0.0.1:<port>"}
//                                                (a new port)
//   {"id": n, "issuer": ..., "clients": [...]} → {"id": n, "ready": issuer} (that port's
//                                                provider starts, with its registered clients:
//                                                Roster's client ids, secrets and callback URIs)
//   {"id": n, "close": issuer}                 → {"id": n, "closed": issuer} (the test ended;
//                                                its port closes)
// A request that fails is answered {"id": n, "error": "..."}.
//
// People sign in through its own login form (devInteractions: any password). The login names
// the upstream account and its claims: "ana@acme.test" has that address, verified;
// "unverified:ana@acme.test" has it unverified.
import http from 'node:http';
import readline from 'node:readline';

import Provider from 'oidc-provider';

function claimsOf(login) {
  const unverified = login.startsWith('unverified:');
  const email = unverified ? login.slice('unverified:'.length) : login;
  return { sub: login, email, email_verified: !unverified };
}

function provider(issuer, clients) {
  const p = new Provider(issuer, {
    clients: clients.map((c) => ({
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      ...c,
    })),
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    cookies: { keys: ['roster-tests-only-not-a-secret'] },
    findAccount: async (ctx, id) => ({
      accountId: id,
      claims: async () => claimsOf(id),
    }),
    // Like Google: the address is in the ID token, not only at userinfo.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
  });
  p.on('server_error', (ctx, err) => { process.stderr.write(`${err.stack}\n`); });
  return p;
}

const answer = (v) => process.stdout.write(`${JSON.stringify(v)}\n`);
// The servers by issuer; a server answers nothing until its provider is registered.
const servers = new Map();

async function handle(msg) {
  if (msg.new) {
    const server = http.createServer();
    await new Promise((ok) => { server.listen(0, '127.0.0.1', ok); });
    const issuer = `http://127.0.0.1:${server.address().port}`;
    servers.set(issuer, server);
    answer({ id: msg.id, issuer });
  } else if (msg.clients) {
    servers.get(msg.issuer).on('request', provider(msg.issuer, msg.clients).callback());
    answer({ id: msg.id, ready: msg.issuer });
  } else if (msg.close) {
    const server = servers.get(msg.close);
    servers.delete(msg.close);
    server?.close();
    server?.closeAllConnections();
    answer({ id: msg.id, closed: msg.close });
  } else {
    throw new Error(`unknown request ${JSON.stringify(msg)}`);
  }
}

// Requests in the order they came, each finished before the next.
let queue = Promise.resolve();
const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  let id = null;
  queue = queue
    .then(() => {
      const msg = JSON.parse(line);
      id = msg.id ?? null;
      return handle(msg);
    })
    .catch((err) => {
      process.stderr.write(`${err.stack}\n`);
      answer({ id, error: String(err) });
    });
});
// The test run ends: so do the providers.
lines.on('close', () => { process.exit(0); });
