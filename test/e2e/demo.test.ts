/**
 * The first-run demo: `npm start` on a new data folder loads the real records and ingests the stand-in images through
 * the real pipeline, writes DEMO.md naming each stand-in, and a second start on the same folder loads nothing.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ROOT, startNpmStart, type NpmStart } from '../support/processes.ts';

const SHARED_IMAGES = resolve(ROOT, '../shared/fixtures/images');
const data = join(mkdtempSync(join(process.env.IMAGEHUB_TMP ?? tmpdir(), 'imagehub-demo-')), 'data');
let running: NpmStart | undefined;

/** `npm start` with the default demo setting. */
async function start(): Promise<NpmStart> {
  running = await startNpmStart(data, { IMAGEHUB_DEMO: undefined }, 30_000);
  return running;
}

async function stop(): Promise<void> {
  await running?.stop();
  running = undefined;
}

afterAll(async () => {
  await stop();
  rmSync(dirname(data), { recursive: true, force: true });
});

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

it('loads the demo on a new data folder, and not again on the next start', async () => {
  const { url, output } = await start();

  const manifest = await waitFor('the 1829-A manifest', async () => {
    const response = await fetch(`${url}/iiif/presentation/3/mskgent.be:1829-A/manifest.json`);
    return response.status === 200 ? ((await response.json()) as { items: unknown[] }) : undefined;
  });
  expect(manifest.items).toHaveLength(1);
  expect((await fetch(`${url}/object/mskgent.be:1829-A`)).status).toBe(200);

  if (existsSync(SHARED_IMAGES)) {
    const groeninge = await waitFor('both Groeninge canvases', async () => {
      const response = await fetch(`${url}/iiif/presentation/3/groeningemuseum.be:0000_GRO0208_I/manifest.json`);
      if (response.status !== 200) return undefined;
      const body = (await response.json()) as { items: { id: string }[] };
      return body.items.length === 2 ? body : undefined;
    });
    expect(groeninge.items.map((canvas) => canvas.id.split('/canvas/')[1])).toEqual([
      'groeningemuseum.be:0000.GRO0208.I',
      'groeningemuseum.be:0000.GRO0208.I-detail',
    ]);
    const kmska = await waitFor('the KMSKA 257 canvas', async () => {
      const response = await fetch(`${url}/iiif/presentation/3/kmska.be:257/manifest.json`);
      if (response.status !== 200) return undefined;
      const body = (await response.json()) as { items: unknown[] };
      return body.items.length === 1 ? body : undefined;
    });
    expect(kmska.items).toHaveLength(1);
  }

  const demo = await waitFor('DEMO.md', async () => (existsSync(join(data, '.demo-loaded')) ? readFileSync(join(data, 'DEMO.md'), 'utf8') : undefined));
  expect(demo).toMatch(/NOT the real artwork/);
  expect(demo).toContain('`mskgent.be/1829-A.jpg` | MSK Gent 1829-A');
  expect(demo).toContain('Gezicht op kasteel Bentheim');
  if (existsSync(SHARED_IMAGES)) {
    expect(demo).toContain('`groeningemuseum.be/0000.GRO0208.I.jpg` | Groeningemuseum 0000.GRO0208.I');
    expect(demo).toContain('`kmska.be/257.tif` | KMSKA 257');
  }
  expect(demo).toContain(`${url}/iiif/presentation/3/mskgent.be:1829-A/manifest.json`);
  expect(output()).toMatch(/demo: .*stand-ins, NOT the records' artworks/);
  await stop();

  const marker = readFileSync(join(data, '.demo-loaded'), 'utf8');
  const again = await start();
  expect(again.output()).toMatch(/demo +not loaded/);
  const response = await fetch(`${again.url}/iiif/presentation/3/mskgent.be:1829-A/manifest.json`);
  expect(response.status).toBe(200);
  await new Promise((r) => setTimeout(r, 500));
  expect(again.output()).not.toMatch(/^demo: /m);
  expect(readFileSync(join(data, '.demo-loaded'), 'utf8')).toBe(marker);
  await stop();
}, 90_000);
