/**
 * IIIF Authorization Flow 2.0: the signed cookie and token, request parsing, the service description, the pages,
 * and every service answered by answerAuthRequest against a small fake item store (restricted-size and private
 * images included), plus the secrets' sources and the Lambda adapter.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ACCESS_COOKIE,
  AUTH2_CONTEXT,
  accessCookieFrom,
  accessCookiesFrom,
  accessTokenError,
  bearerToken,
  escapeHtml,
  isAuthorised,
  isPlainOrigin,
  issueAccessToken,
  loginPage,
  parseSessionSeconds,
  probeResult,
  probeServiceFor,
  signAccessCookie,
  signedInPage,
  tokenPage,
  verifyAccessCookie,
  verifyAccessToken,
  type AuthProbeResult2,
} from '../../functions/core/auth.ts';
import type { AccessDecision } from '../../functions/core/access-policy.ts';
import type { ImageItem, PublishedPyramid } from '../../functions/core/image-item.ts';
import { answerAuthRequest, readBoundedBody, type AuthDeps, type AuthRequest } from '../../functions/auth/answer-auth-request.ts';
import { createAuthHandler, parseAuthSettings } from '../../functions/auth/handler.ts';
import { localSecrets, parseAuthSecrets, secretsFromSecretsManager, signingKeyFromSecretsManager } from '../../functions/auth/secrets.ts';

const KEY = 'k'.repeat(16) + 'signing-key-for-tests-only-0123456789';
const OTHER_KEY = 'another-signing-key-of-sufficient-length-000';
const NOW = new Date('2026-03-01T10:00:00Z');
const HOUR = 3600_000;
const at = (ms: number) => new Date(NOW.getTime() + ms);

describe('signed session cookie and access token', () => {
  it('verifies what it signed, until it expires', () => {
    const cookie = signAccessCookie(KEY, { issuedAt: NOW, expiresAt: at(8 * HOUR) });
    expect(cookie).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    const ok = verifyAccessCookie(KEY, cookie, at(HOUR));
    expect(ok.valid).toBe(true);
    expect(ok.valid && ok.expiresAt.toISOString()).toBe(at(8 * HOUR).toISOString());
    expect(verifyAccessCookie(KEY, cookie, at(8 * HOUR))).toEqual({ valid: false, reason: 'expired' });
    const token = issueAccessToken(KEY, { issuedAt: NOW, expiresAt: at(HOUR) });
    expect(verifyAccessToken(KEY, token, at(HOUR - 1000)).valid).toBe(true);
    expect(verifyAccessToken(KEY, token, at(HOUR + 1000))).toEqual({ valid: false, reason: 'expired' });
  });

  it('never signs the same value twice (a random nonce)', () => {
    const times = { issuedAt: NOW, expiresAt: at(HOUR) };
    expect(signAccessCookie(KEY, times)).not.toBe(signAccessCookie(KEY, times));
  });

  it('refuses a tampered payload or signature, another key, garbage and nothing', () => {
    const cookie = signAccessCookie(KEY, { issuedAt: NOW, expiresAt: at(HOUR) });
    const [payload, mac] = cookie.split('.') as [string, string];
    // A later expiry, re-encoded but not re-signed.
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), exp: 9_999_999_999 })).toString('base64url');
    expect(verifyAccessCookie(KEY, `${forged}.${mac}`, NOW)).toEqual({ valid: false, reason: 'signature' });
    const flipped = mac.slice(0, 10) + (mac[10] === 'A' ? 'B' : 'A') + mac.slice(11);
    expect(verifyAccessCookie(KEY, `${payload}.${flipped}`, NOW)).toEqual({ valid: false, reason: 'signature' });
    expect(verifyAccessCookie(OTHER_KEY, cookie, NOW)).toEqual({ valid: false, reason: 'signature' });
    for (const junk of ['x', 'a.b', `${payload}.${mac}.x`, `${payload}`, '..', 'é.é', `${'a'.repeat(600)}.${mac}`]) {
      expect(verifyAccessCookie(KEY, junk, NOW)).toEqual({ valid: false, reason: 'malformed' });
    }
    expect(verifyAccessCookie(KEY, undefined, NOW)).toEqual({ valid: false, reason: 'missing' });
    expect(verifyAccessCookie(KEY, '', NOW)).toEqual({ valid: false, reason: 'missing' });
  });

  it('never takes a token for a cookie, nor a cookie for a token', () => {
    const token = issueAccessToken(KEY, { issuedAt: NOW, expiresAt: at(HOUR) });
    const cookie = signAccessCookie(KEY, { issuedAt: NOW, expiresAt: at(HOUR) });
    expect(verifyAccessCookie(KEY, token, NOW)).toEqual({ valid: false, reason: 'signature' });
    expect(verifyAccessToken(KEY, cookie, NOW)).toEqual({ valid: false, reason: 'signature' });
    expect(isAuthorised({ cookie: `${ACCESS_COOKIE}=${token}` }, KEY, NOW)).toBe(false);
  });
});

describe('reading requests', () => {
  it('finds the access cookie among others, quoted, spaced or repeated', () => {
    expect(accessCookieFrom(undefined)).toBeUndefined();
    expect(accessCookieFrom('')).toBeUndefined();
    expect(accessCookieFrom(`a=1; ${ACCESS_COOKIE}=v1; b=2`)).toBe('v1');
    expect(accessCookieFrom(`${ACCESS_COOKIE}="v2"`)).toBe('v2');
    expect(accessCookieFrom(`;;x-${ACCESS_COOKIE}=no;  ${ACCESS_COOKIE} = v3 ;junk`)).toBe('v3');
    expect(accessCookiesFrom([`${ACCESS_COOKIE}=a`, `z=1;${ACCESS_COOKIE}=b`])).toEqual(['a', 'b']);
    expect(accessCookieFrom(`${ACCESS_COOKIE}=`)).toBeUndefined();
  });

  it('is authorised by any valid cookie, in the Cookie header or in API Gateway cookies', () => {
    const good = signAccessCookie(KEY, { issuedAt: NOW, expiresAt: at(HOUR) });
    expect(isAuthorised({}, KEY, NOW)).toBe(false);
    expect(isAuthorised({ cookie: `${ACCESS_COOKIE}=stale; ${ACCESS_COOKIE}=${good}` }, KEY, NOW)).toBe(true);
    expect(isAuthorised({}, KEY, NOW, [`${ACCESS_COOKIE}=${good}`])).toBe(true);
    expect(isAuthorised({ cookie: `${ACCESS_COOKIE}=${good}` }, KEY, at(2 * HOUR))).toBe(false);
  });

  it('reads bearer tokens', () => {
    expect(bearerToken('Bearer abc.def')).toBe('abc.def');
    expect(bearerToken('bearer   abc ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });

  it('accepts plain http(s) origins only', () => {
    for (const ok of ['https://example.org', 'http://localhost:8080', 'https://viewer.museum.be:8443', 'http://127.0.0.1:3000']) expect(isPlainOrigin(ok), ok).toBe(true);
    for (const bad of [
      undefined,
      '',
      '*',
      'null',
      'https://example.org/',
      'https://example.org/path',
      'https://example.org?x=1',
      'https://user:pw@example.org',
      'javascript:alert(1)',
      'file:///etc/passwd',
      'ftp://example.org',
      'HTTPS://EXAMPLE.ORG',
      'https://example.org:443',
      'https://example.org"><script>',
    ]) {
      expect(isPlainOrigin(bad), String(bad)).toBe(false);
    }
  });

  it('parses the session length', () => {
    expect(parseSessionSeconds(undefined)).toBe(8 * 3600);
    expect(parseSessionSeconds('0.5')).toBe(1800);
    expect(() => parseSessionSeconds('0')).toThrow(/IMAGEHUB_AUTH_SESSION_HOURS/);
    expect(() => parseSessionSeconds('eight')).toThrow(/IMAGEHUB_AUTH_SESSION_HOURS/);
  });
});

describe('service description and results', () => {
  it('describes probe, access (active), token and logout services without @context', () => {
    const service = probeServiceFor('https://iiif.example.org/', 'mskgent.be:1829-A');
    expect(service.id).toBe('https://iiif.example.org/iiif/auth/probe/mskgent.be:1829-A');
    expect(service.type).toBe('AuthProbeService2');
    const access = service.service[0];
    expect(access).toMatchObject({ id: 'https://iiif.example.org/iiif/auth/login', type: 'AuthAccessService2', profile: 'active' });
    for (const field of ['label', 'heading', 'note', 'confirmLabel'] as const) {
      expect(Object.keys(access[field] ?? {}).sort(), field).toEqual(['en', 'nl']);
    }
    expect(access.label.en).toEqual(['Staff login — imagehub']);
    const [token, logout] = access.service;
    expect(token).toMatchObject({ id: 'https://iiif.example.org/iiif/auth/token', type: 'AuthAccessTokenService2' });
    expect(token.errorHeading?.nl).toHaveLength(1);
    expect(logout).toMatchObject({ id: 'https://iiif.example.org/iiif/auth/logout', type: 'AuthLogoutService2' });
    expect(JSON.stringify(service)).not.toContain('@context');
    expect(probeServiceFor('https://x.org', 'a', { label: { en: ['Other'] } }).service[0].label).toEqual({ en: ['Other'] });
  });

  it('builds probe results with a substitute only when denied', () => {
    const sub = { id: 'https://x/s.jpg', type: 'Image' as const, format: 'image/jpeg', width: 1, height: 1 };
    expect(probeResult({ status: 200, substitute: [sub] })).toEqual({ '@context': AUTH2_CONTEXT, type: 'AuthProbeResult2', status: 200 });
    expect(probeResult({ status: 401, substitute: [sub] }).substitute).toEqual([sub]);
  });
});

describe('pages', () => {
  it('escapes everything it shows', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    const page = loginPage({ origin: 'https://ok.example.org', error: { en: '<b>no</b>', nl: '"nee"' } });
    expect(page.html).toContain('&lt;b&gt;no&lt;/b&gt;');
    expect(page.html).toContain('&quot;nee&quot;');
    expect(page.html).toContain('name="origin" value="https://ok.example.org"');
    expect(page.html).toMatch(/<input type="password" id="password" name="password"/);
    expect(page.html).toContain('<label for="password">');
    // An unusable origin is neither shown nor carried.
    expect(loginPage({ origin: '"><script>alert(1)</script>' }).html).not.toContain('alert');
  });

  it('allows only its own inline script and style, by hash', () => {
    const page = signedInPage();
    expect(page.html).toContain('window.close()');
    expect(page.contentSecurityPolicy).toMatch(/default-src 'none'/);
    expect(page.contentSecurityPolicy).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]{44}'/);
    expect(page.contentSecurityPolicy).toMatch(/frame-ancestors 'none'/);
    expect(page.contentSecurityPolicy).not.toMatch(/unsafe/);
    expect(loginPage().contentSecurityPolicy).toMatch(/script-src 'none'/);
  });

  it('posts token messages to the given origin only, with no way out of the script', () => {
    const page = tokenPage(accessTokenError('missingAspect', '</script><script>alert(1)</script>\u2028'), 'https://viewer.example.org');
    expect(page.html).toContain(`, "https://viewer.example.org");`);
    expect(page.html).not.toContain('</script><script>alert');
    expect(page.html).not.toContain('\u2028');
    expect(page.html).not.toMatch(/postMessage\([^)]*'\*'/);
    expect(page.contentSecurityPolicy).not.toMatch(/frame-ancestors/);
    expect(() => tokenPage(accessTokenError('missingAspect', '1'), '*')).toThrow();
  });
});

// ---------------------------------------------------------------------------------------------------------------
// answerAuthRequest

const PASSWORD = 'correct horse battery staple';

function published(access?: AccessDecision, withSubstitute = true): PublishedPyramid {
  return {
    revision: 'r1',
    width: 4000,
    height: 3000,
    tileSize: 512,
    scaleFactors: [1, 2, 4, 8],
    sizes: [{ width: 500, height: 375 }],
    limits: {},
    maxSize: { width: 4000, height: 3000 },
    files: 100,
    bytes: 1000,
    ...(access ? { access } : {}),
    ...(access?.policy === 'restricted-size' && withSubstitute
      ? { substitute: { identifier: 'mskgent.be:1~r1~800', width: 800, height: 600, tileSize: 512, scaleFactors: [1, 2], sizes: [], files: 5 } }
      : {}),
  };
}

function item(identifier: string, pyramid: PublishedPyramid | undefined, status: ImageItem['status'] = 'ready'): ImageItem {
  return {
    identifier,
    sourceKey: `${identifier}.tif`,
    status,
    ...(pyramid ? { published: pyramid } : {}),
    links: { objectNumber: identifier },
    createdAt: NOW.toISOString(),
    updatedAt: NOW.toISOString(),
  };
}

const RESTRICTED: AccessDecision = { policy: 'restricted-size', maxLongSide: 800, basis: 'record-rights', reason: 'In copyright until 2040.', reasonNl: 'Auteursrechtelijk beschermd tot 2040.' };
const PRIVATE: AccessDecision = { policy: 'private', basis: 'image-flag', reason: 'Not cleared for public use.', reasonNl: 'Niet vrijgegeven voor publiek gebruik.' };
const ITEMS = new Map<string, ImageItem>([
  ['mskgent.be:1', item('mskgent.be:1', published(RESTRICTED))],
  ['mskgent.be:2', item('mskgent.be:2', published(PRIVATE))],
  ['open:1', item('open:1', published({ policy: 'open', basis: 'default', reason: 'Public domain.', reasonNl: 'Publiek domein.' }))],
  ['legacy:1', item('legacy:1', published())],
  ['gone:1', item('gone:1', published(), 'deleted')],
  ['busy:1', item('busy:1', undefined, 'processing')],
  ['nosub:1', item('nosub:1', published(RESTRICTED, false))],
]);

function deps(overrides: Partial<AuthDeps> = {}): AuthDeps {
  return {
    items: { get: async (identifier) => ITEMS.get(identifier) },
    secrets: async () => ({ password: PASSWORD, signingKey: KEY }),
    publicUrl: 'https://iiif.example.org',
    sessionSeconds: 8 * 3600,
    now: () => NOW,
    wrongPasswordDelayMs: 0,
    ...overrides,
  };
}

function request(method: string, path: string, extra: Partial<AuthRequest> = {}): AuthRequest {
  return { method, path, query: {}, headers: {}, ...extra };
}

async function probe(identifier: string, headers: Record<string, string> = {}, d = deps()): Promise<AuthProbeResult2> {
  const answer = await answerAuthRequest(request('GET', `/iiif/auth/probe/${identifier}`, { headers }), d);
  expect(answer.status).toBe(200);
  expect(answer.headers['cache-control']).toBe('no-store');
  expect(answer.headers['access-control-allow-origin']).toBe('*');
  return JSON.parse(String(answer.body)) as AuthProbeResult2;
}

function tokenFor(expiresAt = at(HOUR)): string {
  return issueAccessToken(KEY, { issuedAt: NOW, expiresAt });
}

describe('probe service', () => {
  it('answers open images (and images without a decision) 200, unknown, deleted and unpublished ones 404', async () => {
    expect((await probe('open:1')).status).toBe(200);
    expect((await probe('legacy:1')).status).toBe(200);
    for (const id of ['nothing:here', 'gone:1', 'busy:1']) {
      const result = await probe(id);
      expect(result, id).toMatchObject({ '@context': AUTH2_CONTEXT, type: 'AuthProbeResult2', status: 404 });
      expect(result.substitute).toBeUndefined();
    }
  });

  it('offers the substitute of a restricted-size image to the public, the full image to a token holder', async () => {
    const denied = await probe('mskgent.be:1');
    expect(denied).toEqual({
      '@context': AUTH2_CONTEXT,
      type: 'AuthProbeResult2',
      status: 401,
      heading: { en: ['Shown at a limited size'], nl: ['Beperkt formaat getoond'] },
      note: { en: [RESTRICTED.reason], nl: [RESTRICTED.reasonNl] },
      substitute: [
        {
          id: 'https://iiif.example.org/iiif/3/mskgent.be:1~r1~800/full/max/0/default.jpg',
          type: 'Image',
          format: 'image/jpeg',
          width: 800,
          height: 600,
          label: { en: ['Limited size (800 × 600 pixels)'], nl: ['Beperkt formaat (800 × 600 pixels)'] },
          service: [{ id: 'https://iiif.example.org/iiif/3/mskgent.be:1~r1~800', type: 'ImageService3', profile: 'level2' }],
        },
      ],
    });
    expect(await probe('mskgent.be:1', { authorization: `Bearer ${tokenFor()}` })).toEqual({ '@context': AUTH2_CONTEXT, type: 'AuthProbeResult2', status: 200 });
    expect((await probe('nosub:1')).substitute).toBeUndefined();
  });

  it('denies a private image with no substitute and nothing about the image', async () => {
    const denied = await probe('mskgent.be:2');
    expect(denied).toEqual({
      '@context': AUTH2_CONTEXT,
      type: 'AuthProbeResult2',
      status: 401,
      heading: { en: ['Not available to the public'], nl: ['Niet publiek beschikbaar'] },
      note: { en: [PRIVATE.reason], nl: [PRIVATE.reasonNl] },
    });
    expect(JSON.stringify(denied)).not.toMatch(/4000|3000|width/);
    expect((await probe('mskgent.be:2', { authorization: `Bearer ${tokenFor()}` })).status).toBe(200);
  });

  it('refuses expired, forged and cookie-as-token bearers', async () => {
    const cookie = signAccessCookie(KEY, { issuedAt: NOW, expiresAt: at(HOUR) });
    for (const bearer of [tokenFor(at(-1000)), issueAccessToken(OTHER_KEY, { issuedAt: NOW, expiresAt: at(HOUR) }), cookie, 'junk']) {
      expect((await probe('mskgent.be:2', { authorization: `Bearer ${bearer}` })).status).toBe(401);
    }
    // A cookie is no bearer: the probe reads the Authorization header only.
    expect((await probe('mskgent.be:2', { cookie: `${ACCESS_COOKIE}=${cookie}` })).status).toBe(401);
  });

  it('answers CORS preflights and refuses bad identifiers with 400, never 500', async () => {
    const preflight = await answerAuthRequest(request('OPTIONS', '/iiif/auth/probe/mskgent.be:1'), deps());
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-headers']).toMatch(/Authorization/);
    expect(preflight.headers['access-control-allow-origin']).toBe('*');
    for (const path of ['/iiif/auth/probe/', '/iiif/auth/probe/%E0%A4%A', '/iiif/auth/probe/a%2Fb', '/iiif/auth/probe/..', `/iiif/auth/probe/${'x'.repeat(300)}`]) {
      const answer = await answerAuthRequest(request('GET', path), deps());
      expect(answer.status, path).toBe(400);
      expect(answer.headers['access-control-allow-origin']).toBe('*');
    }
    expect((await answerAuthRequest(request('POST', '/iiif/auth/probe/a'), deps())).status).toBe(405);
  });

  it('takes the base URL from the CDN-forwarded host when none is configured', async () => {
    const d = deps({ publicUrl: '' });
    const answer = await answerAuthRequest(request('GET', '/iiif/auth/probe/mskgent.be:1', { headers: { 'x-imagehub-viewer-host': 'images.museum.be' } }), d);
    expect(String(answer.body)).toContain('https://images.museum.be/iiif/3/mskgent.be:1~r1~800/full/max/0/default.jpg');
    expect((await answerAuthRequest(request('GET', '/iiif/auth/probe/mskgent.be:1'), d)).status).toBe(400);
  });
});

describe('access service (login)', () => {
  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

  it('shows the form with the origin carried along', async () => {
    const answer = await answerAuthRequest(request('GET', '/iiif/auth/login', { query: { origin: 'https://viewer.example.org' } }), deps());
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(answer.headers['content-security-policy']).toMatch(/default-src 'none'/);
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(String(answer.body)).toContain('name="origin" value="https://viewer.example.org"');
  });

  it('refuses a wrong password with 401 after the delay, and sets no cookie', async () => {
    const started = Date.now();
    const answer = await answerAuthRequest(request('POST', '/iiif/auth/login', { body: form({ password: 'guess', origin: 'https://v.example.org' }) }), deps({ wrongPasswordDelayMs: 120 }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(answer.status).toBe(401);
    expect(answer.headers['set-cookie']).toBeUndefined();
    expect(String(answer.body)).toContain('That password is not right');
    expect(String(answer.body)).toContain('value="https://v.example.org"');
    expect((await answerAuthRequest(request('POST', '/iiif/auth/login', {}), deps())).status).toBe(401);
    expect((await answerAuthRequest(request('POST', '/iiif/auth/login', { body: form({ password: '' }) }), deps({ secrets: async () => ({ password: '', signingKey: KEY }) }))).status).toBe(401);
  });

  it('signs in with the right password: a session cookie and a page that closes itself', async () => {
    const answer = await answerAuthRequest(request('POST', '/iiif/auth/login', { body: form({ password: PASSWORD }) }), deps());
    expect(answer.status).toBe(200);
    const setCookie = answer.headers['set-cookie']!;
    expect(setCookie).toMatch(new RegExp(`^${ACCESS_COOKIE}=[A-Za-z0-9_.-]+; Path=/; HttpOnly; Secure; SameSite=None; Max-Age=28800$`));
    const value = /^[^=]+=([^;]+)/.exec(setCookie)![1]!;
    expect(verifyAccessCookie(KEY, value, at(8 * HOUR - 1000)).valid).toBe(true);
    expect(verifyAccessCookie(KEY, value, at(8 * HOUR)).valid).toBe(false);
    expect(String(answer.body)).toContain('window.close()');
    // Signed in already: the form is not asked again.
    const again = await answerAuthRequest(request('GET', '/iiif/auth/login', { headers: { cookie: `${ACCESS_COOKIE}=${value}` } }), deps());
    expect(String(again.body)).toContain('window.close()');
    const insecure = await answerAuthRequest(request('POST', '/iiif/auth/login', { body: form({ password: PASSWORD }) }), deps({ secureCookies: false }));
    expect(insecure.headers['set-cookie']).not.toMatch(/Secure|SameSite=None/);
  });
});

describe('access token service', () => {
  const cookie = () => signAccessCookie(KEY, { issuedAt: NOW, expiresAt: at(2 * HOUR) });
  const token = (query: Record<string, string>, headers: Record<string, string> = {}, d = deps(), cookies?: string[]) =>
    answerAuthRequest(request('GET', '/iiif/auth/token', { query, headers, ...(cookies ? { cookies } : {}) }), d);
  const message = (body: unknown) => {
    const match = /postMessage\((\{.*\}), "([^"]+)"\);/.exec(String(body));
    expect(match, String(body)).not.toBeNull();
    return { message: JSON.parse(match![1]!) as Record<string, unknown>, origin: match![2] };
  };
  const origin = 'https://viewer.example.org';

  it('posts a token to the origin for a valid cookie, never outliving the session', async () => {
    const answer = await token({ messageId: 'm-1', origin }, { cookie: `${ACCESS_COOKIE}=${cookie()}` });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-security-policy']).toMatch(/script-src 'sha256-/);
    const { message: m, origin: target } = message(answer.body);
    expect(target).toBe(origin);
    expect(m).toMatchObject({ '@context': AUTH2_CONTEXT, type: 'AuthAccessToken2', messageId: 'm-1', expiresIn: 3600 });
    expect(verifyAccessToken(KEY, m.accessToken as string, NOW).valid).toBe(true);
    // 30 minutes of session left: the token lasts 30 minutes.
    const late = message((await token({ messageId: 'm', origin }, { cookie: `${ACCESS_COOKIE}=${cookie()}` }, deps({ now: () => at(90 * 60_000) }))).body);
    expect(late.message.expiresIn).toBe(1800);
    // API Gateway's cookies.
    expect(message((await token({ messageId: 'm', origin }, {}, deps(), [`${ACCESS_COOKIE}=${cookie()}`])).body).message.type).toBe('AuthAccessToken2');
  });

  it('posts the right error profile', async () => {
    const expect1 = async (query: Record<string, string>, headers: Record<string, string>, profile: string, d = deps()) => {
      const answer = await token(query, headers, d);
      expect(answer.status).toBe(200);
      const { message: m, origin: target } = message(answer.body);
      expect(target).toBe(origin);
      expect(m).toMatchObject({ type: 'AuthAccessTokenError2', profile });
      expect(m.heading).toBeDefined();
      return m;
    };
    expect((await expect1({ messageId: 'x1', origin }, {}, 'missingAspect')).messageId).toBe('x1');
    await expect1({ messageId: 'x', origin }, { cookie: `${ACCESS_COOKIE}=forged.${'A'.repeat(43)}` }, 'invalidAspect');
    await expect1({ messageId: 'x', origin }, { cookie: `${ACCESS_COOKIE}=${issueAccessToken(KEY, { issuedAt: NOW, expiresAt: at(HOUR) })}` }, 'invalidAspect');
    await expect1({ messageId: 'x', origin }, { cookie: `${ACCESS_COOKIE}=${cookie()}` }, 'expiredAspect', deps({ now: () => at(3 * HOUR) }));
    await expect1({ origin }, {}, 'invalidRequest');
    await expect1({ messageId: 'x', origin }, {}, 'unavailable', deps({ secrets: () => Promise.reject(new Error('down')) }));
  });

  it('answers a plain 400 page, posting nothing, without a usable origin', async () => {
    for (const bad of [{}, { origin: '*' }, { origin: 'null' }, { origin: 'https://x.org/path' }] as Record<string, string>[]) {
      const answer = await token({ messageId: 'x', ...bad });
      expect(answer.status).toBe(400);
      expect(String(answer.body)).not.toContain('postMessage');
      expect(String(answer.body)).toContain('invalidOrigin');
    }
  });
});

describe('logout service and the rest', () => {
  it('clears the cookie', async () => {
    const answer = await answerAuthRequest(request('GET', '/iiif/auth/logout'), deps());
    expect(answer.status).toBe(200);
    expect(answer.headers['set-cookie']).toMatch(new RegExp(`^${ACCESS_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=None; Max-Age=0`));
  });

  it('answers unknown paths 404, wrong methods 405, HEAD without a body', async () => {
    expect((await answerAuthRequest(request('GET', '/iiif/auth/nothing'), deps())).status).toBe(404);
    expect((await answerAuthRequest(request('DELETE', '/iiif/auth/login'), deps())).status).toBe(405);
    expect((await answerAuthRequest(request('POST', '/iiif/auth/token'), deps())).status).toBe(405);
    const head = await answerAuthRequest(request('HEAD', '/iiif/auth/login'), deps());
    expect(head.status).toBe(200);
    expect(head.body).toBeUndefined();
  });

  it('reads bounded bodies', async () => {
    async function* chunks(...parts: string[]) {
      for (const part of parts) yield Buffer.from(part);
    }
    expect(await readBoundedBody(chunks('a=1', '&b=2'))).toBe('a=1&b=2');
    expect(await readBoundedBody(chunks('x'.repeat(10), 'y'), 10)).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Secrets and the Lambda adapter

describe('secrets', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('validates the secret JSON with a clear error', () => {
    expect(parseAuthSecrets(JSON.stringify({ password: 'p', signingKey: KEY }), 's')).toEqual({ password: 'p', signingKey: KEY });
    expect(() => parseAuthSecrets('nope', 's')).toThrow(/not JSON/);
    expect(() => parseAuthSecrets('[]', 's')).toThrow(/JSON object/);
    expect(() => parseAuthSecrets(JSON.stringify({ signingKey: KEY }), 's')).toThrow(/"password"/);
    expect(() => parseAuthSecrets(JSON.stringify({ password: 'p' }), 's')).toThrow(/"signingKey"/);
    expect(() => parseAuthSecrets(JSON.stringify({ password: 'p', signingKey: 'short' }), 's')).toThrow(/"signingKey"/);
  });

  it('creates {data}/auth.json once (mode 0600), reuses it, and lets IMAGEHUB_STAFF_PASSWORD override', () => {
    const dir = mkdtempSync(join(tmpdir(), 'imagehub-auth-'));
    dirs.push(dir);
    const first = localSecrets(dir, {});
    expect(first).toMatchObject({ created: true, passwordFrom: 'generated', file: join(dir, 'auth.json') });
    expect(first.secrets.password).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect(first.secrets.signingKey.length).toBeGreaterThanOrEqual(43);
    expect(statSync(first.file!).mode & 0o777).toBe(0o600);
    const second = localSecrets(dir, {});
    expect(second).toMatchObject({ created: false, passwordFrom: 'file', secrets: first.secrets });
    const overridden = localSecrets(dir, { IMAGEHUB_STAFF_PASSWORD: 'from-env' });
    expect(overridden).toMatchObject({ passwordFrom: 'environment', secrets: { password: 'from-env', signingKey: first.secrets.signingKey } });
    expect(JSON.parse(readFileSync(first.file!, 'utf8'))).toEqual(first.secrets);
    writeFileSync(first.file!, '{"password":1}');
    expect(() => localSecrets(dir, {})).toThrow(/auth\.json.*"password"/);
    const memory = localSecrets(undefined, {});
    expect(memory.file).toBeUndefined();
    expect(memory.secrets.password).not.toBe(localSecrets(undefined, {}).secrets.password);
  });

  it('reads Secrets Manager once per five minutes, and retries after a failure', async () => {
    const mock = mockClient(SecretsManagerClient);
    let clock = 0;
    mock.on(GetSecretValueCommand).rejectsOnce(new Error('throttled')).resolves({ SecretString: JSON.stringify({ password: 'p', signingKey: KEY }) });
    const secrets = secretsFromSecretsManager('arn:secret', new SecretsManagerClient({ region: 'eu-west-1' }), { now: () => clock });
    await expect(secrets()).rejects.toThrow('throttled');
    const [a, b] = await Promise.all([secrets(), secrets()]);
    expect(a).toEqual({ password: 'p', signingKey: KEY });
    expect(b).toEqual(a);
    clock = 4 * 60_000;
    await secrets();
    expect(mock.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    clock = 6 * 60_000;
    await secrets();
    expect(mock.commandCalls(GetSecretValueCommand)).toHaveLength(3);
    expect(mock.commandCalls(GetSecretValueCommand)[0]!.args[0].input).toEqual({ SecretId: 'arn:secret' });
    mock.restore();
  });

  it('merges the stack\'s two secrets for the auth service; the Image API reads the signing key alone', async () => {
    const mock = mockClient(SecretsManagerClient);
    mock.on(GetSecretValueCommand, { SecretId: 'arn:password' }).resolves({ SecretString: JSON.stringify({ password: 'p' }) });
    mock.on(GetSecretValueCommand, { SecretId: 'arn:signing' }).resolves({ SecretString: JSON.stringify({ signingKey: KEY }) });
    const client = new SecretsManagerClient({ region: 'eu-west-1' });
    expect(await secretsFromSecretsManager(['arn:password', 'arn:signing'], client)()).toEqual({ password: 'p', signingKey: KEY });
    expect(await signingKeyFromSecretsManager('arn:signing', client)()).toBe(KEY);
    await expect(secretsFromSecretsManager(['arn:signing'], client)()).rejects.toThrow(/"password"/);
    mock.restore();
  });
});

describe('Lambda adapter', () => {
  const context = { functionName: 'auth', awsRequestId: 'r' } as Context;
  function event(method: string, path: string, extra: Partial<APIGatewayProxyEventV2> = {}): APIGatewayProxyEventV2 {
    return {
      version: '2.0',
      routeKey: '$default',
      rawPath: path,
      rawQueryString: '',
      headers: {},
      isBase64Encoded: false,
      requestContext: { http: { method, path, protocol: 'HTTP/1.1', sourceIp: '1.2.3.4', userAgent: 'test' } } as APIGatewayProxyEventV2['requestContext'],
      ...extra,
    };
  }
  const handler = createAuthHandler(deps(), new Logger({ serviceName: 'test', logLevel: 'SILENT' }));

  it('decodes base64 bodies and returns the cookie in `cookies`', async () => {
    const body = Buffer.from(new URLSearchParams({ password: PASSWORD }).toString()).toString('base64');
    const result = (await handler(event('POST', '/iiif/auth/login', { body, isBase64Encoded: true }), context)) as APIGatewayProxyStructuredResultV2;
    expect(result.statusCode).toBe(200);
    expect(result.cookies?.[0]).toMatch(new RegExp(`^${ACCESS_COOKIE}=`));
    expect(result.headers?.['set-cookie']).toBeUndefined();
    const cookie = result.cookies![0]!.split(';')[0]!;
    const answer = (await handler(
      event('GET', '/iiif/auth/token', { queryStringParameters: { messageId: '1', origin: 'https://v.example.org' }, cookies: [cookie] }),
      context,
    )) as APIGatewayProxyStructuredResultV2;
    expect(answer.body).toContain('"type":"AuthAccessToken2"');
  });

  it('answers 413 for large bodies and 500 when the store fails', async () => {
    const large = (await handler(event('POST', '/iiif/auth/login', { body: 'x'.repeat(20_000) }), context)) as APIGatewayProxyStructuredResultV2;
    expect(large.statusCode).toBe(413);
    const failing = createAuthHandler(deps({ items: { get: () => Promise.reject(new Error('table down')) } }), new Logger({ serviceName: 'test', logLevel: 'SILENT' }));
    const result = (await failing(event('GET', '/iiif/auth/probe/a:b'), context)) as APIGatewayProxyStructuredResultV2;
    expect(result.statusCode).toBe(500);
  });

  it('parses its settings', () => {
    const arns = { IMAGEHUB_AUTH_PASSWORD_SECRET_ARN: 'arn:p', IMAGEHUB_AUTH_SIGNING_SECRET_ARN: 'arn:s' };
    expect(parseAuthSettings({ ...arns, TABLE_NAME: 't' })).toEqual({ secretArns: ['arn:p', 'arn:s'], tableName: 't', publicUrl: '', sessionSeconds: 28800 });
    expect(parseAuthSettings({ ...arns, TABLE_NAME: 't', IMAGEHUB_PUBLIC_URL: 'https://x.org/', IMAGEHUB_AUTH_SESSION_HOURS: '2' })).toMatchObject({ publicUrl: 'https://x.org', sessionSeconds: 7200 });
    expect(() => parseAuthSettings({ TABLE_NAME: 't', IMAGEHUB_AUTH_SIGNING_SECRET_ARN: 'arn:s' })).toThrow(/IMAGEHUB_AUTH_PASSWORD_SECRET_ARN/);
    expect(() => parseAuthSettings({ ...arns, TABLE_NAME: 't', IMAGEHUB_AUTH_SESSION_HOURS: '-1' })).toThrow(/SESSION_HOURS/);
  });
});
