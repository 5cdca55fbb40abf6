// oidc-provider (the OpenID-certified Node.js provider) configured as a
// brand's identity provider, for standin's tests against an IdP it did not
// write.
//
//   node server.mjs            listens on 127.0.0.1, a free port
//   PORT=9000 MODE=unusual node server.mjs
//
// Prints `oidc-provider: <issuer>` once listening. MODE picks a brand:
//
//   plain    RS256 ID tokens; refresh tokens; client_secret_basic; access
//            tokens opaque, or RFC 9068 JWTs for clients registered with
//            `access_token_audience` (standin's brand API wants `brand-api`).
//   unusual  legal but unusual: ES256 ID tokens, opaque access tokens, no
//            refresh token, only client_secret_post advertised.
//
// Both: an HTML login form that checks the password (and an anti-CSRF
// field, and prefills the login hint), a consent page,
// PKCE S256, RFC 9207 `iss` in authorization responses, client
// credentials, introspection and revocation. Users: alice /
// alice-password and bob / bob-password, with the subjects of standin's
// default brand.
//
// Clients are registered at start (CLIENTS: a JSON array of client
// metadata) or at run time, when the relying party's callback URL is known
// only once it listens: POST /test-admin/clients with the client's
// metadata as JSON. Loopback only; test-only keys, generated at start.

import crypto from 'node:crypto';
import http from 'node:http';
import { generateKeyPair, exportJWK } from 'jose';
import Provider from 'oidc-provider';

const MODE = process.env.MODE ?? 'plain';
if (!['plain', 'unusual'].includes(MODE)) {
  console.error(`MODE must be plain or unusual, not ${MODE}`);
  process.exit(2);
}
const UNUSUAL = MODE === 'unusual';
// The brand API as a resource indicator (RFC 8707: an absolute URI); its
// tokens' audience is `brand-api`, what standin's brand API expects.
const RESOURCE = 'urn:standin:brand-api';

const USERS = {
  alice: {
    password: 'alice-password',
    sub: 'c0ffee00-a11c-4e00-8000-000000000001',
    claims: { name: 'Alice Example', given_name: 'Alice', family_name: 'Example', email: 'alice@example.com', email_verified: true },
  },
  bob: {
    password: 'bob-password',
    sub: 'c0ffee00-b0b0-4e00-8000-000000000002',
    claims: { name: 'Bob Example', given_name: 'Bob', family_name: 'Example', email: 'bob@example.com', email_verified: true },
  },
};
const BY_SUB = Object.fromEntries(Object.values(USERS).map((u) => [u.sub, u]));

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escape(title)}</title></head><body><h1>${escape(title)}</h1>${body}</body></html>`;
}

function send(res, status, html) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-frame-options': 'DENY' });
  res.end(html);
}

async function form(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('body too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const server = http.createServer();
await new Promise((resolve) => server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const rsa = await generateKeyPair('RS256', { extractable: true });
const ec = await generateKeyPair('ES256', { extractable: true });
const keys = [
  { ...(await exportJWK(rsa.privateKey)), kid: 'rs256-1', alg: 'RS256', use: 'sig' },
  { ...(await exportJWK(ec.privateKey)), kid: 'es256-1', alg: 'ES256', use: 'sig' },
];

// The audience a client's access tokens are JWTs for, if it asked for any.
const audienceOf = (client) => client?.metadata().access_token_audience;

const provider = new Provider(issuer, {
  jwks: { keys },
  clients: [],
  clientAuthMethods: UNUSUAL ? ['client_secret_post'] : ['client_secret_basic', 'client_secret_post'],
  cookies: { keys: ['standin-peer-test-cookie-key'] },
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name'],
    email: ['email', 'email_verified'],
  },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'orders:read', 'payments:write'],
  async findAccount(_ctx, sub) {
    const user = BY_SUB[sub];
    if (!user) return undefined;
    return { accountId: sub, async claims() { return { sub, ...user.claims }; } };
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  extraClientMetadata: { properties: ['access_token_audience'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // plain: every access token is an RFC 9068 JWT for the brand API.
      async defaultResource(ctx, client) {
        return !UNUSUAL && audienceOf(client ?? ctx.oidc?.client) ? RESOURCE : undefined;
      },
      async useGrantedResource() { return true; },
      async getResourceServerInfo(_ctx, resource, client) {
        if (resource !== RESOURCE) throw new Provider.errors.InvalidTarget();
        return {
          scope: 'orders:read payments:write profile',
          audience: audienceOf(client ?? _ctx.oidc?.client) ?? 'brand-api',
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  pkce: { required: () => true },
  async issueRefreshToken(_ctx, client) {
    return !UNUSUAL && client.grantTypeAllowed('refresh_token');
  },
  ttl: { AccessToken: 300, ClientCredentials: 300, IdToken: 300, AuthorizationCode: 60, Interaction: 600, Session: 3600, Grant: 3600, RefreshToken: 86400 },
});
provider.proxy = false;

// Anti-CSRF tokens by interaction: the forms carry one, a post must too.
const CSRF = new Map();
function csrfFor(uid) {
  if (!CSRF.has(uid)) CSRF.set(uid, crypto.randomBytes(24).toString('base64url'));
  return CSRF.get(uid);
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, page('Error', '<p>This sign-in is not current.</p>'));
  const { prompt, params } = details;
  if (req.method === 'GET') {
    if (prompt.name === 'login') return send(res, 200, loginPage(uid, params));
    return send(res, 200, consentPage(uid, params));
  }
  const body = await form(req);
  const expected = CSRF.get(uid);
  const given = body.get('csrf') ?? '';
  if (!expected || expected.length !== given.length || !crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(given))) {
    return send(res, 400, page('Error', '<p>invalid_request: the form is not one this provider showed (anti-CSRF check failed).</p>'));
  }
  if (action === 'login') {
    const user = USERS[body.get('username') ?? ''];
    if (!user || user.password !== body.get('password')) {
      return send(res, 200, loginPage(uid, params, 'Wrong user name or password.'));
    }
    return provider.interactionFinished(req, res, { login: { accountId: user.sub } }, { mergeWithLastSubmission: false });
  }
  if (action === 'confirm') {
    if (body.get('decision') !== 'allow') {
      return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the user did not allow access' }, { mergeWithLastSubmission: false });
    }
    const { grantId, session } = details;
    const grant = grantId ? await provider.Grant.find(grantId) : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    if (missing.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    const saved = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId: saved } }, { mergeWithLastSubmission: true });
  }
  return send(res, 404, page('Not found', ''));
}

function loginPage(uid, params, error) {
  return page('Sign in', `${error ? `<p role="alert">${escape(error)}</p>` : ''}
