/**
 * The viewer bundles' fetch and the viewer routes without a browser: a tarball that is not the pinned one is
 * refused, an unreachable registry gives 503 pages with the reason (never a crash), and the pages quote the
 * manifest URL safely. The browser test (test/browser/viewers.test.ts) covers the working path.
 */
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRouter, type RouterDeps } from '../../functions/local/router.ts';
import { ensureViewerPackage, VIEWER_PACKAGES, ViewerAssets } from '../../functions/local/viewer-assets.ts';
import { miradorPage, scriptLiteral, uvPage } from '../../functions/local/viewer-pages.ts';

const scratch = mkdtempSync(join(process.env.IMAGEHUB_TMP ?? tmpdir(), 'imagehub-viewer-assets-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A stand-in for `npm` that "packs" a tarball of its own making into --pack-destination. */
function fakeNpm(): string {
  const script = join(scratch, 'fake-npm');
  writeFileSync(
    script,
    `#!/bin/sh
while [ "$1" != "--pack-destination" ]; do shift; done
mkdir -p "$2/src/package/dist" && echo 'tampered' > "$2/src/package/dist/mirador.min.js"
tar czf "$2/mirador-4.0.0.tgz" -C "$2/src" package && rm -r "$2/src"
`,
  );
  chmodSync(script, 0o755);
  return script;
}

describe('viewer bundles', () => {
  it('refuses a tarball whose sha512 is not the pinned integrity, and leaves nothing in the cache', async () => {
    const cacheDir = join(scratch, 'tampered');
    await expect(ensureViewerPackage(VIEWER_PACKAGES.mirador, { cacheDir, npm: fakeNpm() })).rejects.toThrow(/integrity sha512-\S+ is not the pinned sha512-/);
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it('reports an unreachable registry as a reason, once per attempt, without throwing', async () => {
    const lines: string[] = [];
    const assets = new ViewerAssets({ cacheDir: join(scratch, 'offline'), npm: join(scratch, 'no-such-npm'), log: (line) => lines.push(line) });
    const state = await assets.ready();
    expect(state.ok).toBe(false);
    expect(!state.ok && state.reason).toMatch(/no-such-npm/);
    expect(await assets.ready()).toBe(state); // remembered, not retried on every request
    expect(lines.filter((line) => line.startsWith('warning:'))).toHaveLength(1);
  });
});

describe('viewer routes when the bundles are unavailable', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    const viewers = new ViewerAssets({ cacheDir: join(scratch, 'router'), npm: join(scratch, 'no-such-npm') });
    // Only the viewer routes are exercised: the IIIF dependencies are never reached.
    server = createServer(createRouter({ viewers } as unknown as RouterDeps));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('answers 503 with the reason on viewer pages and bundle files', async () => {
    for (const path of ['/viewer/mirador.html?manifest=http%3A%2F%2Fx%2Fm.json', '/viewers/uv/umd/UV.js']) {
      const response = await fetch(`${base}${path}`);
      expect(response.status, path).toBe(503);
      expect(await response.text()).toMatch(/viewers are not available: .*no-such-npm.*npm run build:viewers/s);
    }
  });

  it('still answers 404 for other paths and 405 for other methods', async () => {
    expect((await fetch(`${base}/viewer/other.html`)).status).toBe(404);
    expect((await fetch(`${base}/viewer/uv.html`, { method: 'POST' })).status).toBe(405);
  });
});

describe('viewer pages', () => {
  it('quote the manifest URL so that it cannot end the script or the title', () => {
    expect(scriptLiteral('</script><!--\u2028')).toBe('"\\u003c/script\\u003e\\u003c!--\\u2028"');
    const query = new URLSearchParams({ manifest: "https://example.org/a'b\"c/manifest.json?x=</script>", lang: 'en' });
    for (const page of [miradorPage(query), uvPage(query)]) {
      expect(page.status).toBe(200);
      const html = page.status === 200 ? page.html : '';
      expect(html.match(/<\/script>/g)).toHaveLength(html.match(/<script/g)!.length);
      expect(html).not.toMatch(/<title>[^<]*["'][^<]*<\/title>/);
    }
    expect(miradorPage(query)).toMatchObject({ html: expect.stringContaining('"language":"en"') });
    expect(miradorPage(new URLSearchParams({ manifest: 'https://example.org/m.json' }))).toMatchObject({ html: expect.stringContaining('"language":"nl"') });
  });

  it('refuse a manifest that is not an absolute http(s) URL', () => {
    for (const manifest of ['', 'manifest.json', 'javascript:alert(1)', 'file:///etc/passwd']) {
      expect(miradorPage(new URLSearchParams({ manifest })).status, manifest).toBe(400);
      expect(uvPage(new URLSearchParams({ manifest })).status, manifest).toBe(400);
    }
  });
});
