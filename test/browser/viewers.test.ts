/**
 * Mirador and Universal Viewer, in headless Chromium, open a manifest from `npm start`: they load, show the
 * painting, request nothing that fails and nothing from another host (the viewers' bundles come from imagehub
 * itself, /viewers/…, never from a CDN).
 *
 * Needs Debian's `chromium` (/usr/bin/chromium; `.ci/run` installs it) driven by playwright-core. The first start
 * of a fresh checkout fetches the pinned viewer bundles from the npm registry (functions/local/viewer-assets.ts).
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM_MISSING, HAVE_CHROMIUM, launchChromium } from '../support/chromium.ts';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runImagehub, startNpmStart, waitFor200, type NpmStart } from '../support/processes.ts';

const IMAGE = join(ROOT, 'test/fixtures/images/bentheim.jpg');
const RECORD = join(ROOT, 'test/fixtures/datahub/vkc-imagehub-fixes/1Lido1Image__ORIGIN-oai_datahub.vlaamsekunstcollectie.be_mskgent.be_1829-A.xml');
/** Any image request to the object's image service, IIIF Image API 3 (Mirador) or 2 (UV 4 prefers the v2 service). */
const IMAGE_REQUEST = /\/iiif\/[23]\/mskgent\.be:1829-A~[A-Za-z0-9]+\/[^/]+\/[^/]+\/[^/]+\/default\.jpg$/;
/** A tile: an image request for a region smaller than the full image. */
const TILE_REQUEST = /\/iiif\/[23]\/mskgent\.be:1829-A~[A-Za-z0-9]+\/\d+,\d+,\d+,\d+\//;

const TITLE = `IIIF viewers in headless Chromium${CHROMIUM_MISSING}`;

