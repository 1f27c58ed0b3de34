// A real OpenID Connect provider (node-oidc-provider) for the portal's tests, on 127.0.0.1 only.
//
// Its whole configuration comes as JSON in OIDC_TEST_CONFIG (tests/oidc.py writes it):
//   {"port": 43123, "issuer": "http://127.0.0.1:43123",
//    "clients": [{"client_id", "client_secret", "redirect_uris": [...], "token_endpoint_auth_method"?}],
//    "accounts": {"<login>": {"sub", "email", "email_verified", "name", "given_name", "family_name"}},
//    "ttl": {"IdToken": 60, ...}}
//
// The provider's own development pages are replaced by two small ones of ours, so a flow is the
// same every time: a login form (any login of the accounts map), then consent given at once for
// whatever the client asked, then back to the client. Everything else is oidc-provider itself:
// PKCE (S256, required), codes that work once, RS256 ID tokens, discovery, JWKS, userinfo.
// Prints "READY <issuer>" once listening; ends on SIGTERM.

import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider, { interactionPolicy } from 'oidc-provider';

const config = JSON.parse(process.env.OIDC_TEST_CONFIG ?? 'null');
if (!config?.port || !config?.issuer) {
  console.error('OIDC_TEST_CONFIG must be JSON with at least "port" and "issuer"');
  process.exit(2);
}

const accountsBySub = new Map(Object.values(config.accounts ?? {}).map((account) => [account.sub, account]));

const escapeHtml = (value) => String(value).replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)} – test OpenID provider</title></head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>`;
}

// Errors the provider cannot send back to the client (a bad client_id or redirect_uri, an expired
// interaction) are shown on a page; tests/oidc.py reads the ids error and error_description.
function errorPage({ error, error_description: description }) {
  return page(
    'Sign-in failed',
    `<dl>
<dt>error</dt><dd id="error">${escapeHtml(error)}</dd>
<dt>error_description</dt><dd id="error_description">${escapeHtml(description ?? '')}</dd>
</dl>`,
  );
}

function loginPage(uid, clientId, { login = '', error = '' } = {}) {
  const alert = error ? `<p id="login-error" role="alert">${escapeHtml(error)}</p>` : '';
  return page(
    'Sign in',
    `<p>Signing in to <strong>${escapeHtml(clientId)}</strong>.</p>
