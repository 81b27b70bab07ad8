/**
 * `npm start` as a user runs it: a process with its own data folder, an image copied into the inbox, then the
 * static files and the dynamic Image API over HTTP on the printed URL.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOT, run as runCommand, startNpmStart, waitFor200, type NpmStart } from '../support/processes.ts';

const data = mkdtempSync(join(process.env.IMAGEHUB_TMP ?? tmpdir(), 'imagehub-e2e-'));
let server: NpmStart | undefined;
let url: string;

beforeAll(async () => {
  server = await startNpmStart(data);
  url = server.url;
}, 90_000);

afterAll(async () => {
  await server?.stop();
  rmSync(data, { recursive: true, force: true });
});

const waitFor = (address: string, timeoutMs = 60_000) => waitFor200(address, timeoutMs);

it('ingests an image dropped into the inbox and serves it statically and dynamically', async () => {
  mkdirSync(join(data, 'inbox', 'mskgent.be'), { recursive: true });
  copyFileSync(join(ROOT, 'test/fixtures/images/bentheim.jpg'), join(data, 'inbox', 'mskgent.be', '1829-A.jpg'));

  const info = await waitFor(`${url}/iiif/3/mskgent.be:1829-A/info.json`);
  expect(info.status).toBe(200);
  const body = (await info.json()) as { id: string; width: number; height: number; profile: string };
  expect(body.id.startsWith(`${url}/iiif/3/mskgent.be:1829-A~`)).toBe(true);
  expect(body.profile).toBe('level2');

  const base = await fetch(`${url}/iiif/3/mskgent.be:1829-A`, { redirect: 'manual' });
  expect(base.status).toBe(303);

  const rotated = await fetch(`${body.id}/pct:10,10,50,50/!300,300/90/gray.webp`);
  expect(rotated.status).toBe(200);
  expect(rotated.headers.get('content-type')).toBe('image/webp');
  const meta = await sharp(Buffer.from(await rotated.arrayBuffer())).metadata();
  expect(Math.max(meta.width, meta.height)).toBe(300);

  const v2 = await fetch(`${url}/iiif/2/mskgent.be:1829-A/full/150,/0/default.png`);
  expect(v2.status).toBe(200);
  expect((await sharp(Buffer.from(await v2.arrayBuffer())).metadata()).width).toBe(150);
}, 120_000);

it('`npx imagehub harvest --file` finds the running imagehub through its data folder, and the manifest appears', async () => {
  // Runs after the test above ingested mskgent.be:1829-A.
  // Through npx, as the README says (`npx imagehub`), not the bin file directly.
  const run = await runCommand('npx', ['--no-install', 'imagehub', 'harvest', '--file', join(ROOT, 'test/fixtures/datahub/vkc-imagehub-fixes')], { IMAGEHUB_DATA: data, NODE_OPTIONS: '' });
  expect(run.code, run.stderr).toBe(0);
  expect(run.stderr).toContain(`harvesting into the local imagehub at ${url}`);
  expect(run.stdout).toMatch(/4 added/);

  const manifest = await waitFor(`${url}/iiif/presentation/3/mskgent.be:1829-A/manifest.json`, 60_000);
  expect(manifest.status).toBe(200);
  const body = (await manifest.json()) as { items: { width: number }[]; label: Record<string, string[]> };
  expect(body.items).toHaveLength(1);
  const info = (await (await fetch(`${url}/iiif/3/mskgent.be:1829-A/info.json`)).json()) as { width: number };
  expect(body.items[0]!.width).toBe(info.width);
}, 120_000);
