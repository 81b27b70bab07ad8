/**
 * IIIF Authorization Flow 2.0 end to end through `npm start`, in headless Chromium, as a viewer on another site
 * does it: a client page served from a second origin (http://127.0.0.1:{other port}, cross-site to
 * http://localhost:{port} of npm start) reads the manifest, probes a restricted-size image (401 with a small public
 * substitute, which it shows), opens the access service in a popup on a click, where the staff password is typed
 * (a wrong one first), waits for the popup to close itself, gets a token from the token service in a hidden iframe
 * (postMessage), probes again with it (200) and then loads a full-resolution tile, which only the `imagehub-access`
 * cookie the access service set can unlock (SameSite=None; Secure, sent in a third-party context). The logout
 * service clears that cookie: the tile is refused again and the token service answers with an error.
 *
 * Needs Debian's `chromium` (/usr/bin/chromium) driven by playwright-core, as test/browser/viewers.test.ts.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_MISSING, HAVE_CHROMIUM, launchChromium } from '../support/chromium.ts';
import { ROOT, runImagehub, startNpmStart, waitFor200, type NpmStart } from '../support/processes.ts';

const IMAGE = join(ROOT, 'test/fixtures/images/bentheim.jpg');
const RECORD = join(ROOT, 'test/fixtures/datahub/vkc-imagehub-fixes/1Lido1Image__ORIGIN-oai_datahub.vlaamsekunstcollectie.be_mskgent.be_1829-A.xml');
const OBJECT = 'mskgent.be:1829-A';
const KEY = 'mskgent.be/1829-A.jpg';
const PASSWORD = 'correct horse battery staple (auth-flow test)';
const MAX_LONG_SIDE = 300;
/** A tile at full resolution (512 image pixels shown as 512): far beyond what the public may see of a 3000 px image. */
const FULL_TILE = '0,0,512,512/512,512/0/default.jpg';
const ENV = { IMAGEHUB_DEMO: '0', IMAGEHUB_STAFF_PASSWORD: PASSWORD, IMAGEHUB_ACCESS_MAX_LONG_SIDE: String(MAX_LONG_SIDE) };

/** What the client page exposes on `window.authState`. */
interface ProbeResult {
  type: string;
  status: number;
  substitute?: { id: string; type: string; width: number; height: number; service?: { id: string; type: string }[] }[];
  heading?: Record<string, string[]>;
  note?: Record<string, string[]>;
}
interface Loaded {
  loaded: boolean;
  naturalWidth: number;
  naturalHeight: number;
}
interface TokenMessage {
  type: string;
  messageId: string;
  expiresIn?: number;
  accessToken?: string;
  profile?: string;
}
interface AuthState {
  phase: 'start' | 'ready' | 'logging-in' | 'signed-in' | 'logging-out' | 'signed-out' | 'failed';
  error?: string;
  imageService?: string;
  probeService?: string;
  accessService?: string;
  tokenService?: string;
  logoutService?: string;
  probeBefore?: ProbeResult;
  substituteImage?: Loaded;
  tileBefore?: Loaded;
  token?: TokenMessage;
  probeAfter?: ProbeResult;
  tileAfter?: Loaded;
  tokenAfterLogout?: TokenMessage;
  probeAfterLogout?: ProbeResult;
  /** Messages the page received that were not the answer it waited for (wrong origin or message id). */
  ignoredMessages: number;
}

/**
 * A minimal Auth 2.0 client, as a viewer embeds it: plain script, no library. Reads the manifest given in `?manifest=`,
 * follows the services found there (never URLs of its own making, except the Image API request of the tile).
 */
const CLIENT_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Auth 2.0 test client</title></head>
<body>
<h1>A viewer on another site</h1>
<button id="login" disabled>Sign in to see it in full</button>
<button id="logout" disabled>Sign out</button>
<div id="substitute"></div>
<div id="full"></div>
<script>
'use strict';
const state = (window.authState = { phase: 'start', ignoredMessages: 0 });
const manifestUrl = new URLSearchParams(location.search).get('manifest');
const fail = (error) => { state.phase = 'failed'; state.error = String(error && error.stack || error); };
const asArray = (value) => (Array.isArray(value) ? value : value ? [value] : []);
const typeOf = (thing) => thing.type || thing['@type'];

/** An <img> in a container; resolves when it loaded or failed, with what it shows. */
function loadImage(container, src) {
  return new Promise((resolve) => {
    const img = document.createElement('img');
    const done = (loaded) => resolve({ loaded, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight });
    img.onload = () => done(true);
    img.onerror = () => done(false);
    img.src = src;
    document.getElementById(container).appendChild(img);
  });
}

