// The upstream OpenID Connect provider of Roster's tests: npm oidc-provider (the certified
// Node implementation), unchanged, on loopback. It stands in for Google
// (ROSTER_GOOGLE_ISSUER) and for an organization's own provider.
//
// Protocol with the test: listens on a free port and prints {"issuer": ...}; then reads one
// line {"clients": [...]} (its registered clients: Roster's client ids, secrets and callback
// URIs), starts the provider and prints {"ready": true}.
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

const server = http.createServer();
server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
  const lines = readline.createInterface({ input: process.stdin });
  const line = await new Promise((resolve) => { lines.once('line', resolve); });
  const { clients } = JSON.parse(line);
  const provider = new Provider(issuer, {
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
  provider.on('server_error', (ctx, err) => { process.stderr.write(`${err.stack}\n`); });
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
});

// The test ends: so does the provider.
process.stdin.on('end', () => { process.exit(0); });
