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
 * The browser allows third-party cookies except in Incognito (Chrome's default for normal windows; see
 * COOKIE_CONTROLS_INCOGNITO_ONLY). Where they are blocked (Incognito, Safari; Firefox partitions them), the cookie
 * never reaches the token service in the viewer's iframe: the last test shows what a viewer then gets.
 *
 * Needs Debian's `chromium` (/usr/bin/chromium) driven by playwright-core, as test/browser/viewers.test.ts.
 */
import { createServer, type Server } from 'node:http';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_MISSING, HAVE_CHROMIUM, launchChromium } from '../support/chromium.ts';
import { ROOT, runImagehub, startNpmStart, waitFor200, type NpmStart } from '../support/processes.ts';

const IMAGE = join(ROOT, 'test/fixtures/images/bentheim.jpg');
const RECORD = join(ROOT, 'test/fixtures/datahub/vkc-imagehub-fixes/1Lido1Image__ORIGIN-oai_datahub.vlaamsekunstcollectie.be_mskgent.be_1829-A.xml');
const OBJECT = 'mskgent.be:1829-A';
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
  phase: 'start' | 'ready' | 'logging-in' | 'signed-in' | 'denied' | 'logging-out' | 'signed-out' | 'failed';
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
<p id="message"></p>
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
    let loaded = false;
    frame.addEventListener('load', () => { loaded = true; if (settled) frame.remove(); });
    let settled = false;
    // The frame goes once its page has loaded too (the message comes from a script before the end of that page).
    function cleanup() { settled = true; clearTimeout(timer); window.removeEventListener('message', receive); if (loaded) frame.remove(); }
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
      if (message.type !== 'AuthAccessToken2') {
        // What a viewer shows when the token service refuses: the message's heading and note; the substitute stays.
        document.getElementById('message').textContent = message.heading.en[0] + ' ' + message.note.en[0];
        state.phase = 'denied';
        return;
      }
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

/**
 * A Chromium profile whose cookie setting is "block third-party cookies in Incognito" only: Chrome's default for a
 * normal window, and so what a museum's visitors mostly have. This Chromium (Debian's, driven by playwright-core)
 * blocks third-party cookies in fresh profiles and in Playwright's contexts (which are Incognito ones): the
 * cookie then never reaches the token service in the viewer's iframe (DevTools: blockedReasons
 * ["UserPreferences"]). The last test here covers that case: see there.
 */
const COOKIE_CONTROLS_INCOGNITO_ONLY = 2;

const TITLE = `IIIF Auth 2.0 flow through npm start, from a viewer on another site, in headless Chromium${CHROMIUM_MISSING}`;

