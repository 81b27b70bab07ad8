/**
 * IIIF Authorization Flow 2.0 through the one-machine system, over HTTP as a viewer and a browser drive it: the
 * login page, a wrong then the right password, the session cookie's attributes, the token page (with and without
 * the cookie) and the probe service for an ingested (open) image and an unknown one. Restricted and private images
 * are covered against a fake item store in test/unit/auth.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_COOKIE, AUTH2_CONTEXT, probeServiceFor, verifyAccessToken } from '../../functions/core/auth.ts';
import { startLocalSystem, type LocalSystem } from '../../functions/local/system.ts';

const MASTER = readFileSync(resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/images/bentheim.jpg'));
const ID = 'auth:painting';
const ORIGIN = 'https://viewer.example.org';

let system: LocalSystem;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'imagehub-auth-flow-'));
  system = await startLocalSystem({ dataDir, port: 0, quiet: true, env: { IMAGEHUB_LOCAL_RETRY_MS: '50', PATH: process.env.PATH } });
  await system.ingest.putBody('auth/painting.jpg', MASTER, { contentType: 'image/jpeg' });
  await new Promise((r) => setTimeout(r, 300));
  await system.queue.idle();
  const item = await system.items.get(ID);
  if (!item?.published) throw new Error(`${ID} was not published`);
}, 120_000);

afterAll(async () => {
  await system?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

function form(fields: Record<string, string>): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString(), redirect: 'manual' };
}

async function login(): Promise<string> {
  const response = await fetch(`${system.url}/iiif/auth/login`, form({ password: system.auth.secrets.password, origin: ORIGIN }));
  expect(response.status).toBe(200);
  return /^[^;]+/.exec(response.headers.get('set-cookie') ?? '')![0];
}

function postedMessage(html: string): { message: Record<string, unknown>; origin: string } {
  const match = /window\.parent\.postMessage\((\{.*\}), "([^"]+)"\);/.exec(html);
  expect(match, html).not.toBeNull();
  return { message: JSON.parse(match![1]!) as Record<string, unknown>, origin: match![2]! };
}

describe('local secrets', () => {
  it('are generated into {data}/auth.json, private to the user, and exposed to the caller', () => {
    expect(system.auth.file).toBe(join(dataDir, 'auth.json'));
    expect(system.auth.created).toBe(true);
    expect(statSync(system.auth.file!).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(system.auth.file!, 'utf8'))).toEqual(system.auth.secrets);
  });
});

describe('access service', () => {
  it('shows an accessible login form with the origin carried along', async () => {
    const response = await fetch(`${system.url}/iiif/auth/login?origin=${encodeURIComponent(ORIGIN)}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('content-security-policy')).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
    const html = await response.text();
    expect(html).toContain('<form method="post" action="login">');
    expect(html).toContain('<label for="password">');
    expect(html).toContain(`name="origin" value="${ORIGIN}"`);
    expect(html).toContain('Aanmelden voor medewerkers');
  });

  it('refuses a wrong password with 401 and the form again', async () => {
    const started = Date.now();
    const response = await fetch(`${system.url}/iiif/auth/login`, form({ password: 'not-the-password', origin: ORIGIN }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(response.status).toBe(401);
    expect(response.headers.get('set-cookie')).toBeNull();
    const html = await response.text();
    expect(html).toContain('That password is not right');
    expect(html).toContain('name="password"');
  });

  it('signs in with the right password: a secure session cookie and a page that closes itself', async () => {
    const response = await fetch(`${system.url}/iiif/auth/login`, form({ password: system.auth.secrets.password, origin: ORIGIN }));
    expect(response.status).toBe(200);
    const setCookie = response.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(new RegExp(`^${ACCESS_COOKIE}=[A-Za-z0-9_.-]+; Path=/; HttpOnly; Secure; SameSite=None; Max-Age=28800$`));
    expect(await response.text()).toContain('window.close()');
  });

  it('refuses bodies over 16 KiB with 413', async () => {
    const response = await fetch(`${system.url}/iiif/auth/login`, form({ password: 'x'.repeat(20_000) }));
    expect(response.status).toBe(413);
  });
});

describe('access token service', () => {
  it('posts a token for the session cookie to the given origin, with the messageId', async () => {
    const cookie = await login();
    const response = await fetch(`${system.url}/iiif/auth/token?messageId=abc-123&origin=${encodeURIComponent(ORIGIN)}`, { headers: { cookie } });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('content-security-policy')).toMatch(/script-src 'sha256-/);
    const { message, origin } = postedMessage(await response.text());
    expect(origin).toBe(ORIGIN);
    expect(message).toMatchObject({ '@context': AUTH2_CONTEXT, type: 'AuthAccessToken2', messageId: 'abc-123', expiresIn: 3600 });
    expect(verifyAccessToken(system.auth.secrets.signingKey, message.accessToken as string, new Date()).valid).toBe(true);
  });

  it('posts missingAspect without the cookie, and posts nothing without a usable origin', async () => {
    const response = await fetch(`${system.url}/iiif/auth/token?messageId=m2&origin=${encodeURIComponent(ORIGIN)}`);
    expect(response.status).toBe(200);
    const { message, origin } = postedMessage(await response.text());
    expect(origin).toBe(ORIGIN);
    expect(message).toMatchObject({ type: 'AuthAccessTokenError2', profile: 'missingAspect', messageId: 'm2' });
    const bad = await fetch(`${system.url}/iiif/auth/token?messageId=m3&origin=*`);
    expect(bad.status).toBe(400);
    expect(await bad.text()).not.toContain('postMessage');
  });
});

describe('probe service', () => {
  it('answers the probe the service description names: 200 for an open image, with or without a token', async () => {
    const probe = probeServiceFor(system.url, ID);
    expect(probe.id).toBe(`${system.url}/iiif/auth/probe/${ID}`);
    const preflight = await fetch(probe.id, { method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Authorization/i);

    const anonymous = await fetch(probe.id);
    expect(anonymous.status).toBe(200);
    expect(anonymous.headers.get('access-control-allow-origin')).toBe('*');
    expect(anonymous.headers.get('cache-control')).toBe('no-store');
    expect(await anonymous.json()).toEqual({ '@context': AUTH2_CONTEXT, type: 'AuthProbeResult2', status: 200 });

    const cookie = await login();
    const page = await (await fetch(`${system.url}/iiif/auth/token?messageId=p&origin=${encodeURIComponent(ORIGIN)}`, { headers: { cookie } })).text();
    const token = postedMessage(page).message.accessToken as string;
    const authorised = await fetch(probe.id, { headers: { authorization: `Bearer ${token}` } });
    expect(((await authorised.json()) as { status: number }).status).toBe(200);
  });

  it('answers 404 in the body for an unknown image, 400 for a malformed identifier', async () => {
    const unknown = await fetch(`${system.url}/iiif/auth/probe/auth:nothing`);
    expect(unknown.status).toBe(200);
    expect(await unknown.json()).toMatchObject({ type: 'AuthProbeResult2', status: 404 });
    const malformed = await fetch(`${system.url}/iiif/auth/probe/%E0%A4%A`);
    expect(malformed.status).toBe(400);
  });
});

describe('logout service', () => {
  it('clears the cookie', async () => {
    const response = await fetch(`${system.url}/iiif/auth/logout`);
    expect(response.status).toBe(200);
    expect(response.headers.get('set-cookie')).toMatch(new RegExp(`^${ACCESS_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=None; Max-Age=0`));
  });
});