<p>Sign in to continue to ${escape(params.client_id)}.</p>
<form method="post" action="/interaction/${escape(uid)}/login">
<input type="hidden" name="csrf" value="${escape(csrfFor(uid))}">
<label>User name <input name="username" autocomplete="username" value="${escape(params.login_hint ?? '')}"></label>
<label>Password <input type="password" name="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button>
</form>`);
}

function consentPage(uid, params) {
  return page('Allow access', `<p>${escape(params.client_id)} asks for: ${escape(params.scope ?? '')}</p>
<form method="post" action="/interaction/${escape(uid)}/confirm">
<input type="hidden" name="csrf" value="${escape(csrfFor(uid))}">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>`);
}

async function register(metadata) {
  if (UNUSUAL) {
    metadata.token_endpoint_auth_method ??= 'client_secret_post';
    metadata.id_token_signed_response_alg ??= 'ES256';
  }
  const client = new provider.Client(metadata);
  await provider.Client.adapter.upsert(client.clientId, client.metadata());
}

for (const metadata of JSON.parse(process.env.CLIENTS ?? '[]')) await register(metadata);

async function addClient(req, res) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  let metadata;
  try {
    metadata = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    await register(metadata);
  } catch (e) {
    res.writeHead(400, { 'content-type': 'application/json' });
    return res.end(JSON.stringify({ error: 'invalid_client_metadata', error_description: String(e.error_description ?? e.message) }));
  }
  res.writeHead(201, { 'content-type': 'application/json' });
  return res.end(JSON.stringify({ client_id: metadata.client_id }));
}

const callback = provider.callback();
server.on('request', async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    if (url.pathname === '/test-admin/clients' && req.method === 'POST') return await addClient(req, res);
    const m = url.pathname.match(/^\/interaction\/([^/]+)(?:\/(login|confirm))?$/);
    if (m) return await interaction(req, res, m[1], m[2]);
    return callback(req, res);
  } catch (e) {
    if (!res.headersSent) send(res, 400, page('Error', `<p>${escape(e.error_description ?? e.message)}</p>`));
    else res.end();
  }
});

console.log(`oidc-provider: ${issuer}`);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