async function probe(token) {
  const response = await fetch(state.probeService, token ? { headers: { Authorization: 'Bearer ' + token } } : {});
  if (!response.ok) throw new Error('probe answered HTTP ' + response.status);
  return response.json();
}

/** The access token service in a hidden iframe; the answer comes by postMessage from the service's origin. */
function requestToken() {
  return new Promise((resolve, reject) => {
    const messageId = 'm' + Math.random().toString(36).slice(2) + Date.now();
    const serviceOrigin = new URL(state.tokenService).origin;
    const frame = document.createElement('iframe');
    const timer = setTimeout(() => { cleanup(); reject(new Error('no message from the token service')); }, 30000);
    function cleanup() { clearTimeout(timer); window.removeEventListener('message', receive); frame.remove(); }
    function receive(event) {
      if (event.origin !== serviceOrigin || !event.data || event.data.messageId !== messageId) {
        state.ignoredMessages++;
        return;
      }
      cleanup();
      resolve(event.data);
    }
    window.addEventListener('message', receive);
    frame.style.display = 'none';
    frame.src = state.tokenService + '?messageId=' + encodeURIComponent(messageId) + '&origin=' + encodeURIComponent(location.origin);
    document.body.appendChild(frame);
  });
}

/** Opens a service in a new window (this must run in a click handler) and resolves when that window closes. */
function openAndWaitForClose(url) {
  return new Promise((resolve, reject) => {
    const opened = window.open(url);
    if (!opened) { reject(new Error('window.open was blocked')); return; }
    const timer = setInterval(() => { if (opened.closed) { clearInterval(timer); resolve(); } }, 100);
  });
}

async function start() {
  const manifest = await (await fetch(manifestUrl)).json();
  const body = manifest.items[0].items[0].items[0].body;
  const imageService = asArray(body.service).find((s) => typeOf(s) === 'ImageService3');
  const probeService = asArray(imageService.service).find((s) => typeOf(s) === 'AuthProbeService2');
  const accessService = asArray(probeService.service).find((s) => typeOf(s) === 'AuthAccessService2' && s.profile === 'active');
  const tokenService = asArray(accessService.service).find((s) => typeOf(s) === 'AuthAccessTokenService2');
  const logoutService = asArray(accessService.service).find((s) => typeOf(s) === 'AuthLogoutService2');
  Object.assign(state, {
    imageService: imageService.id,
    probeService: probeService.id,
    accessService: accessService.id,
    tokenService: tokenService.id,
    logoutService: logoutService.id,
  });
  document.getElementById('login').textContent = accessService.confirmLabel ? accessService.confirmLabel.en[0] : 'Sign in';

  state.probeBefore = await probe();
  if (state.probeBefore.status === 401 && state.probeBefore.substitute) {
    state.substituteImage = await loadImage('substitute', state.probeBefore.substitute[0].id);
  }
  state.tileBefore = await loadImage('full', state.imageService + '/${FULL_TILE}');
  document.getElementById('login').disabled = false;
  state.phase = 'ready';
}

document.getElementById('login').addEventListener('click', () => {
  state.phase = 'logging-in';
  // Opened at once, in the click's user activation (Auth 2.0 §3.2: the active profile needs a user gesture).
  const closed = openAndWaitForClose(state.accessService + '?origin=' + encodeURIComponent(location.origin));
  closed
    .then(requestToken)
    .then(async (message) => {
      state.token = message;
      if (message.type !== 'AuthAccessToken2') throw new Error('token service: ' + message.type + ' ' + message.profile);
      state.probeAfter = await probe(message.accessToken);
      if (state.probeAfter.status === 200) state.tileAfter = await loadImage('full', state.imageService + '/${FULL_TILE}');
      document.getElementById('logout').disabled = false;
      state.phase = 'signed-in';
    })
    .catch(fail);
});

document.getElementById('logout').addEventListener('click', () => {
  state.phase = 'logging-out';
  // The client forgets its token; the logout service (in its own window) clears the cookie.
  state.token = undefined;
  openAndWaitForClose(state.logoutService)
    .then(requestToken)
    .then(async (message) => {
      state.tokenAfterLogout = message;
      state.probeAfterLogout = await probe();
      state.phase = 'signed-out';
    })
    .catch(fail);
});

