/**
 * Keys and identifiers that try to escape their prefix.
 *
 *  - Ingest: S3 notifications for keys with `..` and `.` segments, a leading `/`, empty segments, encoded slashes
 *    (`%2F`, `%252F`), backslashes, NUL and other control characters, tildes and an overlong key (> 1024 bytes),
 *    delivered to the real ingest handler through the local queue (the object uploaded too wherever the S3
 *    stand-in can hold it). Each key is refused with a reason, ignored, or becomes an identifier of the documented
 *    alphabet; afterwards every object in the derivative and protected stores lies under `iiif/{2,3}/{identifier}…`
 *    of a valid identifier, and the stand-in wrote no file outside its buckets.
 *  - HTTP: Image API, Presentation API, Auth probe, web API and viewer-file requests whose identifiers and paths
 *    carry the same tricks, aimed at canary objects stored outside `iiif/` in the derivative store and in the
 *    ingest bucket, are refused (4xx with a reason) and never answer a canary's bytes.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identifierForKey, isIdentifier, splitRevisionIdentifier } from '../../functions/core/identifier.ts';
import { encodeKeyLikeS3 } from '../../functions/local/local-queue.ts';
import { encodeAll, listKeys, rawRequest, runs, startFuzzSystem, waitForItem, type FuzzSystem, type RawAnswer } from './support.ts';

let fuzz: FuzzSystem;
let dataDir: string;
let tinyJpeg: Buffer;
const CANARY = 'CANARY-d41d8cd98f00b204';

/** Files under a folder, relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path).map((f) => join(name, f)) : [name];
  });
}

beforeAll(async () => {
  fuzz = await startFuzzSystem('prefix');
  dataDir = fuzz.dataDir;
  tinyJpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 30, b: 30 } } }).jpeg().toBuffer();
  const canary = JSON.stringify({ secret: CANARY });
  await fuzz.system.derivatives.putBody('canary/secret.json', canary, { contentType: 'application/json' });
  await fuzz.system.derivatives.putBody('secret.json', canary, { contentType: 'application/json' });
  await fuzz.system.ingest.putBody('canary/secret.jpg', Buffer.from(canary), { contentType: 'image/jpeg' });
}, 180_000);

afterAll(async () => {
  await fuzz?.close();
});

// ---------------------------------------------------------------------------------------------------------------
// Ingest

const KEYS = [
  'esc/../x.jpg', '../x.jpg', '../../../../tmp/x.jpg', './x.jpg', 'esc/./x.jpg', '/x.jpg', '//x.jpg', 'esc//x.jpg', 'esc/..', 'esc/.', '..',
  'esc/a%2F..%2Fb.jpg', 'esc/%2e%2e/x.jpg', 'esc/%252F..%252Fy.jpg', 'esc\\..\\..\\w.jpg', 'esc/..\\v.jpg', '..\\u.jpg',
  'esc/n\u0000ul.jpg', 'esc/\u0000', 'esc/c\u0001\u001f\u007f.jpg', 'esc/\r\nz.jpg', 'esc/tilde~rev.jpg', 'esc/t~1~800.jpg', 'esc/...jpg', 'esc/.../d.jpg',
  `esc/${'o'.repeat(1100)}.jpg`, `esc/${'é'.repeat(150)}.jpg`, 'esc/\u202egpj.exe', 'esc/ \u00a0 .jpg', 'iiif/3/x/info.json', 'canary/../../iiif/3/evil/info.json',
];

/** What the S3 stand-in (a file-system store) can hold; S3 itself holds all of these, and notifies for them. */
function standInCanStore(key: string): boolean {
  const segments = key.split('/');
  return !/\p{Cc}/u.test(key) && !segments.some((s) => s === '..' || s === '.' || s === '' || Buffer.byteLength(s) > 200) && Buffer.byteLength(key) <= 1024;
}