describe.skipIf(!HAVE_CHROMIUM)(TITLE, () => {
  const tmp = process.env.IMAGEHUB_TMP ?? tmpdir();
  const data = mkdtempSync(join(tmp, 'imagehub-auth-flow-'));
  const profile = mkdtempSync(join(tmp, 'imagehub-auth-profile-'));
  const upload = mkdtempSync(join(tmp, 'imagehub-auth-upload-'));
  let server: NpmStart | undefined;
  let client: Server | undefined;
  let url: string;
  let clientUrl: string;
  let clientOrigin: string;
  let context: BrowserContext | undefined;
  let incognito: Browser | undefined;
  let page: Page;
  let pageProblems: string[] = [];

  beforeAll(async () => {
    server = await startNpmStart(data, ENV);
    url = server.url;
    const harvest = await runImagehub(['harvest', '--file', RECORD], { IMAGEHUB_DATA: data, ...ENV });
    expect(harvest.code, harvest.stderr).toBe(0);

    // In copyright, says its owner: restricted-size (stored as the upload's S3 metadata `access`).
    copyFileSync(IMAGE, join(upload, '1829-A.jpg'));
    const ingest = await runImagehub(['ingest', join(upload, '1829-A.jpg'), '--prefix', 'mskgent.be/', '--access', 'restricted-size', '--timeout', '180'], {
      IMAGEHUB_DATA: data,
    });
    expect(ingest.code, `${ingest.stdout}\n${ingest.stderr}`).toBe(0);
    expect(await (await fetch(`${url}/api/images/${OBJECT}`)).json()).toMatchObject({ status: 'ready' });
    const manifest = `${url}/iiif/presentation/3/${OBJECT}/manifest.json`;
    expect((await waitFor200(manifest)).status).toBe(200);

    // The viewer's site: another origin, and another site (127.0.0.1 is not localhost).
    client = createServer((req, res) => {
      if (req.url?.startsWith('/viewer.html')) res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(CLIENT_PAGE);
      else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    });
    await new Promise<void>((resolve) => client!.listen(0, '127.0.0.1', resolve));
    clientOrigin = `http://127.0.0.1:${(client.address() as AddressInfo).port}`;
    clientUrl = `${clientOrigin}/viewer.html?manifest=${encodeURIComponent(manifest)}`;

    mkdirSync(join(profile, 'Default'));
    writeFileSync(join(profile, 'Default', 'Preferences'), JSON.stringify({ profile: { cookie_controls_mode: COOKIE_CONTROLS_INCOGNITO_ONLY } }));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    page = await context.newPage();
    pageProblems = watch(page);
  }, 300_000);

  afterAll(async () => {
    await context?.close();
    await incognito?.close();
    await new Promise<void>((resolve) => (client ? client.close(() => resolve()) : resolve()));
    await server?.stop();
    for (const dir of [data, profile, upload]) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  function state(on: Page): Promise<AuthState> {
    return on.evaluate('window.authState') as Promise<AuthState>;
  }

  /** Waits until the client page reaches `wanted`, or a phase it stays in (which ends the wait at once). */
  async function phase(on: Page, wanted: AuthState['phase']): Promise<AuthState> {
    await on.waitForFunction(
      (p) => {
        const s = (globalThis as unknown as { authState?: AuthState }).authState;
        return s?.phase === p || s?.phase === 'failed' || s?.phase === 'denied';
      },
      wanted,
      { timeout: 90_000 },
    );
    const current = await state(on);
    expect(current.phase, JSON.stringify(current, null, 1)).toBe(wanted);
    return current;
  }

  function fullTile(s: AuthState): string {
    return `${s.imageService}/${FULL_TILE}`;
  }

  /**
   * Every problem a page shows: uncaught errors, console errors (a CSP violation is one), failed requests and
   * answers ≥ 400 (as `401 POST {url}`; the console's "Failed to load resource" lines repeat those, so are left out).
   */
  function watch(target: Page): string[] {
    const problems: string[] = [];
    target.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
    target.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(`console: ${message.text()}`);
    });
    target.on('response', (response) => {
      if (response.status() >= 400) problems.push(`${response.status()} ${response.request().method()} ${response.url()}`);
    });
    target.on('requestfailed', (request) => problems.push(`failed ${request.url()}: ${request.failure()?.errorText}`));
    return problems;
  }

  /** Clicks a button of a client page that opens a window: that window, watched from its start, loaded. */
  async function clickForPopup(on: Page, selector: string): Promise<{ popup: Page; popupProblems: string[] }> {
    const [popup] = await Promise.all([on.waitForEvent('popup', { timeout: 30_000 }), on.click(selector, { timeout: 30_000 })]);
    const popupProblems = watch(popup);
    await popup.waitForLoadState();
    return { popup, popupProblems };
  }

  it('before login: the probe answers 401 with a substitute within the limit, shown; the full-resolution tile is refused', async () => {
    expect((await page.goto(clientUrl))?.status()).toBe(200);
    const s = await phase(page, 'ready');
    expect(s.probeService).toBe(`${url}/iiif/auth/probe/${OBJECT}`);
    expect(s.accessService).toBe(`${url}/iiif/auth/login`);
    expect(s.tokenService).toBe(`${url}/iiif/auth/token`);
    expect(s.logoutService).toBe(`${url}/iiif/auth/logout`);

    expect(s.probeBefore).toMatchObject({ type: 'AuthProbeResult2', status: 401 });
    const substitute = s.probeBefore!.substitute?.[0];
    expect(substitute, 'the probe offers a substitute').toBeDefined();
    expect(substitute!.type).toBe('Image');
    expect(Math.max(substitute!.width, substitute!.height)).toBe(MAX_LONG_SIDE);
    expect(substitute!.service?.[0]?.type).toBe('ImageService3');
    expect(s.substituteImage, 'the substitute as the page shows it').toEqual({ loaded: true, naturalWidth: substitute!.width, naturalHeight: substitute!.height });

    // The page's own attempt failed; the same request without any cookie is a 401 with the reason.
    expect(s.tileBefore?.loaded, 'the full-resolution tile before login').toBe(false);
    const refused = await fetch(fullTile(s));
    expect(refused.status).toBe(401);
    expect(await refused.text()).toContain(`${MAX_LONG_SIDE} pixels`);
    expect(await context!.cookies(url)).toEqual([]);
    expect(pageProblems, 'only the tile is refused').toEqual([`401 GET ${fullTile(s)}`]);
  }, 120_000);

  it('login in the popup (a wrong password first), token by postMessage, probe 200, the full-resolution tile loads', async () => {
    const { popup, popupProblems } = await clickForPopup(page, '#login');
    const closed = popup.waitForEvent('close', { timeout: 60_000 });
    expect(popup.url()).toBe(`${url}/iiif/auth/login?origin=${encodeURIComponent(clientOrigin)}`);
    expect(await popup.locator('main').innerText()).toContain(`The viewer at ${clientOrigin} asks you to sign in`);

    await popup.fill('#password', 'not the password');
    await popup.click('button[type=submit]');
    const alert = popup.locator('[role=alert]');
    await alert.waitFor({ timeout: 30_000 });
    expect(await alert.innerText()).toContain('That password is not right');
    expect(await popup.locator('#password').getAttribute('aria-invalid')).toBe('true');
    expect(await popup.locator('input[name=origin]').inputValue(), 'the form keeps the viewer origin').toBe(clientOrigin);
    expect(await context!.cookies(url), 'no cookie for a wrong password').toEqual([]);

    await popup.fill('#password', PASSWORD);
    await popup.click('button[type=submit]');
    await closed; // the signed-in page closes itself
    expect(popupProblems, 'problems in the login popup (CSP, scripts) other than the wrong password').toEqual([`401 POST ${url}/iiif/auth/login`]);

    const s = await phase(page, 'signed-in');
    expect(s.token).toMatchObject({ type: 'AuthAccessToken2' });
    expect(s.token!.expiresIn).toBeGreaterThan(0);
    expect(s.token!.accessToken?.length).toBeGreaterThan(20);
    expect(s.ignoredMessages).toBe(0);
    expect(s.probeAfter).toMatchObject({ type: 'AuthProbeResult2', status: 200 });
    expect(s.probeAfter!.substitute).toBeUndefined();
    expect(s.tileAfter, 'the full-resolution tile after login, unlocked by the cross-site cookie').toEqual({ loaded: true, naturalWidth: 512, naturalHeight: 512 });

    const cookies = await context!.cookies(url);
    expect(cookies).toEqual([expect.objectContaining({ name: 'imagehub-access', domain: 'localhost', path: '/', httpOnly: true, secure: true, sameSite: 'None' })]);
    // The browser's cookie unlocks the tile, for the browser's cache only; the same request without it is refused.
    const authorised = await context!.request.get(fullTile(s));
    expect(authorised.status()).toBe(200);
    expect(authorised.headers()['cache-control']).toMatch(/^private\b/);
    expect((await fetch(fullTile(s))).status).toBe(401);
    // A token is not a cookie.
    expect((await fetch(fullTile(s), { headers: { cookie: `imagehub-access=${s.token!.accessToken}` } })).status).toBe(401);
    expect(pageProblems, 'problems in the client page other than the tile refused before login').toEqual([`401 GET ${fullTile(s)}`]);
  }, 180_000);

  it('the logout service clears the cookie: the tile is refused again and the token service answers missingAspect', async () => {
    const { popup, popupProblems } = await clickForPopup(page, '#logout');
    expect(popup.url()).toBe(`${url}/iiif/auth/logout`);
    expect(await popup.locator('h1').first().innerText()).toBe('You are signed out');
    expect(await context!.cookies(url), 'the logout answer cleared the cookie').toEqual([]);
    const closed = popup.waitForEvent('close', { timeout: 30_000 });
    await popup.click('#close'); // the logout page closes on its button only
    await closed;
    expect(popupProblems, 'problems in the logout popup').toEqual([]);

    const s = await phase(page, 'signed-out');
    expect(s.tokenAfterLogout).toMatchObject({ type: 'AuthAccessTokenError2', profile: 'missingAspect' });
    expect(s.probeAfterLogout).toMatchObject({ status: 401 });
    expect((await context!.request.get(fullTile(s))).status()).toBe(401);
    expect(pageProblems).toEqual([`401 GET ${fullTile(s)}`]);
  }, 120_000);

  it('where third-party cookies are blocked (Incognito here): the login works, but the token service answers missingAspect and the substitute stays', async () => {
    incognito = await launchChromium();
    const blocked = await (await incognito.newContext()).newPage();
    expect((await blocked.goto(clientUrl))?.status()).toBe(200);
    await phase(blocked, 'ready');
    const { popup } = await clickForPopup(blocked, '#login');
    const closed = popup.waitForEvent('close', { timeout: 60_000 });
    await popup.fill('#password', PASSWORD);
    await popup.click('button[type=submit]');
    await closed;
    // Set, first-party, in the popup; never sent to the token service in the viewer's (third-party) iframe.
    expect(await blocked.context().cookies(url)).toEqual([expect.objectContaining({ name: 'imagehub-access' })]);
    const s = await phase(blocked, 'denied');
    expect(s.token).toMatchObject({ type: 'AuthAccessTokenError2', profile: 'missingAspect' });
    expect(await blocked.locator('#message').innerText()).toContain('Not signed in');
    expect(s.substituteImage?.loaded).toBe(true);
  }, 120_000);
});
