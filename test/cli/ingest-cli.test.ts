/**
 * `imagehub ingest` and `imagehub status`: the real binary (bin/imagehub.mjs) against a local imagehub started
 * in-process with a data folder, ingesting small generated JPEGs through the real pipeline.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalSystem, type LocalSystem } from '../../functions/local/system.ts';
import { runImagehub } from '../support/processes.ts';
import { FIXTURES } from '../support/datahub-records.ts';

const data = mkdtempSync(join(process.env.IMAGEHUB_TMP ?? tmpdir(), 'imagehub-ingest-cli-'));
const museum = join(data, 'museum');
let system: LocalSystem;

const imagehub = runImagehub;

function jpeg(width: number, height: number, seed: number): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7 + seed * 31 + ((i / (width * 3)) | 0)) % 251;
  return sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

beforeAll(async () => {
  system = await startLocalSystem({ dataDir: data, port: 0, quiet: true });
  mkdirSync(join(museum, 'mskgent.be'), { recursive: true });
  writeFileSync(join(museum, 'mskgent.be', 'cli-1.jpg'), await jpeg(320, 240, 1));
  writeFileSync(join(museum, 'mskgent.be', 'cli-2.jpg'), await jpeg(200, 300, 2));
  const whole = await jpeg(400, 400, 3);
  writeFileSync(join(museum, 'mskgent.be', 'cli-broken.jpg'), whole.subarray(0, Math.floor(whole.length * 0.4)));
  writeFileSync(join(museum, '.DS_Store'), 'Bud1 finder litter');
  writeFileSync(join(museum, 'notes.txt'), 'not an image');
}, 60_000);

afterAll(async () => {
  await system?.close();
  rmSync(data, { recursive: true, force: true });
});

describe('imagehub ingest', () => {
  it('uploads a folder, waits for the pipeline and summarises: two ready, the truncated one failed, litter skipped', async () => {
    const run = await imagehub(['ingest', '--data', data, museum]);
    expect(run.stderr).toContain(`uploading 3 files to bucket ${system.ingestBucket} of the local imagehub at ${system.url}`);
    expect(run.stderr).toMatch(/\[#+\]\s+100 %\s+[\d.]+ KB\/[\d.]+ KB · 3\/3 files uploaded/);
    expect(run.stderr).toMatch(/2\/3 ready, 1 failed, 0 processing/);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const infoUrl = (id: string) => `${system.url}/iiif/3/${id}/info.json`;
    expect(run.stdout).toContain(`ready      mskgent.be:cli-1  320×240  ${infoUrl('mskgent.be:cli-1')}`);
    expect(run.stdout).toContain(`ready      mskgent.be:cli-2  200×300  ${infoUrl('mskgent.be:cli-2')}`);
    expect(run.stdout).toMatch(/failed {5}mskgent\.be:cli-broken {2}.*cli-broken\.jpg: the file is truncated or damaged/);
    expect(run.stdout).toMatch(/skipped {4}.*\.DS_Store {2}hidden or system file ".DS_Store"/);
    expect(run.stdout).toMatch(/skipped {4}.*notes\.txt {2}not an image file \(\.txt\)/);
    expect(run.stdout).toMatch(/2 ready, 1 failed, 2 skipped\n$/);
    for (const id of ['mskgent.be:cli-1', 'mskgent.be:cli-2']) {
      const response = await fetch(infoUrl(id));
      expect(response.status).toBe(200);
      expect(((await response.json()) as { width: number }).width).toBeGreaterThan(0);
    }
  });

  it('a re-upload of identical bytes waits for its own ingest, and --prefix puts a single file under a folder', async () => {
    const again = await imagehub(['ingest', '--data', data, '--prefix', 'mskgent.be', join(museum, 'mskgent.be', 'cli-1.jpg'), '--json']);
    expect(again.code, again.stderr).toBe(0);
    const report = JSON.parse(again.stdout) as { ready: number; files: { key: string; identifier: string; status: string; infoJson: string }[] };
    expect(report.ready).toBe(1);
    expect(report.files[0]).toMatchObject({ key: 'mskgent.be/cli-1.jpg', identifier: 'mskgent.be:cli-1', status: 'ready' });
    const item = await system.items.get('mskgent.be:cli-1');
    expect(item?.status).toBe('ready');
  });

  it('--no-wait exits 0 right after uploading', async () => {
    const file = join(data, 'solo.jpg');
    writeFileSync(file, await jpeg(64, 48, 9));
    const run = await imagehub(['ingest', '--data', data, '--no-wait', file]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/uploaded {3}solo {2}from .*solo\.jpg/);
    expect(run.stdout).toMatch(/1 uploaded\n$/);
    expect(run.stderr).not.toMatch(/ready,/);
    await system.queue.idle();
  });

  it('refuses up front, without uploading, two files that would get one identifier', async () => {
    const dir = join(data, 'clash');
    mkdirSync(dir);
    const bytes = await jpeg(32, 32, 5);
    writeFileSync(join(dir, 'twin.jpg'), bytes);
    writeFileSync(join(dir, 'twin.tif'), bytes);
    const run = await imagehub(['ingest', '--data', data, '--no-wait', dir]);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain('uploading 1 file to bucket');
    expect(run.stdout).toMatch(/refused {4}twin {2}.*twin\.tif: the same identifier "twin" as .*twin\.jpg: rename one of them/);
    expect(await system.ingest.head('twin.tif')).toBeUndefined();
    await system.queue.idle();
  });

  it('reports the images still processing when --timeout runs out, exit 1', async () => {
    const file = join(data, 'slow.jpg');
    writeFileSync(file, await jpeg(3000, 2000, 7));
    const run = await imagehub(['ingest', '--data', data, '--timeout', '0.001', file]);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/processing slow {2}still processing after 0\.001 s \(see imagehub status slow\)/);
    expect(run.stdout).toMatch(/1 still processing\n$/);
    await system.queue.idle();
  });
});

describe('imagehub status', () => {
  it('shows one image: ready, dimensions, revision, source key and info.json', async () => {
    const run = await imagehub(['status', '--data', data, 'mskgent.be:cli-1']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^identifier {2}mskgent\.be:cli-1$/m);
    expect(run.stdout).toMatch(/^status {6}ready$/m);
    expect(run.stdout).toMatch(/^dimensions {2}320 × 240 px$/m);
    expect(run.stdout).toMatch(/^revision {4}\S+$/m);
    expect(run.stdout).toMatch(/^source key {2}mskgent\.be\/cli-1\.jpg$/m);
    expect(run.stdout).toContain(`info.json   ${system.url}/iiif/3/mskgent.be:cli-1/info.json`);

    const json = await imagehub(['status', '--data', data, 'mskgent.be:cli-1', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ identifier: 'mskgent.be:cli-1', status: 'ready', published: { width: 320, height: 240 } });
  });

  it('lists the latest ingests and failures, newest first', async () => {
    const run = await imagehub(['status', '--data', data]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^latest \d+ ingests in the local imagehub/);
    expect(run.stdout).toMatch(/ready {6}mskgent\.be:cli-2 .*info\.json/);
    expect(run.stdout).toMatch(/failed {5}mskgent\.be:cli-broken .*the file is truncated or damaged/);
    const json = JSON.parse((await imagehub(['status', '--data', data, '--json', '--limit', '2'])).stdout) as { ingests: unknown[] };
    expect(json.ingests).toHaveLength(2);
  });

  it('names the object and its manifest when the image belongs to a mirrored record', async () => {
    const harvest = await imagehub(['harvest', '--data', data, '--file', FIXTURES]);
    expect(harvest.code, harvest.stderr).toBe(0);
    const file = join(data, '1829-A.jpg');
    writeFileSync(file, await jpeg(120, 160, 4));
    const ingest = await imagehub(['ingest', '--data', data, '--prefix', 'mskgent.be/', file]);
    expect(ingest.code, ingest.stdout + ingest.stderr).toBe(0);
    const run = await imagehub(['status', '--data', data, 'mskgent.be:1829-A']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^object {6}mskgent\.be:1829-A$/m);
    const manifest = /^manifest {4}(\S+)$/m.exec(run.stdout)?.[1];
    expect(manifest).toBe(`${system.url}/iiif/presentation/3/mskgent.be:1829-A/manifest.json`);
    expect((await fetch(manifest!)).status).toBe(200);
  });

  it('an unknown harvest source is said plainly, exit 1', async () => {
    const run = await imagehub(['status', '--data', data, '--harvest', 'https://example.org/oai', '--set', 'x']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/no harvest recorded for source "https:\/\/example\.org\/oai\?set=x"/);
  });

  it('an unknown identifier is said plainly, exit 1', async () => {
    const run = await imagehub(['status', '--data', data, 'nowhere:nothing']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/no image with identifier "nowhere:nothing"/);
  });
});

describe('usage errors in plain words, exit 2', () => {
  it.each([
    [['ingest'], /name at least one file or folder to upload/],
    [['ingest', '--timeout', 'soon', 'x.jpg'], /--timeout must be a number of seconds above 0, got "soon"/],
    [['ingest', '--data', data, join(data, 'missing')], /missing: no such file or folder/],
    [['ingest', '--bogus', 'x'], /Unknown option '--bogus'/],
    [['status', 'a', 'b'], /give one identifier at most/],
    [['status', '--limit', '0'], /--limit must be a whole number from 1 to 200/],
    [['status', '--data', join(data, 'nowhere')], /no running imagehub found in .*nowhere/],
  ])('%j', async (args, message) => {
    const run = await imagehub(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it.each([
    ['ingest', 'imagehub ingest PATH…'],
    ['status', 'imagehub status ID'],
  ])('%s --help', async (command, text) => {
    const run = await imagehub([command, '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(text);
    const general = await imagehub(['--help']);
    expect(general.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  });
});