describe('ingest keys that try to escape their prefix', () => {
  it('each is refused with a reason, ignored, or published under a valid identifier; nothing lands outside iiif/', async () => {
    const { system } = fuzz;
    const topBefore = readdirSync(dataDir).sort();
    const s3Before = readdirSync(join(dataDir, 's3')).sort();
    for (const key of KEYS) {
      if (standInCanStore(key)) await system.ingest.putBody(key, tinyJpeg, { contentType: 'image/jpeg' });
      // The notification S3 sends for the key (the stand-in's own ones, for stored keys, come too: harmless repeats).
      system.queue.send(JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: system.ingestBucket }, object: { key: encodeKeyLikeS3(key), size: tinyJpeg.length } } }] }));
    }
    await new Promise((r) => setTimeout(r, 300));
    await system.queue.idle();
    if (existsSync(join(dataDir, 'dead-letters.json'))) console.log(`dead letters: ${readFileSync(join(dataDir, 'dead-letters.json'), 'utf8').slice(0, 2000)}`);

    const outcomes: string[] = [];
    for (const key of KEYS) {
      const mapped = identifierForKey(key);
      if (mapped.kind === 'ignored') {
        outcomes.push(`${JSON.stringify(key)}: ignored (${mapped.reason})`);
        continue;
      }
      if (mapped.kind === 'refused') {
        const refusal = await system.items.getRefusal(key);
        expect(refusal?.reason, `no refusal recorded for ${JSON.stringify(key)}`).toBeTruthy();
        outcomes.push(`${JSON.stringify(key)}: refused (${refusal!.reason.slice(0, 80)})`);
        continue;
      }
      expect(isIdentifier(mapped.identifier)).toBe(true);
      if (!standInCanStore(key)) {
        // Announced but not stored: skipped as gone, or failed after retries with the reason; never published.
        const item = await system.items.get(mapped.identifier);
        expect(item?.published, JSON.stringify(key)).toBeUndefined();
        outcomes.push(`${JSON.stringify(key)}: ${mapped.identifier} ${item ? `${item.status} (${item.reason?.slice(0, 60)})` : 'not stored: skipped'}`);
        continue;
      }
      const item = await waitForItem(system, mapped.identifier);
      expect(['ready', 'failed'], `${JSON.stringify(key)} → ${mapped.identifier}`).toContain(item.status);
      outcomes.push(`${JSON.stringify(key)}: ${mapped.identifier} ${item.status}`);
    }
    console.log(`hostile ingest keys:\n${outcomes.join('\n')}`);

    // Every stored derivative is under iiif/{2,3}/ and names a valid (revision) identifier, with no dot segment.
    for (const bucket of [system.settings.derivativeBucket, system.settings.protectedBucket!]) {
      for (const key of await listKeys(system, bucket)) {
        if (key === 'canary/secret.json' || key === 'secret.json') continue;
        const match = /^iiif\/[23]\/([^/]+)\/./.exec(key);
        expect(match, `${bucket}: ${key}`).not.toBeNull();
        expect(isIdentifier(splitRevisionIdentifier(match![1]!).identifier), `${bucket}: ${key}`).toBe(true);
        expect(key.split('/'), `${bucket}: ${key}`).not.toContain('..');
        expect(key, `${bucket}: ${key}`).not.toMatch(/[\\\p{Cc}]/u);
      }
    }
    // The stand-in wrote nothing beside its buckets, and nothing beside the data folder's own files.
    // (The local queue's dead-letter file may appear: announced keys the stand-in cannot name fail three times.)
    expect(readdirSync(dataDir).filter((name) => name !== 'dead-letters.json').sort()).toEqual(topBefore.filter((name) => name !== 'dead-letters.json'));
    expect(readdirSync(join(dataDir, 's3')).sort()).toEqual(s3Before);
    // Inside the derivative and protected buckets' folders too, only files under iiif/ (and the canaries).
    for (const bucket of [system.settings.derivativeBucket, system.settings.protectedBucket!]) {
      const files = filesUnder(join(dataDir, 's3', bucket)).filter((f) => !f.startsWith('iiif/') && !f.startsWith('canary/') && !f.startsWith('secret.json'));
      expect(files, bucket).toEqual([]);
    }
  }, 180_000);
});

// ---------------------------------------------------------------------------------------------------------------
// HTTP

async function get(path: string, method = 'GET'): Promise<RawAnswer> {
  return rawRequest(fuzz.system.url, { method, path });
}

