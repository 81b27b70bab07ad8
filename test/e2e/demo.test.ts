/**
 * The first-run demo: `npm start` on a new data folder loads the real records and ingests the stand-in images through
 * the real pipeline, writes DEMO.md naming each stand-in, and a second start on the same folder loads nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SHARED_IMAGES = resolve(ROOT, '../shared/fixtures/images');
const data = join(mkdtempSync(join(process.env.IMAGEHUB_TMP ?? tmpdir(), 'imagehub-demo-')), 'data');
let child: ChildProcess | undefined;

/** Starts `npm start` with the default demo setting; resolves with the URL and a getter of the output so far. */
async function start(): Promise<{ url: string; output: () => string }> {
  const env: Record<string, string | undefined> = { ...process.env, IMAGEHUB_DATA: data, PORT: '0', NODE_OPTIONS: '' };
  delete env.IMAGEHUB_DEMO;
  // Its own process group, so that stopping it stops `node` too and not just npm's shell.
  const process_ = spawn('npm', ['start', '--silent'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child = process_;
  let output = '';
  process_.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  process_.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start printed no URL:\n${output}`)), 30_000);
    const check = () => {
      const match = /running at (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]!);
      }
    };
    process_.stdout.on('data', check);
    process_.on('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
  });
  return { url, output: () => output };
}

async function stop(): Promise<void> {
  const running = child;
  child = undefined;
  if (!running || running.exitCode !== null) return;
  const exited = new Promise((r) => running.once('exit', r));
  process.kill(-running.pid!, 'SIGTERM');
  await exited;
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
