/**
 * The web app `npm start` serves, in headless Chromium: a record loaded with the CLI, its image uploaded through
 * the upload page (drag-and-drop's file input), seen to become ready there; the object page's Mirador loads tiles
 * with no failed request and nothing from another host, and draws the painting (pixels, not just a file); the
 * activity page lists the ingest and the home page shows the object with a thumbnail that loaded. Also the JSON
 * API's answers to good and bad input.
 *
 * Needs Debian's `chromium` (/usr/bin/chromium) driven by playwright-core, as test/browser/viewers.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM_MISSING, HAVE_CHROMIUM, launchChromium } from '../support/chromium.ts';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runImagehub, startNpmStart, type NpmStart } from '../support/processes.ts';

const IMAGE = join(ROOT, 'test/fixtures/images/bentheim.jpg');
const RECORD = join(ROOT, 'test/fixtures/datahub/vkc-imagehub-fixes/1Lido1Image__ORIGIN-oai_datahub.vlaamsekunstcollectie.be_mskgent.be_1829-A.xml');
const OBJECT = 'mskgent.be:1829-A';
const TILE_REQUEST = /\/iiif\/[23]\/mskgent\.be:1829-A~[A-Za-z0-9]+\/\d+,\d+,\d+,\d+\//;

const TITLE = `the web app of npm start in headless Chromium${CHROMIUM_MISSING}`;

describe.skipIf(!HAVE_CHROMIUM)(TITLE, () => {
  const data = mkdtempSync(join(process.env.IMAGEHUB_TMP ?? tmpdir(), 'imagehub-webapp-'));
  let server: NpmStart | undefined;
  let url: string;
  let browser: Browser;

  beforeAll(async () => {
    server = await startNpmStart(data);
    url = server.url;
    const harvest = await runImagehub(['harvest', '--file', RECORD], { IMAGEHUB_DATA: data });
    expect(harvest.code, harvest.stderr).toBe(0);
    browser = await launchChromium();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(data, { recursive: true, force: true });
  }, 60_000);

  /** Every request of a page and its frames, and what went wrong. */
  function record(page: Page) {
    const traffic = { requests: [] as string[], problems: [] as string[], tiles: 0 };
    page.on('request', (request) => traffic.requests.push(request.url()));
    page.on('requestfailed', (request) => traffic.problems.push(`failed ${request.url()}: ${request.failure()?.errorText}`));
    page.on('pageerror', (error) => traffic.problems.push(`uncaught: ${error.message}`));
    page.on('response', (response) => {
      if (response.status() >= 400) traffic.problems.push(`${response.status()} ${response.url()}`);
      if (response.status() === 200 && TILE_REQUEST.test(response.url())) traffic.tiles++;
    });
    return traffic;
  }

  function expectClean(traffic: ReturnType<typeof record>): void {
    expect(traffic.problems, 'failed requests, answers ≥ 400, page errors').toEqual([]);
    const origin = new URL(url).origin;
    const elsewhere = traffic.requests.filter((a) => !a.startsWith('data:') && !a.startsWith('blob:') && new URL(a).origin !== origin);
    expect(elsewhere, 'requests to other hosts (the app must work offline)').toEqual([]);
  }

  it('uploads an image on the upload page and shows it ready', async () => {
    const page = await browser.newPage();
    try {
      const traffic = record(page);
      expect((await page.goto(`${url}/upload`))?.status()).toBe(200);
      await page.fill('#folder', 'mskgent.be');
      // Two files at once: the painting, and text named like an image, which must fail with the ingest's reason.
      await page.setInputFiles('#files', [
        { name: '1829-A.jpg', mimeType: 'image/jpeg', buffer: readFileSync(IMAGE) },
        { name: 'notes.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('not an image at all') },
      ]);
      const row = page.locator('#list li[data-key="mskgent.be/1829-A.jpg"]');
      await row.and(page.locator('[data-status]')).waitFor({ timeout: 90_000 });
      expect(await row.getAttribute('data-status'), await row.innerText()).toBe('ready');
      expect(await row.getAttribute('data-identifier')).toBe(OBJECT);
      expect(await row.innerText()).toContain('ready');
      expect(await row.locator('progress').evaluate((p) => (p as unknown as { value: number }).value)).toBe(readFileSync(IMAGE).length);
      const bad = page.locator('#list li[data-key="mskgent.be/notes.jpg"]');
      await bad.and(page.locator('[data-status]')).waitFor({ timeout: 90_000 });
      expect(await bad.getAttribute('data-status')).toBe('failed');
      expect(await bad.innerText()).toContain('not a supported image format');
      expectClean(traffic);
    } finally {
      await page.close();
    }
  }, 120_000);

  it('the object page shows the metadata and Mirador draws the painting from tiles, every request answered, all local', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    try {
      const traffic = record(page);
      const tile = page.waitForResponse((r) => TILE_REQUEST.test(r.url()) && r.status() === 200, { timeout: 90_000 });
      expect((await page.goto(`${url}/object/${OBJECT}`))?.status()).toBe(200);
      await expect.poll(() => page.locator('#metadata').innerText()).toContain('Navez, François-Joseph');
      const links = await page.locator('.links a').evaluateAll((as) => as.map((a) => (a as unknown as { href: string }).href));
      expect(links).toContain(`${url}/iiif/presentation/3/${OBJECT}/manifest.json`);
      expect(links.some((l) => /\/iiif\/3\/mskgent\.be:1829-A~\w+\/info\.json$/.test(l))).toBe(true);
      const lido = links.find((l) => l.endsWith('/lido.xml'));
      expect(lido).toBeDefined();
      expect(await (await fetch(lido!)).text()).toContain('Salmacis');
      await tile;
      await page.waitForLoadState('networkidle', { timeout: 90_000 });
      const canvas = page.frameLocator('#viewer').locator('.openseadragon-canvas').first();
      let stdev = 0;
      for (let attempt = 0; attempt < 40 && stdev <= 25; attempt++) {
        if (attempt > 0) await page.waitForTimeout(250);
        const stats = await sharp(await canvas.screenshot()).stats();
        stdev = stats.channels.slice(0, 3).reduce((sum, channel) => sum + channel.stdev, 0) / 3;
      }
      expect(stdev, 'the viewer shows more than one colour').toBeGreaterThan(25);
      expect(traffic.tiles).toBeGreaterThan(0);
      expect(traffic.requests).toContain(`${url}/viewers/mirador/mirador.min.js`);
      expectClean(traffic);
    } finally {
      await page.close();
    }
  }, 180_000);

  it('the activity page lists the ingest and the home page shows the object with its thumbnail', async () => {
    const page = await browser.newPage();
    try {
      const traffic = record(page);
      await page.goto(`${url}/activity`);
      const row = page.locator('#activity tr', { hasText: 'mskgent.be/1829-A.jpg' });
      expect(await row.innerText()).toContain('ready');
      const failure = page.locator('#activity tr', { hasText: 'mskgent.be/notes.jpg' });
      expect(await failure.innerText()).toMatch(/failed[\s\S]*not a supported image format/);
      await page.goto(`${url}/`);
      const card = page.locator(`a.card[href="/object/${OBJECT}"]`);
      expect(await card.innerText()).toContain('Salmacis');
      const image = card.locator('img');
      await expect.poll(() => image.evaluate((img) => {
        const loaded = img as unknown as { complete: boolean; naturalWidth: number };
        return loaded.complete ? loaded.naturalWidth : 0;
      })).toBeGreaterThan(0);
      await page.fill('input[name=q]', 'francois navez');
      await page.press('input[name=q]', 'Enter');
      await page.waitForURL(/\?q=/);
      expect(await page.locator('a.card').count()).toBe(1);
      expectClean(traffic);
    } finally {
      await page.close();
    }
  }, 60_000);

  it('the API answers good input and refuses bad input with a reason', async () => {
    const institutions = (await (await fetch(`${url}/api/institutions`)).json()) as { institutionKey: string; objects: number }[];
    expect(institutions).toEqual([expect.objectContaining({ institutionKey: 'mskgent.be', objects: 1 })]);
    const objects = (await (await fetch(`${url}/api/objects?institution=mskgent.be`)).json()) as { objects: { objectId: string; thumbnail: string }[] };
    expect(objects.objects.map((o) => o.objectId)).toEqual([OBJECT]);
    expect((await fetch(objects.objects[0]!.thumbnail)).status).toBe(200);
    const object = (await (await fetch(`${url}/api/objects/${OBJECT}`)).json()) as { imageList: { info3: string }[]; manifest: string };
    expect(object.imageList).toHaveLength(1);
    expect((await fetch(object.imageList[0]!.info3)).status).toBe(200);
    expect((await fetch(object.manifest)).status).toBe(200);
    const activity = (await (await fetch(`${url}/api/activity`)).json()) as { sourceKey: string; status: string }[];
    expect(activity).toContainEqual(expect.objectContaining({ sourceKey: 'mskgent.be/1829-A.jpg', status: 'ready' }));
    expect(await (await fetch(`${url}/api/images/${OBJECT}`)).json()).toMatchObject({ status: 'ready' });

    const bad: [string, RequestInit | undefined, number][] = [
      ['/api/search?q=', undefined, 400],
      ['/api/objects', undefined, 400],
      ['/api/objects/%E0%A4', undefined, 400],
      ['/api/objects/no-colon', undefined, 400],
      ['/api/objects/mskgent.be:nothing', undefined, 404],
      ['/api/images/a%20b', undefined, 400],
      ['/api/upload/mskgent.be/.hidden.jpg', { method: 'PUT', body: 'x' }, 400],
      ['/api/upload/a//b.jpg', { method: 'PUT', body: 'x' }, 400],
      ['/api/upload/empty.jpg', { method: 'PUT', body: '' }, 400],
      ['/api/upload/x.jpg', undefined, 405],
      ['/api/nothing', undefined, 404],
      ['/object/%E0%A4', undefined, 400],
      ['/object/mskgent.be:nothing', undefined, 404],
    ];
    const uv = await (await fetch(`${url}/object/${OBJECT}?viewer=uv`)).text();
    expect(uv).toContain(`src="/viewer/uv.html?manifest=${encodeURIComponent(object.manifest)}"`);
    const hostile = await (await fetch(`${url}/?q=${encodeURIComponent('<script>alert(1)</script>')}`)).text();
    expect(hostile).not.toContain('<script>alert');
    expect(hostile).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    for (const [path, init, status] of bad) {
      const response = await fetch(`${url}${path}`, init);
      expect(response.status, path).toBe(status);
      expect((await response.text()).length, path).toBeGreaterThan(10);
    }
  }, 60_000);
});