function expectRefusedWithoutCanary(path: string, answer: RawAnswer): void {
  const body = answer.body.toString('utf8');
  expect(body, `${path} answered a canary`).not.toContain(CANARY);
  expect(answer.status, `${path} → ${answer.status}: ${body.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
  expect(answer.status, `${path} → ${answer.status}: ${body.slice(0, 200)}`).toBeLessThan(500);
  expect(body.trim().length, `${path} → ${answer.status} without a reason`).toBeGreaterThan(0);
}

/** Ways to write "go up and into canary/": raw, encoded, double-encoded, with backslashes, NULs and tildes. */
const TRAVERSALS = [
  '..%2Fcanary%2Fsecret.json', '..%2F..%2Fcanary%2Fsecret.json', '%2E%2E%2Fcanary%2Fsecret.json', '..%252Fcanary%252Fsecret.json', '..%5Ccanary%5Csecret.json',
  '..%5C..%5Csecret.json', 'canary%2Fsecret.json', '%2Fcanary%2Fsecret.json', 'x%00..%2Fcanary', '..', '.', '%2E%2E', '%2e', '...', 'canary~..~secret',
  `${'a'.repeat(2000)}`, `${'%F0%9F%98%80'.repeat(300)}`, '%C0%AE%C0%AE%2Fcanary', '%00', 'secret.json', '..%2Fsecret.json',
];

describe('HTTP identifiers that try to escape their prefix', () => {
  it('Image API, Presentation, Auth probe, web API and viewer files refuse them and never answer a canary', async () => {
    const paths: string[] = [];
    for (const t of TRAVERSALS) {
      for (const v of ['2', '3']) {
        paths.push(`/iiif/${v}/${t}`, `/iiif/${v}/${t}/info.json`, `/iiif/${v}/${t}/full/max/0/default.jpg`, `/iiif/${v}/${t}~r/full/max/0/default.jpg`, `/iiif/${v}/${t}/0,0,512,512/512,/0/default.jpg`);
        paths.push(`/iiif/presentation/${v}/${t}/manifest.json`, `/iiif/presentation/${v}/collection/${t}.json`, `/iiif/presentation/${v}/collection/${t}/${t}.json`);
        paths.push(`/iiif/presentation/${v}/lookup?recordId=${t}`, `/iiif/presentation/${v}/lookup?objectNumber=${t}&institution=${t}`);
      }
      paths.push(`/iiif/auth/probe/${t}`, `/api/objects/${t}`, `/api/objects/${t}/lido.xml`, `/api/images/${t}`, `/api/images/x?key=${t}`, `/object/${t}`);
      paths.push(`/viewers/mirador/${t}`, `/viewers/uv/${t}`, `/viewers/mirador/..%2F..%2F..%2F${t}`);
    }
    const failures: string[] = [];
    for (const path of paths) {
      try {
        const answer = await get(path);
        // A probe answers 200 with its own status in the body (Auth 2.0); a lookup of nothing is 400/404.
        if (path.startsWith('/iiif/auth/probe/') && answer.status === 200) {
          expect(JSON.parse(answer.body.toString('utf8'))).toMatchObject({ status: 404 });
          continue;
        }
        // The status of an image not yet known is `queued` (the upload page polls it), and `/object/..` is `/` once
        // the URL is normalised: those may answer 200, never with a canary.
        if (/^\/(api\/images|object)\//.test(path) && answer.status === 200) expect(answer.body.toString('utf8'), path).not.toContain(CANARY);
        else expectRefusedWithoutCanary(path, answer);
      } catch (error) {
        failures.push(error instanceof Error ? error.message.split('\n')[0]! : String(error));
      }
    }
    expect(failures, `${failures.length} of ${paths.length} requests`).toEqual([]);
  }, 180_000);

  it('generated traversals around the canary are refused by every service', async () => {
    const piece = fc.constantFrom('..', '.', '%2E%2E', '%2e', '%2F', '%252F', '%5C', '\\', '%00', '~', ':', 'canary', 'secret.json', 'info.json', 'iiif', '3', 'x');
    const identifier = fc.array(piece, { minLength: 1, maxLength: 8 }).map((parts) => parts.join(''));
    const route = fc.constantFrom(
      (id: string) => `/iiif/3/${id}/info.json`,
      (id: string) => `/iiif/2/${id}/full/full/0/default.jpg`,
      (id: string) => `/iiif/3/${id}`,
      (id: string) => `/iiif/presentation/3/${id}/manifest.json`,
      (id: string) => `/iiif/auth/probe/${id}`,
      (id: string) => `/api/images/${id}`,
      (id: string) => `/api/objects/${id}`,
      (id: string) => `/viewers/mirador/${id}`,
    );
    await fc.assert(
      fc.asyncProperty(identifier, route, async (id, make) => {
        for (const written of [id, encodeAll(id)]) {
          const path = make(written.replace(/\\/g, '%5C'));
          const answer = await get(path);
          const body = answer.body.toString('utf8');
          expect(body, `${path} answered a canary`).not.toContain(CANARY);
          expect(answer.status, `${path} → ${answer.status}`).toBeLessThan(500);
          // Whatever resolves to a real route may answer (e.g. `/iiif/3/x/..%2F..` normalised); what is refused says why.
          if (answer.status >= 400) expect(body.trim().length, `${path} → ${answer.status} without a reason`).toBeGreaterThan(0);
        }
      }),
      runs(300),
    );
  }, 180_000);

  it('the canaries are there (so the checks above could see them leak)', async () => {
    expect((await fuzz.system.derivatives.getBytes('canary/secret.json'))?.length).toBeGreaterThan(0);
    expect((await fuzz.system.ingest.getBytes('canary/secret.jpg'))?.length).toBeGreaterThan(0);
  });
});