${alert}
<form method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
<label for="login">Login</label>
<input id="login" name="login" value="${escapeHtml(login)}" required autofocus>
<button type="submit">Sign in</button>
</form>`,
  );
}

// Every authorization request asks who signs in, as if the client had sent prompt=login: a test
// chooses its person each time, whatever sign-in the same browser made before. The check is met
// once this very request's login form has been submitted (then the result carries a login). When
// the same browser signs a different person in, oidc-provider first shows its own sign-out
// confirmation, a form that submits itself (tests/oidc.py's drive_login submits it too).
const policy = interactionPolicy.base();
policy.get('login').checks.add(
  new interactionPolicy.Check('login_every_time', 'the test provider asks for a login on each request', (ctx) =>
    ctx.oidc.result?.login ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT,
  ),
);

// The key goes through PEM because exporting a JWK straight from generateKeyPairSync's key object
// can deadlock Node.js 20: garbage collection frees the key-generation job, which takes the lock
// the export holds (seen here in about one start in thirty).
const { privateKey: privatePem } = crypto.generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const signingKey = {
  ...crypto.createPrivateKey(privatePem).export({ format: 'jwk' }),
  kid: crypto.randomUUID(),
  use: 'sig',
  alg: 'RS256',
};

const provider = new Provider(config.issuer, {
  clients: (config.clients ?? []).map((client) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    application_type: 'web',
    ...client,
  })),
  // Clients read the profile and e-mail claims from the ID token, as from an IdP that puts them
  // there (oidc-provider's default keeps scope-requested claims for userinfo only).
  conformIdTokenClaims: false,
  responseTypes: ['code'],
  scopes: ['openid', 'profile', 'email'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name'],
    email: ['email', 'email_verified'],
  },
  async findAccount(ctx, sub) {
    const account = accountsBySub.get(sub);
    if (!account) return undefined;
    return { accountId: sub, claims: () => ({ ...account }) };
  },
  // Required of every client; S256 is the only method oidc-provider 9 knows.
  pkce: { required: () => true },
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  features: { devInteractions: { enabled: false } },
  interactions: { policy, url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = errorPage(out);
  },
  // Lifetimes of our choosing (oidc-provider notices each default it has to use), then the test's.
  ttl: { Grant: 3600, Interaction: 600, Session: 3600, ...config.ttl },
});

// Redirect URIs: a registered one matches exactly, as oidc-provider does; besides, an http URI on a
// loopback host matches a registered one whatever its port. That is RFC 8252's rule, which
// oidc-provider applies to native clients only, extended here to these web test clients because
// the portal's live test server gets a new port each run.
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const withoutLoopbackPort = (uri) => {
  const url = URL.parse(uri);
  if (!url || url.protocol !== 'http:' || !LOOPBACK_HOSTS.has(url.hostname)) return undefined;
  url.port = '';
  return url.href;
};
const exactRedirectUriAllowed = provider.Client.prototype.redirectUriAllowed;
provider.Client.prototype.redirectUriAllowed = function redirectUriAllowed(uri) {
  if (exactRedirectUriAllowed.call(this, uri)) return true;
  const portless = withoutLoopbackPort(uri);
  return portless !== undefined && this.redirectUris.some((registered) => withoutLoopbackPort(registered) === portless);
};

// What went wrong reaches the log file tests/oidc.py keeps under test-artifacts/.
for (const event of ['server_error', 'authorization.error', 'grant.error', 'userinfo.error']) {
  provider.on(event, (ctx, error) => {
    console.error(`${event}: ${error.error ?? error.name}: ${error.error_description ?? error.message}`);
  });
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function sendHtml(res, status, html) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

// Consent is given at once for exactly what the consent prompt says is missing.
async function grantConsent(details) {
  const { prompt, params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const savedGrantId = await grant.save();
  return grantId ? {} : { grantId: savedGrantId };
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) {
    sendHtml(res, 400, errorPage({ error: 'invalid_request', error_description: 'interaction mismatch' }));
    return;
  }
  const clientId = details.params.client_id;
  const promptName = details.prompt.name;

  if (req.method === 'GET' && action === '' && promptName === 'login') {
    sendHtml(res, 200, loginPage(uid, clientId));
  } else if (req.method === 'GET' && action === '' && promptName === 'consent') {
    const consent = await grantConsent(details);
    // The login of this same authorization request (the last submission) stays in the result.
    await provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
  } else if (req.method === 'POST' && action === 'login' && promptName === 'login') {
    const login = (await readForm(req)).get('login')?.trim() ?? '';
    const account = config.accounts?.[login];
    if (!account) {
      sendHtml(res, 200, loginPage(uid, clientId, { login, error: `Unknown login: ${login}` }));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
  } else {
    sendHtml(res, 404, errorPage({ error: 'invalid_request', error_description: `no ${req.method} ${req.url} here` }));
  }
}

const INTERACTION_PATH = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login))?$/;
const providerCallback = provider.callback();

const server = http.createServer(async (req, res) => {
  res.on('finish', () => console.log(`${req.method} ${req.url.split('?')[0]} ${res.statusCode}`));
  const match = INTERACTION_PATH.exec(new URL(req.url, config.issuer).pathname);
  if (!match) {
    providerCallback(req, res);
    return;
  }
  try {
    await interaction(req, res, match[1], match[2] ?? '');
  } catch (error) {
    // Mostly an interaction that expired or a cookie the client did not send back.
    console.error(`interaction error: ${error.name}: ${error.error_description ?? error.message}`);
    sendHtml(res, 400, errorPage({ error: error.error ?? 'server_error', error_description: error.error_description ?? error.message }));
  }
});

server.listen(config.port, '127.0.0.1', () => {
  console.log(`READY ${config.issuer}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    // Kept-alive connections of clients would otherwise hold the close.
    server.closeAllConnections();
  });
}