start().catch(fail);
</script>
</body>
</html>
`;

const TITLE = `IIIF Auth 2.0 flow through npm start, from a viewer on another site, in headless Chromium${CHROMIUM_MISSING}`;

describe.skipIf(!HAVE_CHROMIUM)(TITLE, () => {
  const data = mkdtempSync(join(process.env.IMAGEHUB_TMP ?? tmpdir(), 'imagehub-auth-flow-'));
  let server: NpmStart | undefined;
  let client: Server | undefined;
  let url: string;
  let clientOrigin: string;
  let manifest: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageProblems: string[] = [];

  beforeAll(async () => {
    server = await startNpmStart(data, ENV);
    url = server.url;
    const harvest = await runImagehub(['harvest', '--file', RECORD], { IMAGEHUB_DATA: data, ...ENV });
    expect(harvest.code, harvest.stderr).toBe(0);

    // The owner flags the master as in copyright: restricted-size (S3 user metadata, as any S3 client can set it).
    const endpoints = JSON.parse(readFileSync(join(data, 'endpoints.json'), 'utf8')) as {
      s3Endpoint: string;
      region: string;
      ingestBucket: string;
      standInCredentials: boolean;
    };
    const s3 = new S3Client({
      endpoint: endpoints.s3Endpoint,
      region: endpoints.region,
      forcePathStyle: true,
      ...(endpoints.standInCredentials ? { credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } } : {}),
    });
    try {
      await s3.send(
        new PutObjectCommand({ Bucket: endpoints.ingestBucket, Key: KEY, Body: readFileSync(IMAGE), ContentType: 'image/jpeg', Metadata: { 'in-copyright': 'yes' } }),
      );
    } finally {
      s3.destroy();
    }
    let status = '';
    for (let attempt = 0; attempt < 600 && status !== 'ready' && status !== 'failed'; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 250));
      const response = await fetch(`${url}/api/images/${OBJECT}`);
      status = response.ok ? ((await response.json()) as { status: string }).status : '';
    }
    expect(status, server.output()).toBe('ready');
    manifest = `${url}/iiif/presentation/3/${OBJECT}/manifest.json`;
    expect((await waitFor200(manifest)).status).toBe(200);

    // The viewer's site: another origin (and another site: 127.0.0.1 is not localhost).
    client = createServer((req, res) => {
      if (req.url?.startsWith('/viewer.html')) res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(CLIENT_PAGE);
      else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    });
    await new Promise<void>((resolve) => client!.listen(0, '127.0.0.1', resolve));
    clientOrigin = `http://127.0.0.1:${(client.address() as AddressInfo).port}`;
    expect(new URL(clientOrigin).origin).not.toBe(new URL(url).origin);

    browser = await launchChromium();
    context = await browser.newContext();
    page = await context.newPage();
    page.on('pageerror', (error) => pageProblems.push(`uncaught: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') pageProblems.push(`console: ${message.text()}`);
    });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (client ? client.close(() => resolve()) : resolve()));
    await server?.stop();
    rmSync(data, { recursive: true, force: true });
  }, 60_000);

  function state(): Promise<AuthState> {
    return page.evaluate('window.authState') as Promise<AuthState>;
  }

  /** Waits until the client page reaches `phase` (or fails, which ends the wait at once with its error). */
  async function phase(wanted: AuthState['phase']): Promise<AuthState> {
    await page.waitForFunction((p) => {
      const s = (globalThis as unknown as { authState?: AuthState }).authState;
      return s?.phase === p || s?.phase === 'failed';
    }, wanted, { timeout: 90_000 });
    const current = await state();
    expect(current.error ?? '', 'the client page failed').toBe('');
    expect(current.phase).toBe(wanted);
    return current;
  }

  function fullTile(s: AuthState): string {
    return `${s.imageService}/${FULL_TILE}`;
  }

  /** Every problem a popup shows: uncaught errors and console errors (a CSP violation is one). */
  function watch(popup: Page): string[] {
    const problems: string[] = [];
    popup.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
    popup.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    return problems;
  }

  it('before login: the probe answers 401 with a substitute within the limit, shown; the full-resolution tile is refused', async () => {
    expect((await page.goto(`${clientOrigin}/viewer.html?manifest=${encodeURIComponent(manifest)}`))?.status()).toBe(200);
    const s = await phase('ready');
    expect(s.probeService).toMatch(new RegExp(`^${url}/iiif/auth/probe/`));
    expect(s.accessService).toBe(`${url}/iiif/auth/login`);
    expect(s.tokenService).toBe(`${url}/iiif/auth/token`);
    expect(s.logoutService).toBe(`${url}/iiif/auth/logout`);

    expect(s.probeBefore).toMatchObject({ type: 'AuthProbeResult2', status: 401 });
    const substitute = s.probeBefore!.substitute?.[0];
    expect(substitute, 'the probe offers a substitute').toBeDefined();
    expect(substitute!.type).toBe('Image');
    expect(Math.max(substitute!.width, substitute!.height)).toBeLessThanOrEqual(MAX_LONG_SIDE);
    expect(substitute!.width).toBeGreaterThan(0);
    expect(substitute!.service?.[0]?.type).toBe('ImageService3');
    expect(s.substituteImage, 'the substitute image loaded in the page').toEqual({ loaded: true, naturalWidth: substitute!.width, naturalHeight: substitute!.height });

    // The page's own attempt failed, and the same request, made without any cookie, is a 401 with the reason.
    expect(s.tileBefore?.loaded, 'the full-resolution tile before login').toBe(false);
    const refused = await fetch(fullTile(s));
    expect(refused.status).toBe(401);
    expect(await refused.text()).toContain(`${MAX_LONG_SIDE} pixels`);
    expect(await context.cookies(url)).toEqual([]);
  }, 120_000);

  it('login in the popup (a wrong password first), token by postMessage, probe 200, the full-resolution tile loads', async () => {
    const opened = page.waitForEvent('popup', { timeout: 30_000 });
    await page.click('#login');
    const popup = await opened;
    const popupProblems = watch(popup);
    const closed = popup.waitForEvent('close', { timeout: 60_000 });
    await popup.waitForLoadState();
    expect(popup.url()).toBe(`${url}/iiif/auth/login?origin=${encodeURIComponent(clientOrigin)}`);
    expect(await popup.locator('main').innerText()).toContain(`The viewer at ${clientOrigin} asks you to sign in`);

    await popup.fill('#password', 'not the password');
    await popup.click('button[type=submit]');
    const alert = popup.locator('[role=alert]');
    await alert.waitFor({ timeout: 30_000 });
    expect(await alert.innerText()).toContain('That password is not right');
    expect(await popup.locator('#password').getAttribute('aria-invalid')).toBe('true');
    expect(await popup.locator('input[name=origin]').inputValue(), 'the form keeps the viewer origin').toBe(clientOrigin);
    expect(await context.cookies(url), 'no cookie for a wrong password').toEqual([]);

    await popup.fill('#password', PASSWORD);
    await popup.click('button[type=submit]');
    await closed; // the signed-in page closes itself
    expect(popupProblems, 'errors in the login popup (CSP, scripts)').toEqual([]);

    const s = await phase('signed-in');
    expect(s.token).toMatchObject({ type: 'AuthAccessToken2' });
    expect(s.token!.expiresIn).toBeGreaterThan(0);
    expect(s.token!.accessToken?.length).toBeGreaterThan(20);
    expect(s.probeAfter).toMatchObject({ type: 'AuthProbeResult2', status: 200 });
    expect(s.probeAfter!.substitute).toBeUndefined();
    expect(s.tileAfter, 'the full-resolution tile after login, with the cross-site cookie').toEqual({ loaded: true, naturalWidth: 512, naturalHeight: 512 });
    expect(s.ignoredMessages).toBe(0);

    const cookies = await context.cookies(url);
    expect(cookies).toEqual([expect.objectContaining({ name: 'imagehub-access', domain: 'localhost', path: '/', httpOnly: true, secure: true, sameSite: 'None' })]);
    // The browser's cookie unlocks the tile, privately cached only; the same request without it is still refused.
    const authorised = await context.request.get(fullTile(s));
    expect(authorised.status()).toBe(200);
    expect(authorised.headers()['cache-control']).toMatch(/^private\b/);
    expect((await fetch(fullTile(s))).status).toBe(401);
    // The token is not a cookie: the Image API does not take it as one.
    expect((await fetch(fullTile(s), { headers: { cookie: `imagehub-access=${s.token!.accessToken}` } })).status).toBe(401);
    expect(pageProblems.filter((p) => !p.includes('401')), 'errors in the client page (other than the refused tile)').toEqual([]);
  }, 180_000);

  it('the logout service clears the cookie: the tile is refused again and the token service says missingAspect', async () => {
    const opened = page.waitForEvent('popup', { timeout: 30_000 });
    await page.click('#logout');
    const popup = await opened;
    const popupProblems = watch(popup);
    await popup.waitForLoadState();
    expect(popup.url()).toBe(`${url}/iiif/auth/logout`);
    expect(await popup.locator('h1').first().innerText()).toBe('You are signed out');
    expect(await context.cookies(url), 'the logout response cleared the cookie').toEqual([]);
    await popup.click('#close'); // the page's own close button (logout pages do not close themselves)
    await popup.waitForEvent('close', { timeout: 30_000 }).catch(() => undefined);
    if (!popup.isClosed()) await popup.close();
    expect(popupProblems, 'errors in the logout popup').toEqual([]);

    const s = await phase('signed-out');
    expect(s.tokenAfterLogout).toMatchObject({ type: 'AuthAccessTokenError2', profile: 'missingAspect' });
    expect(s.probeAfterLogout).toMatchObject({ status: 401 });
    expect((await context.request.get(fullTile(s))).status()).toBe(401);
  }, 120_000);
});
