/**
 * Access is re-evaluated when the record or the date changes, through the real pipeline: an image published open
 * becomes restricted-size when its record arrives with an in-copyright statement (the old full-resolution files
 * withdrawn from the public store at once), and opens again by itself on 1 January of the year its creators enter
 * the public domain (the daily review, with the clock moved).
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IN_COPYRIGHT, PUBLIC_DOMAIN_MARK, type RightsDecision } from '../../functions/core/rights.ts';
import { startLocalSystem, type LocalSystem } from '../../functions/local/system.ts';
import { ORIGIN_1829A, recordOf } from '../support/presentation-fixtures.ts';

const IDENTIFIER = 'mskgent.be:1829-A';
let system: LocalSystem;
let clock = new Date('2026-11-24T12:00:00Z');

beforeAll(async () => {
  system = await startLocalSystem({ port: 0, quiet: true, now: () => clock, env: { IMAGEHUB_LOCAL_RETRY_MS: '50', IMAGEHUB_ACCESS_MAX_LONG_SIDE: '300', PATH: process.env.PATH } });
}, 60_000);

afterAll(async () => {
  await system?.close();
});

async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 300));
  await system.queue.idle();
}

async function status(path: string): Promise<number> {
  const response = await fetch(`${system.url}${path}`);
  await response.arrayBuffer();
  return response.status;
}

async function publicKeys(): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of system.derivatives.listKeys(`iiif/3/${IDENTIFIER}`)) keys.push(key);
  return keys;
}

describe('access review', () => {
  it('tightens when an in-copyright record arrives, and opens on the public-domain day', async () => {
    const body = await sharp({ create: { width: 1600, height: 1200, channels: 3, background: { r: 40, g: 90, b: 160 } } }).jpeg().toBuffer();
    await system.ingest.putBody('mskgent.be/1829-A.jpg', body, { contentType: 'image/jpeg' });
    await settle();
    const open = await system.items.get(IDENTIFIER);
    expect(open?.status).toBe('ready');
    expect(open?.published?.access).toMatchObject({ policy: 'open', basis: 'default' });
    const openRevision = open!.published!.revision;
    expect(await status(`/iiif/3/${IDENTIFIER}~${openRevision}/full/max/0/default.jpg`)).toBe(200);

    // The record arrives: in copyright until the end of 2030 (every creator public domain from 2031).
    const record = recordOf(ORIGIN_1829A);
    const rights: RightsDecision = { uri: IN_COPYRIGHT, source: 'credit-line', reasoning: 'credit line "© SABAM Belgium 2021" recognised as SABAM', publicDomainYear: 2031 };
    await system.stores.records.upsert(record, readFileSync(ORIGIN_1829A, 'utf8'), rights, 'test', clock.toISOString());
    await settle();
    const restricted = await system.items.get(IDENTIFIER);
    expect(restricted?.published?.access).toMatchObject({ policy: 'restricted-size', maxLongSide: 300, changesOn: '2031-01-01' });
    expect(restricted!.published!.revision).not.toBe(openRevision);
    // Tightened: the open revision is gone from every store at once, not kept for its clients.
    expect(restricted!.superseded).toBeUndefined();
    expect((await publicKeys()).some((key) => key.includes(`~${openRevision}`))).toBe(false);
    expect(await status(`/iiif/3/${IDENTIFIER}~${openRevision}/full/max/0/default.jpg`)).toBe(404);
    expect(await status(`/iiif/3/${IDENTIFIER}/full/max/0/default.jpg`)).toBe(401);
    expect(await status(`/iiif/3/${IDENTIFIER}/full/!300,300/0/default.jpg`)).toBe(200);
    const manifest = (await (await fetch(`${system.url}/iiif/presentation/3/${IDENTIFIER}/manifest.json`)).json()) as { rights?: string; requiredStatement: { value: Record<string, string[]> } };
    expect(manifest.rights).toBe(IN_COPYRIGHT);
    expect(manifest.requiredStatement.value.en![0]).toMatch(/31 December 2030/);

    // Nothing changes on 31 December 2030 …
    clock = new Date('2030-12-31T23:59:00Z');
    expect((await system.access.reviewAll()).republished).toEqual([]);
    // … and on 1 January 2031 the daily review opens it without anyone acting.
    clock = new Date('2031-01-01T00:05:00Z');
    const report = await system.access.reviewAll();
    expect(report.republished).toMatchObject([{ identifier: IDENTIFIER, from: 'restricted-size', to: 'open' }]);
    await settle();
    const opened = await system.items.get(IDENTIFIER);
    expect(opened?.published?.access).toMatchObject({ policy: 'open', rights: PUBLIC_DOMAIN_MARK });
    expect(await status(`/iiif/3/${IDENTIFIER}/full/max/0/default.jpg`)).toBe(200);
    const reopened = (await (await fetch(`${system.url}/iiif/presentation/3/${IDENTIFIER}/manifest.json`)).json()) as { rights?: string };
    expect(reopened.rights).toBe(PUBLIC_DOMAIN_MARK);
    // A second review finds nothing to do.
    expect((await system.access.reviewAll()).republished).toEqual([]);
  }, 120_000);
});