describe.skipIf(!HAVE_CHROMIUM)(TITLE, () => {
  const data = mkdtempSync(join(process.env.IMAGEHUB_TMP ?? tmpdir(), 'imagehub-viewers-'));
  let server: NpmStart | undefined;
  let url: string;
  let manifest: string;
  let browser: Browser;
  /** The painting, as 24×18 cells of colour: what the viewers must show. */
  let painting: { width: number; height: number; cells: Buffer };

  beforeAll(async () => {
    server = await startNpmStart(data);
    url = server.url;

    mkdirSync(join(data, 'inbox', 'mskgent.be'), { recursive: true });
    copyFileSync(IMAGE, join(data, 'inbox', 'mskgent.be', '1829-A.jpg'));
    expect((await waitFor200(`${url}/iiif/3/mskgent.be:1829-A/info.json`)).status).toBe(200);

    const harvest = await runImagehub(['harvest', '--file', RECORD], { IMAGEHUB_DATA: data });
    expect(harvest.code, harvest.stderr).toBe(0);
    manifest = `${url}/iiif/presentation/3/mskgent.be:1829-A/manifest.json`;
    expect((await waitFor200(manifest)).status).toBe(200);

    const { width, height } = await sharp(IMAGE).metadata();
    painting = { width, height, cells: await sharp(IMAGE).removeAlpha().resize(24, 18, { fit: 'fill' }).raw().toBuffer() };

    browser = await launchChromium();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(data, { recursive: true, force: true });
  }, 60_000);

  interface Looks {
    stdev: number;
    alike: number;
  }

  /** What a page did on the network while a viewer loaded. */
  interface Traffic {
    requests: string[];
    failed: string[];
    errors: string[];
    pageErrors: string[];
    images: number;
    tiles: number;
  }

  async function openViewer(page: Page, path: string): Promise<Traffic> {
    const traffic: Traffic = { requests: [], failed: [], errors: [], pageErrors: [], images: 0, tiles: 0 };
    // The first failure ends the wait for tiles at once, with what went wrong (rather than a timeout).
    let troubled: (reason: Error) => void = () => undefined;
    const trouble = new Promise<never>((_, reject) => (troubled = reject));
    trouble.catch(() => undefined);
    page.on('request', (request) => traffic.requests.push(request.url()));
    page.on('requestfailed', (request) => {
      traffic.failed.push(`${request.url()}: ${request.failure()?.errorText}`);
      troubled(new Error(`request failed: ${traffic.failed.at(-1)}`));
    });
    page.on('pageerror', (error) => {
      traffic.pageErrors.push(error.message);
      troubled(new Error(`uncaught error in the page: ${error.message}`));
    });
    page.on('response', (response) => {
      if (response.status() >= 400) {
        traffic.errors.push(`${response.status()} ${response.url()}`);
        troubled(new Error(`answered ${traffic.errors.at(-1)}`));
      }
      if (response.status() === 200 && IMAGE_REQUEST.test(response.url())) {
        traffic.images++;
        if (TILE_REQUEST.test(response.url())) traffic.tiles++;
      }
    });
    const tile = page.waitForResponse((response) => TILE_REQUEST.test(response.url()) && response.status() === 200, { timeout: 90_000 });
    tile.catch(() => undefined);
    const answer = await page.goto(`${url}${path}?manifest=${encodeURIComponent(manifest)}${path.includes('mirador') ? '&lang=nl' : ''}`);
    expect(answer?.status()).toBe(200);
    await Promise.race([tile, trouble]);
    await page.waitForLoadState('networkidle', { timeout: 90_000 });
    return traffic;
  }

  /**
   * The OpenSeadragon canvas as the viewer drew it: its spread of values (a blank or single-colour canvas has
   * none), and how much of it looks like the painting where the viewer's home view puts it (fitted and centred):
   * the share of 24×18 cells whose colour is within 24 levels per channel of the painting's. Another picture, or
   * the painting's negative, matches few cells; the viewers' controls over the image cover a few.
   */
  async function canvasLooks(page: Page): Promise<Looks> {
    const shot = await page.locator('.openseadragon-canvas').first().screenshot();
    const { width: cw, height: ch } = await sharp(shot).metadata();
    const stats = await sharp(shot).stats();
    const stdev = stats.channels.slice(0, 3).reduce((sum, channel) => sum + channel.stdev, 0) / 3;
    const scale = Math.min(cw / painting.width, ch / painting.height);
    const width = Math.min(cw, Math.round(painting.width * scale));
    const height = Math.min(ch, Math.round(painting.height * scale));
    const region = { left: Math.floor((cw - width) / 2), top: Math.floor((ch - height) / 2), width, height };
    const shown = await sharp(shot).extract(region).removeAlpha().resize(24, 18, { fit: 'fill' }).raw().toBuffer();
    let alike = 0;
    for (let cell = 0; cell < 24 * 18; cell++) {
      let difference = 0;
      for (let c = 0; c < 3; c++) difference += Math.abs(shown[cell * 3 + c]! - painting.cells[cell * 3 + c]!);
      if (difference <= 3 * 24) alike++;
    }
    return { stdev, alike: alike / (24 * 18) };
  }

  /** OpenSeadragon blends tiles in after they arrive: look again for a few seconds until the painting shows. */
  async function settledCanvas(page: Page): Promise<Looks> {
    let looks = await canvasLooks(page);
    for (let attempt = 0; attempt < 40 && !(looks.stdev > 25 && looks.alike > 0.75); attempt++) {
      await page.waitForTimeout(250);
      looks = await canvasLooks(page);
    }
    return looks;
  }

  function expectCleanTraffic(traffic: Traffic): void {
    // Nothing to allow: the pages declare an inline favicon, and the one bad request UV 4.4.0 makes by itself
    // (/images/data:image/gif;…) is fixed when its bundle is extracted (see viewer-assets.ts).
    expect(traffic.failed, 'failed requests').toEqual([]);
    expect(traffic.errors, 'responses ≥ 400').toEqual([]);
    expect(traffic.pageErrors, 'uncaught errors in the page').toEqual([]);
    const origin = new URL(url).origin;
    const elsewhere = traffic.requests.filter((address) => !address.startsWith('data:') && !address.startsWith('blob:') && new URL(address).origin !== origin);
    expect(elsewhere, 'requests to other hosts (the viewers must work offline)').toEqual([]);
  }

  it('Mirador (Dutch interface) shows the painting from its tiles, every request answered, all from imagehub', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    try {
      const traffic = await openViewer(page, '/viewer/mirador.html');
      expect(traffic.requests).toContain(`${url}/viewers/mirador/mirador.min.js`);
      expect(traffic.requests).toContain(manifest);
      expect(traffic.tiles).toBeGreaterThan(0);
      await page.getByText(/\b1 van 1\b/).first().waitFor({ timeout: 30_000 }); // Mirador's Dutch canvas counter
      const looks = await settledCanvas(page);
      expect(looks.stdev).toBeGreaterThan(25);
      expect(looks.alike).toBeGreaterThan(0.75);
      expectCleanTraffic(traffic);
    } finally {
      await page.close();
    }
  }, 180_000);

  it('Universal Viewer shows the painting from its tiles, every request answered, all from imagehub', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    try {
      const traffic = await openViewer(page, '/viewer/uv.html');
      expect(traffic.requests).toContain(`${url}/viewers/uv/umd/UV.js`);
      expect(traffic.requests.some((address) => address.startsWith(`${url}/viewers/uv/umd/`) && !address.endsWith('/UV.js'))).toBe(true);
      expect(traffic.requests).toContain(manifest);
      expect(traffic.tiles).toBeGreaterThan(0);
      const looks = await settledCanvas(page);
      expect(looks.stdev).toBeGreaterThan(25);
      expect(looks.alike).toBeGreaterThan(0.75);
      expectCleanTraffic(traffic);
    } finally {
      await page.close();
    }
  }, 180_000);

  it('the viewer pages refuse a missing or non-http manifest, and /viewers/ serves only the bundles', async () => {
    expect((await fetch(`${url}/viewer/mirador.html`)).status).toBe(400);
    expect((await fetch(`${url}/viewer/uv.html?manifest=${encodeURIComponent('javascript:alert(1)')}`)).status).toBe(400);
    const js = await fetch(`${url}/viewers/mirador/mirador.min.js`, { method: 'HEAD' });
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await fetch(`${url}/viewers/uv/uv.css`)).headers.get('content-type')).toBe('text/css; charset=utf-8');
    for (const path of ['/viewers/uv/%2e%2e/package.json', '/viewers/uv/..%2f..%2fpackage.json', '/viewers/mirador/mirador.min.js.map', '/viewers/other/x.js']) {
      expect((await fetch(`${url}${path}`)).status, path).toBe(404);
    }
  }, 60_000);
});
