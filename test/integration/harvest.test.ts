/**
 * The real harvester against a data-hub-like OAI-PMH repository (test/support/oai-server.ts) and the DynamoDB
 * stand-in: 120 records made from the real VKC LIDO records (the four 2019 ORIGIN records, object numbers and
 * PIDs varied), 5 pages of 25. Time is a fake clock, so Retry-After and back-off waits are instant but checked.
 * Each test has its own table and repository.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapLidoRecord } from '../../functions/core/lido.ts';
import type { LinkHints } from '../../functions/core/image-item.ts';
import { RecordTooLargeError, type UpsertResult } from '../../functions/core/mirror.ts';
import type { MappedRecord } from '../../functions/core/record.ts';
import { reconcile, runHarvest, type Clock, type Fetch, type HarvestOptions, type RecordMirror } from '../../functions/harvest/harvest.ts';
import { createHarvestHandler, harvestRequest, parseHarvestSettings } from '../../functions/harvest/handler.ts';
import { ensureTable, startStandIns, type StandIns } from '../../functions/local/stand-ins.ts';
import { cleaned, collection, FIXTURES, HUB, makeRecord, type Made } from '../support/datahub-records.ts';
import { createDocumentClient } from '../../functions/store/clients.ts';
import { ImageItems } from '../../functions/store/image-items.ts';
import { HarvestStateStore, RecordStore, type MirroredRecord } from '../../functions/store/records.ts';
import { startOaiServer, type OaiServer, type RepositoryRecord } from '../support/oai-server.ts';

const START = Date.parse('2026-03-01T12:00:00Z');

interface FakeClock extends Clock {
  sleeps: number[];
  advance(ms: number): void;
}

function fakeClock(start = START): FakeClock {
  let now = start;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    advance: (ms) => {
      now += ms;
    },
    sleeps,
  };
}

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

let standIns: StandIns;
let db: DynamoDBDocumentClient;
let tables = 0;
const servers: OaiServer[] = [];

beforeAll(async () => {
  standIns = await startStandIns();
  db = createDocumentClient(
    { AWS_ENDPOINT_URL_DYNAMODB: standIns.dynamoEndpoint },
    { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } },
  );
});
afterAll(async () => {
  for (const server of servers) await server.close();
  await standIns?.close();
});

interface Rig {
  server: OaiServer;
  store: RecordStore;
  state: HarvestStateStore;
  clock: FakeClock;
  images: ImageItems;
  /** Every upsert the harvester made, with its outcome. */
  upserts: { recordId: string; result: UpsertResult }[];
  /** ListRecords/ListIdentifiers/GetRecord/Identify requests, by query string. */
  requests: string[];
  /** Run before each request the harvester sends (to inject faults at a given point). */
  beforeRequest?: (request: string, count: number) => void | Promise<void>;
  /** What the harvester logged. */
  logs: { message: string; details?: Record<string, unknown> }[];
  options: Omit<HarvestOptions, 'mode'>;
}

async function rig(records: RepositoryRecord[], options: { pageSize?: number } = {}): Promise<Rig> {
  const table = `harvest-${++tables}`;
  await ensureTable(db, table);
  const server = await startOaiServer(records, options);
  servers.push(server);
  const store = new RecordStore(db, table);
  const state = new HarvestStateStore(db, table);
  const clock = fakeClock();
  const upserts: Rig['upserts'] = [];
  const counting: RecordMirror = {
    upsert: async (...args) => {
      const result = await store.upsert(...args);
      upserts.push({ recordId: args[0].recordId, result });
      return result;
    },
    upsertMany: async (inputs, ...rest) => {
      const results = await store.upsertMany(inputs, ...rest);
      results.forEach((result, i) => {
        if (typeof result === 'string') upserts.push({ recordId: inputs[i]!.record.recordId, result });
      });
      return results;
    },
    markDeleted: (...args) => store.markDeleted(...args),
    listSourceIds: (source) => store.listSourceIds(source),
  };
  const requests: string[] = [];
  const logs: Rig['logs'] = [];
  const recordingFetch: Fetch = async (url, init) => {
    const query = new URL(url).search;
    requests.push(query);
    await r.beforeRequest?.(query, requests.length);
    return fetch(url, init);
  };
  const r: Rig = {
    server, store, state, clock, upserts, requests, logs,
    images: new ImageItems(db, table),
    options: {
      fetch: recordingFetch, records: counting, state, clock, source: 'test-hub', baseUrl: server.url,
      log: (message, details) => logs.push({ message, ...(details ? { details } : {}) }),
    },
  };
  return r;
}

const listRequests = (r: Rig) => r.requests.filter((q) => q.includes('verb=ListRecords'));

describe('full harvest', () => {
  let r: Rig;
  let made: Made[];

  beforeAll(async () => {
    made = collection();
    r = await rig(made.map((m) => m.record));
  });

  it('harvests 120 records over 5 pages, following the resumption tokens', async () => {
    const report = await runHarvest({ ...r.options, mode: 'auto' });
    expect(report).toMatchObject({ mode: 'full', pages: 5, added: 120, updated: 0, unchanged: 0, deleted: 0, skipped: 0, resumed: false, complete: true });
    expect(report.skippedRecords).toEqual([]);
    const lists = listRequests(r);
    expect(lists).toHaveLength(5);
    expect(lists[0]).toBe('?verb=ListRecords&metadataPrefix=oai_lido');
    expect(lists.slice(1).every((q) => /^\?verb=ListRecords&resumptionToken=[^&]+$/.test(q))).toBe(true);
    // A first harvest needs no granularity: no Identify.
    expect(r.requests.some((q) => q.includes('Identify'))).toBe(false);
    expect(new Set(r.upserts.map((u) => u.recordId)).size).toBe(120);

    const state = await r.state.get('test-hub');
    expect(state.running).toBeUndefined();
    expect(state.lastSuccess).toMatchObject({ startedAt: new Date(START).toISOString(), report: { added: 120, complete: true } });
  });

  it('stores the mapped record, its rights decision and the raw XML as sent', async () => {
    const m = made[0]!;
    const stored = await r.store.get(m.record.identifier);
    expect(stored).toMatchObject({
      recordId: m.record.identifier, status: 'active', datestamp: m.record.datestamp, source: 'test-hub', institutionKey: 'mskgent.be',
      record: { objectNumber: m.objectNumber, dataPid: m.dataPid, workPid: m.workPid, oaiIdentifier: m.record.identifier },
    });
    expect(stored!.rights).toMatchObject({ source: expect.any(String), reasoning: expect.any(String) });
    expect(stored!.contentHash).toMatch(/^[0-9a-f]{64}$/);
    // The metadata element's content as sent (the OAI-PMH core trims the whitespace around it).
    expect(await r.store.rawXml(m.record.identifier)).toBe(m.record.xml.trim());
    expect(stored!.rawXmlBytes).toBe(Buffer.byteLength(m.record.xml.trim()));
    expect(stored!.rawXmlTooLarge).toBeUndefined();
  });

  it('finds records by data PID and work PID, however the PID is written', async () => {
    const m = made[5]!;
    const ids = async (found: AsyncIterable<MirroredRecord>) => (await all(found)).map((x) => x.recordId);
    expect(await ids(r.store.findByDataPid(m.dataPid))).toEqual([m.record.identifier]);
    const url = new URL(m.dataPid);
    expect(await ids(r.store.findByDataPid(`HTTPS://${url.host.toUpperCase()}${url.pathname}/`))).toEqual([m.record.identifier]);
    expect(await ids(r.store.findByWorkPid(m.workPid.replace('http:', 'https:')))).toEqual([m.record.identifier]);
    expect(await ids(r.store.findByDataPid('http://mskgent.be/collection/work/data/nope'))).toEqual([]);
  });

  it('finds records by object number in both forms, and lists an institution', async () => {
    const groeninge = made.find((m) => m.institution === 'groeningemuseum.be')!;
    expect(groeninge.objectNumber).toMatch(/^0000\.GRO\d+\.I$/);
    const raw = await all(r.store.findByObjectNumber('groeningemuseum.be', groeninge.objectNumber));
    const clean = await all(r.store.findByObjectNumber('http://www.groeningemuseum.be/', cleaned(groeninge.objectNumber)));
    expect(raw.map((x) => x.recordId)).toEqual([groeninge.record.identifier]);
    expect(clean.map((x) => x.recordId)).toEqual([groeninge.record.identifier]);

    const kmska = await all(r.store.listInstitution('kmska.be'));
    expect(kmska).toHaveLength(60);
    const ids = kmska.map((x) => x.recordId);
    expect(ids).toEqual([...ids].sort());
    expect(await all(r.store.listInstitution('www.mskgent.be'))).toHaveLength(30);
  });

  it('lists what changed since a time', async () => {
    expect(await all(r.store.changedSince('2026-01-01T00:00:00Z'))).toHaveLength(120);
    expect(await all(r.store.changedSince(new Date(START + 1).toISOString()))).toHaveLength(0);
  });

  it('a second full harvest writes nothing: every record is unchanged', async () => {
    const before = r.upserts.length;
    r.clock.advance(3_600_000);
    const report = await runHarvest({ ...r.options, mode: 'full' });
    expect(report).toMatchObject({ mode: 'full', pages: 5, added: 0, updated: 0, unchanged: 120, complete: true });
    expect(r.upserts.length - before).toBe(120);
    expect(await all(r.store.changedSince(new Date(START + 1).toISOString()))).toHaveLength(0);
  });
});

describe('incremental harvest', () => {
  it('asks from the previous start minus the overlap and writes only the changed records', async () => {
    const made = collection();
    const r = await rig(made.map((m) => m.record));
    expect((await runHarvest({ ...r.options })).complete).toBe(true);

    // Two days later: five records edited, one republished without change (new datestamp, same XML).
    r.clock.advance(2 * 86_400_000);
    const edited = [3, 17, 44, 80, 119];
    for (const i of edited) {
      const m = made[i]!;
      r.server.records[i] = { ...m.record, datestamp: '2026-03-02T08:00:00Z', xml: m.record.xml.replace('</lido:lido>', '<!-- edited --></lido:lido>') };
    }
    r.server.records[50] = { ...made[50]!.record, datestamp: '2026-03-02T09:00:00Z' };
    r.requests.length = 0;
    r.upserts.length = 0;
    const secondStart = r.clock.now();

    const report = await runHarvest({ ...r.options, mode: 'auto', overlapSeconds: 86_400 });
    expect(report).toMatchObject({ mode: 'incremental', from: '2026-02-28T12:00:00Z', pages: 1, added: 0, updated: 5, unchanged: 1, complete: true });
    expect(r.requests[0]).toBe('?verb=Identify');
    expect(listRequests(r)).toEqual(['?verb=ListRecords&metadataPrefix=oai_lido&from=2026-02-28T12%3A00%3A00Z']);
    expect(r.upserts.map((u) => u.recordId).sort()).toEqual([...edited, 50].map((i) => made[i]!.record.identifier).sort());

    const changed = await all(r.store.changedSince(new Date(secondStart).toISOString()));
    expect(changed.map((x) => x.recordId).sort()).toEqual(edited.map((i) => made[i]!.record.identifier).sort());
    // The republished record's datestamp advanced (the staleness guard) without counting as a change.
    expect((await r.store.get(made[50]!.record.identifier))!.datestamp).toBe('2026-03-02T09:00:00Z');

    // Nothing changed since: noRecordsMatch is success.
    r.clock.advance(2 * 86_400_000);
    const quiet = await runHarvest({ ...r.options });
    expect(quiet).toMatchObject({ mode: 'incremental', from: '2026-03-02T12:00:00Z', pages: 0, added: 0, updated: 0, complete: true });
    expect((await r.state.get('test-hub')).lastSuccess?.startedAt).toBe(new Date(r.clock.now()).toISOString());
  });
});

describe('sets', () => {
  it('leaves out other sets\' records when the repository ignores set on incremental requests (the Datahub does)', async () => {
    const made = collection(30);
    const r = await rig(made.map((m) => m.record));
    const set = 'institution:kmska_be';
    const fetchAsDatahub: Fetch = (url, init) => {
      const asked = new URL(url);
      if (asked.searchParams.has('from')) asked.searchParams.delete('set');
      return r.options.fetch(asked.toString(), init);
    };
    expect(await runHarvest({ ...r.options, set, fetch: fetchAsDatahub })).toMatchObject({ mode: 'full', added: 14 });
    r.clock.advance(86_400_000);
    for (const i of [0, 1, 2, 3]) r.server.records[i] = { ...made[i]!.record, datestamp: '2026-03-02T00:00:00Z', xml: `${made[i]!.record.xml}<!-- v2 -->` };
    const report = await runHarvest({ ...r.options, set, fetch: fetchAsDatahub });
    // Records 2 and 3 are KMSKA's; 0 and 1 (MSK, Groeninge) came only because the set was ignored.
    expect(report).toMatchObject({ mode: 'incremental', updated: 2, outsideSet: 2, added: 0 });
    expect(await r.store.get(made[0]!.record.identifier)).toBeUndefined();
  });
});

describe('faults mid-list', () => {
  it('a dropped connection and a 503 with Retry-After are retried: nothing lost, nothing twice', async () => {
    const r = await rig(collection().map((m) => m.record));
    r.beforeRequest = (query, count) => {
      if (count === 3) r.server.faults.push({ kind: 'drop' });
      if (count === 5) r.server.faults.push({ kind: '503', retryAfterSeconds: 120 });
      if (count === 7) r.server.faults.push({ kind: '503', retryAfterSeconds: 7200 });
    };
    const report = await runHarvest({ ...r.options });
    expect(report).toMatchObject({ pages: 5, added: 120, unchanged: 0, complete: true });
    expect(r.upserts).toHaveLength(120);
    expect(new Set(r.upserts.map((u) => u.recordId)).size).toBe(120);
    // The cut-off page was backed off (2 s), the 503s waited their Retry-After, two hours capped at five minutes.
    expect(r.clock.sleeps).toEqual([2_000, 120_000, 300_000]);
    const faults = r.logs.filter((l) => l.message === 'OAI-PMH request failed').map((l) => l.details?.fault);
    expect(faults).toEqual([expect.stringMatching(/terminated|closed|cut off/), 'HTTP 503 (Retry-After 120 s)', 'HTTP 503 (Retry-After 7200 s)']);
    expect(listRequests(r)).toHaveLength(8);
  });

  it('after the last attempt the run stops with its checkpoint, and the next run resumes there', async () => {
    const r = await rig(collection().map((m) => m.record));
    r.beforeRequest = (_query, count) => {
      if (count === 3) r.server.faults.push(...Array.from({ length: 5 }, () => ({ kind: 'drop' as const })));
    };
    const first = await runHarvest({ ...r.options });
    expect(first).toMatchObject({ pages: 2, added: 50, complete: false });
    expect(first.stoppedBecause).toMatch(/^gave up after 5 attempts: /);
    expect(r.clock.sleeps).toEqual([2_000, 4_000, 8_000, 16_000]);
    const checkpoint = (await r.state.get('test-hub')).running!;
    expect(checkpoint).toMatchObject({ mode: 'full', pages: 2, counts: { added: 50 } });
    const failedRequest = listRequests(r)[2]!;
    expect(failedRequest).toBe(`?verb=ListRecords&resumptionToken=${encodeURIComponent(checkpoint.token!)}`);

    r.beforeRequest = undefined;
    r.requests.length = 0;
    const second = await runHarvest({ ...r.options });
    expect(second).toMatchObject({ mode: 'full', pages: 5, added: 120, unchanged: 0, resumed: true, complete: true });
    expect(listRequests(r)[0]).toBe(failedRequest);
    expect(r.upserts).toHaveLength(120);
    expect(new Set(r.upserts.map((u) => u.recordId)).size).toBe(120);
    expect((await r.state.get('test-hub')).running).toBeUndefined();
  });
});

describe('restarts', () => {
  it('stops before the deadline after page 2, and the next invocation resumes with nothing lost', async () => {
    const r = await rig(collection().map((m) => m.record));
    // Every request takes 10 s of (fake) time, and a page's turn two requests' worth (the next page is read while
    // it is stored): the deadline leaves room for two pages, not three.
    r.beforeRequest = () => r.clock.advance(10_000);
    const first = await runHarvest({ ...r.options, deadline: START + 65_000, retry: { reserveMs: 0 } });
    expect(first).toMatchObject({ pages: 2, added: 50, complete: false, stoppedBecause: 'deadline', resumed: false });
    expect((await r.state.get('test-hub')).running).toMatchObject({ pages: 2, counts: { added: 50 } });

    const second = await runHarvest({ ...r.options });
    expect(second).toMatchObject({ pages: 5, added: 120, unchanged: 0, resumed: true, complete: true });
    expect(new Set(r.upserts.map((u) => u.recordId)).size).toBe(120);
    expect(r.upserts).toHaveLength(120);
  });

  it('a crash in the middle of a page: the page is done again, idempotently', async () => {
    const r = await rig(collection().map((m) => m.record));
    const crashing: RecordMirror = {
      ...r.options.records,
      // Page 3 (records 51–75) stops after its first 10 records.
      upsertMany: async (inputs, ...rest) => {
        const room = 60 - r.upserts.length;
        if (inputs.length <= room) return r.options.records.upsertMany(inputs, ...rest);
        await r.options.records.upsertMany(inputs.slice(0, room), ...rest);
        throw new Error('simulated crash');
      },
    };
    const first = await runHarvest({ ...r.options, records: crashing });
    expect(first).toMatchObject({ complete: false, stoppedBecause: 'stopped by an error: simulated crash' });
    expect((await r.state.get('test-hub')).running).toMatchObject({ pages: 2, counts: { added: 50 } });

    const second = await runHarvest({ ...r.options });
    expect(second).toMatchObject({ pages: 5, resumed: true, complete: true });
    // Page 3 again: what the crashed invocation wrote is unchanged now; every record is in the mirror once.
    expect(second.added + second.unchanged).toBe(120);
    expect(second.unchanged).toBeGreaterThan(0);
    expect(second.unchanged).toBe(r.upserts.filter((u) => u.result === 'unchanged').length);
    expect(r.upserts.filter((u) => u.result === 'added')).toHaveLength(120);
    expect(await all(r.store.listSourceIds('test-hub'))).toHaveLength(120);
  });

  it('abandons the page read ahead when the run stops: no request, retry or report after it', async () => {
    const r = await rig(collection().map((m) => m.record));
    // Page 3 is read ahead while page 2 is written; its request waits until the run has stopped (page 2's store
    // fails), and would be cut off.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    r.beforeRequest = (_query, count) => (count === 3 ? held : undefined);
    const crashing: RecordMirror = {
      ...r.options.records,
      upsertMany: async (inputs, ...rest) => {
        const results = await r.options.records.upsertMany(inputs, ...rest);
        if (r.upserts.length > 25) throw new Error('simulated crash');
        return results;
      },
    };
    const first = await runHarvest({ ...r.options, records: crashing });
    expect(first).toMatchObject({ pages: 1, complete: false, stoppedBecause: 'stopped by an error: simulated crash' });
    r.server.faults.push({ kind: 'drop' });
    release();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(listRequests(r)).toHaveLength(3);
    expect(r.logs.filter((l) => l.message === 'OAI-PMH request failed')).toEqual([]);
    expect(r.server.faults).toHaveLength(1);
  });

  it('of two invocations only one advances the run: the other stops at its next checkpoint', async () => {
    const r = await rig(collection().map((m) => m.record));
    // While the first invocation stores page 2, another one takes the run over (a retry, an on-demand invoke).
    const state = r.state;
    const racing: HarvestOptions['state'] = {
      get: (...args) => state.get(...args),
      start: (...args) => state.start(...args),
      takeOver: (...args) => state.takeOver(...args),
      finish: (...args) => state.finish(...args),
      recordReconcile: (...args) => state.recordReconcile(...args),
      checkpoint: async (...args) => {
        if (args[2].pages === 2) {
          const running = (await state.get('test-hub')).running!;
          expect(await state.takeOver('test-hub', running.owner, 'the other invocation', new Date(r.clock.now()).toISOString())).toBe(true);
          // Nor can a third start a run of its own while this one is unfinished.
          expect(await state.start('test-hub', { ...running, owner: 'a third' })).toBe(false);
        }
        return state.checkpoint(...args);
      },
    };
    const first = await runHarvest({ ...r.options, state: racing });
    expect(first).toMatchObject({ pages: 2, complete: false, stoppedBecause: 'another invocation took the run over' });
    expect((await r.state.get('test-hub')).running).toMatchObject({ owner: 'the other invocation', pages: 1, resumptions: 1 });

    const second = await runHarvest({ ...r.options });
    expect(second).toMatchObject({ pages: 5, resumed: true, complete: true });
    expect(await all(r.store.listSourceIds('test-hub'))).toHaveLength(120);
  });

  it('a refused resumption token restarts the list from the run\'s from', async () => {
    const made = collection();
    const r = await rig(made.map((m) => m.record));
    await runHarvest({ ...r.options });
    // 40 records change: an incremental list of two pages; the invocation stops after the first.
    r.clock.advance(86_400_000);
    for (let i = 0; i < 40; i++) r.server.records[i] = { ...made[i]!.record, datestamp: '2026-03-02T00:00:00Z', xml: made[i]!.record.xml.replace('</lido:lido>', '<!-- v2 --></lido:lido>') };
    r.beforeRequest = () => r.clock.advance(10_000);
    const first = await runHarvest({ ...r.options, deadline: r.clock.now() + 35_000, retry: { reserveMs: 15_000 } });
    expect(first).toMatchObject({ mode: 'incremental', from: '2026-02-28T12:00:00Z', pages: 1, updated: 25, complete: false, stoppedBecause: 'deadline' });

    r.beforeRequest = undefined;
    r.requests.length = 0;
    r.server.faults.push({ kind: 'badResumptionToken' });
    const second = await runHarvest({ ...r.options });
    expect(second).toMatchObject({ mode: 'incremental', resumed: true, complete: true, updated: 40, unchanged: 25 });
    expect(listRequests(r)).toEqual([
      expect.stringContaining('resumptionToken='),
      '?verb=ListRecords&metadataPrefix=oai_lido&from=2026-02-28T12%3A00%3A00Z',
      expect.stringContaining('resumptionToken='),
    ]);
  });
});

describe('versions and deletions', () => {
  it('an older datestamp never overwrites a newer record', async () => {
    const made = collection(30);
    const r = await rig(made.map((m) => m.record));
    await runHarvest({ ...r.options });
    const m = made[7]!;
    // The mirror meanwhile got a newer version (e.g. by GetRecord); the repository still lists the older one.
    const newer = mapLidoRecord(m.record.xml.replace('</lido:lido>', '<!-- newer --></lido:lido>'), { identifier: m.record.identifier, datestamp: '2026-06-01T00:00:00Z', setSpecs: [], deleted: false });
    if (!newer.ok) throw new Error('fixture does not map');
    expect(await r.store.upsert(newer.record, 'newer xml', { source: 'none', reasoning: 'test' }, 'test-hub', '2026-06-01T00:00:01Z')).toBe('updated');

    const report = await runHarvest({ ...r.options, mode: 'full' });
    expect(report).toMatchObject({ stale: 1, unchanged: 29, updated: 0 });
    const stored = await r.store.get(m.record.identifier);
    expect(stored!.datestamp).toBe('2026-06-01T00:00:00Z');
    expect(await r.store.rawXml(m.record.identifier)).toBe('newer xml');
    // Same datestamp, other content: that is an update; same content again: unchanged.
    const same = mapLidoRecord(m.record.xml, { identifier: m.record.identifier, datestamp: '2026-06-01T00:00:00Z', setSpecs: [], deleted: false });
    if (!same.ok) throw new Error('fixture does not map');
    expect(await r.store.upsert(same.record, m.record.xml, { source: 'none', reasoning: 'test' }, 'test-hub', '2026-06-02T00:00:00Z')).toBe('updated');
    expect(await r.store.upsert(same.record, m.record.xml, { source: 'none', reasoning: 'test' }, 'test-hub', '2026-06-03T00:00:00Z')).toBe('unchanged');
  });

  it('keeps a raw XML too large for the item out of it, and the record\'s fields in', async () => {
    const r = await rig([]);
    const m = makeRecord(0, 7, '2026-01-01T00:00:00Z');
    const mapped = mapLidoRecord(m.record.xml, { identifier: m.record.identifier, datestamp: m.record.datestamp, setSpecs: [], deleted: false });
    if (!mapped.ok) throw new Error('fixture does not map');
    // Random bytes as base64 do not compress below the budget (533 KB of text, ~400 KB gzipped).
    const padded = m.record.xml.replace('</lido:lido>', `<!-- ${randomBytes(400_000).toString('base64')} --></lido:lido>`);
    expect(await r.store.upsert(mapped.record, padded, { source: 'none', reasoning: 'test' }, 'test-hub', '2026-01-02T00:00:00Z')).toBe('added');
    const stored = await r.store.get(m.record.identifier);
    expect(stored).toMatchObject({ rawXmlTooLarge: true, rawXmlBytes: Buffer.byteLength(padded), record: { objectNumber: m.objectNumber } });
    expect(await r.store.rawXml(m.record.identifier)).toBeUndefined();
    expect((await all(r.store.findByObjectNumber('mskgent.be', m.objectNumber))).map((x) => x.recordId)).toEqual([m.record.identifier]);
    // A deletion of a record never seen leaves a bare tombstone, so an older copy arriving later is refused.
    expect(await r.store.markDeleted('oai:x:never-seen', '2026-01-05T00:00:00Z', '2026-01-06T00:00:00Z')).toBe('deleted');
    expect(await r.store.get('oai:x:never-seen')).toMatchObject({ status: 'deleted', datestamp: '2026-01-05T00:00:00Z' });
    expect(await r.store.markDeleted('oai:x:never-seen', '2026-01-05T00:00:00Z', '2026-01-07T00:00:00Z')).toBe('unchanged');
  });

  it('deleted headers become tombstones; the reconciliation deletes what the repository no longer lists', async () => {
    const made = collection();
    const r = await rig(made.map((m) => m.record));
    await runHarvest({ ...r.options });
    const gone = made[10]!;
    r.clock.advance(86_400_000);
    r.server.records[10] = { ...gone.record, datestamp: '2026-03-02T00:00:00Z', deleted: true };
    const report = await runHarvest({ ...r.options });
    expect(report).toMatchObject({ mode: 'incremental', deleted: 1, complete: true });
    const tombstone = await r.store.get(gone.record.identifier);
    expect(tombstone).toMatchObject({ status: 'deleted', datestamp: '2026-03-02T00:00:00Z', record: { objectNumber: gone.objectNumber } });
    expect(await all(r.store.findByDataPid(gone.dataPid))).toEqual([]);
    expect((await all(r.store.changedSince(new Date(r.clock.now()).toISOString()))).map((x) => x.status)).toEqual(['deleted']);
    // An older version arriving later cannot revive it.
    const old = mapLidoRecord(gone.record.xml, { identifier: gone.record.identifier, datestamp: gone.record.datestamp, setSpecs: [], deleted: false });
    if (!old.ok) throw new Error('fixture does not map');
    expect(await r.store.upsert(old.record, gone.record.xml, { source: 'none', reasoning: 'test' }, 'test-hub', '2026-03-03T00:00:00Z')).toBe('stale');

    // The Datahub keeps no tombstones: three records simply vanish, and one appears that no harvest has seen yet.
    const vanished = [20, 21, 99].map((i) => made[i]!.record.identifier);
    r.server.records = r.server.records.filter((x) => !vanished.includes(x.identifier));
    const newcomer = makeRecord(0, 500, '2026-01-01T00:00:00Z');
    r.server.records.push(newcomer.record);
    r.requests.length = 0;
    const reconciled = await reconcile({ ...r.options });
    expect(reconciled).toMatchObject({ listed: 117, mirrored: 119, deleted: 3, missing: 1, outdated: 0, refetched: { added: 1 }, complete: true });
    expect(reconciled.deletedIds.sort()).toEqual([...vanished].sort());
    expect(r.requests.filter((q) => q.includes('ListIdentifiers'))).toHaveLength(5);
    expect(r.requests.filter((q) => q.includes('GetRecord'))).toEqual([`?verb=GetRecord&metadataPrefix=oai_lido&identifier=${encodeURIComponent(newcomer.record.identifier)}`]);
    for (const id of vanished) expect((await r.store.get(id))!.status).toBe('deleted');
    expect((await r.store.get(newcomer.record.identifier))!.status).toBe('active');
    expect(await all(r.store.listSourceIds('test-hub'))).toHaveLength(117);
    expect((await r.state.get('test-hub')).lastReconcile).toMatchObject({ deleted: 3, complete: true });

    // A repository that suddenly lists half the records is not believed.
    r.server.records = r.server.records.slice(0, 50);
    const refused = await reconcile({ ...r.options });
    expect(refused).toMatchObject({ deleted: 0, complete: false });
    expect(refused.stoppedBecause).toMatch(/^\d+ of 117 records would be deleted, more than 20 %; nothing was deleted/);
    expect(await all(r.store.listSourceIds('test-hub'))).toHaveLength(117);
  });

  it('does not delete when the list changed while it was read', async () => {
    const made = collection(60);
    const r = await rig(made.map((m) => m.record));
    await runHarvest({ ...r.options });
    // A record disappears between page 1 and page 2: offsets shift, one live record would be missed.
    r.beforeRequest = (query) => {
      if (query.includes('ListIdentifiers') && query.includes('resumptionToken') && r.server.records.length === 60) r.server.records.splice(0, 1);
    };
    const report = await reconcile({ ...r.options });
    expect(report).toMatchObject({ deleted: 0, complete: false });
    expect(report.stoppedBecause).toBe('the list changed while it was read (59 headers, completeListSize 60 then 59); nothing was deleted');
  });
});

describe('RecordStore.upsertMany', () => {
  it('stores a page as upsert stores each record, with one batch read: results in order, the listener told of each change', async () => {
    const r = await rig([]);
    const rights = { source: 'none', reasoning: 'test' } as const;
    const mapped = (m: Made, datestamp = m.record.datestamp, xml = m.record.xml): MappedRecord => {
      const result = mapLidoRecord(xml, { identifier: m.record.identifier, datestamp, setSpecs: [], deleted: false });
      if (!result.ok) throw new Error('fixture does not map');
      return result.record;
    };
    // 130 records: two BatchGetItems of at most 100 keys. Already mirrored: record 1 as it is now, record 2 in a
    // newer version, record 3 in an older one.
    const made = collection(130);
    await r.store.upsert(mapped(made[1]!), made[1]!.record.xml, rights, 'test-hub', '2026-01-01T00:00:00Z');
    await r.store.upsert(mapped(made[2]!, '2030-01-01T00:00:00Z'), 'newer', rights, 'test-hub', '2026-01-01T00:00:00Z');
    await r.store.upsert(mapped(made[3]!, '2000-01-01T00:00:00Z'), 'older', rights, 'test-hub', '2026-01-01T00:00:00Z');
    const inputs = made.map((m) => ({ record: mapped(m), rawXml: m.record.xml, rights }));
    // Record 0 twice in the page, and a record too large for any item.
    inputs.push(inputs[0]!, { ...inputs[4]!, record: { ...inputs[4]!.record, recordId: 'oai:x:huge', descriptions: { nl: ['lorem ipsum '.repeat(40_000)] } } });

    // The table as the store sees it: commands counted, and the first BatchGetItem throttled for half its keys.
    const sent: string[] = [];
    let throttled = false;
    const table = {
      send: async (command: Parameters<DynamoDBDocumentClient['send']>[0]) => {
        sent.push(command.constructor.name);
        if (command instanceof BatchGetCommand && !throttled) {
          throttled = true;
          const request = command.input.RequestItems![r.store.tableName]!;
          const half = Math.floor(request.Keys!.length / 2);
          const out = await db.send(new BatchGetCommand({ RequestItems: { [r.store.tableName]: { ...request, Keys: request.Keys!.slice(0, half) } } }));
          return { ...out, UnprocessedKeys: { [r.store.tableName]: { ...request, Keys: request.Keys!.slice(half) } } };
        }
        return db.send(command as never);
      },
    } as unknown as DynamoDBDocumentClient;
    const changes: string[] = [];
    const store = new RecordStore(table, r.store.tableName, { onChange: async (change) => void changes.push(change.recordId) });
    const writingAfter: string[][] = [];
    const results = await store.upsertMany(inputs, 'test-hub', '2026-03-01T00:00:00Z', { onWriting: () => writingAfter.push([...sent]) });

    expect(results).toHaveLength(132);
    expect(results.slice(1, 4)).toEqual(['unchanged', 'stale', 'updated']);
    expect(results.slice(4, 130).every((result) => result === 'added')).toBe(true);
    // The same record twice: one write wins, the other loses the race, reads again and finds it unchanged.
    expect([results[0], results[130]].sort()).toEqual(['added', 'unchanged']);
    expect(results[131]).toBeInstanceOf(RecordTooLargeError);
    // Two batches and the retry of the unprocessed keys; one GetItem for the lost race; a write per new or changed record.
    expect(sent.filter((c) => c === 'BatchGetCommand')).toHaveLength(3);
    expect(sent.filter((c) => c === 'GetCommand')).toHaveLength(1);
    expect(sent.filter((c) => c === 'PutCommand')).toHaveLength(129);
    // Told once, when the versions were read and the writes began.
    expect(writingAfter).toHaveLength(1);
    expect(writingAfter[0]!.filter((c) => c === 'BatchGetCommand')).toHaveLength(3);
    expect(writingAfter[0]!.filter((c) => c === 'PutCommand').length).toBeLessThan(129);
    expect(changes.sort()).toEqual([made[0]!, made[3]!, ...made.slice(4)].map((m) => m.record.identifier).sort());
    expect(await r.store.get(made[3]!.record.identifier)).toMatchObject({ datestamp: made[3]!.record.datestamp, record: { objectNumber: made[3]!.objectNumber } });
    expect(await r.store.rawXml(made[2]!.record.identifier)).toBe('newer');
    expect(await r.store.get('oai:x:huge')).toBeUndefined();
  });
});

describe('bad records', () => {
  it('skips and reports a malformed record and one without identifier, harvesting the rest', async () => {
    const made = collection(60);
    const records = made.map((m) => m.record);
    // The real DESTINATION record that is not well-formed (`lido:type:"URI"`), on page 1; a header without
    // identifier on page 3.
    const broken = readFileSync(join(FIXTURES, '1Lido1Image__DESTINATION-oai_datahub.vlaamsekunstcollectie.be_mskgent.be_1829-A.xml'), 'utf8').replace(/^<\?xml[^>]*\?>\s*/, '');
    records.push({ identifier: `${HUB}:mskgent.be:1829-A`, datestamp: '2026-01-01T00:30:00Z', setSpecs: [], xml: broken });
    records.push({ ...makeRecord(1, 900, '2026-02-01T00:00:00Z').record, identifier: '' });
    // A description of 480 KB: more than a DynamoDB item holds, even without the raw XML.
    const huge = makeRecord(3, 901, '2026-02-01T00:00:01Z');
    records.push({ ...huge.record, xml: huge.record.xml.replace('Oorspronkelijk vormden', `${'lorem ipsum '.repeat(40_000)}Oorspronkelijk vormden`) });
    const r = await rig(records);
    const report = await runHarvest({ ...r.options });
    expect(report).toMatchObject({ pages: 3, added: 60, skipped: 3, complete: true });
    expect(report.skippedRecords).toEqual([
      { identifier: `${HUB}:mskgent.be:1829-A`, reason: expect.stringMatching(/^not well-formed XML: .*line \d+/) },
      { identifier: huge.record.identifier, reason: expect.stringMatching(/^the mapped record takes \d+ bytes, more than a DynamoDB item holds$/) },
      { reason: 'OAI record without an identifier in its header' },
    ]);
    // A whole page is not retried for one bad record.
    expect(r.clock.sleeps).toEqual([]);
    expect(await r.store.get(`${HUB}:mskgent.be:1829-A`)).toBeUndefined();
  });
});

describe('images and records link whichever comes first', () => {
  it('imagesForRecord and recordsForImage, in canvas order', async () => {
    const made = collection(8);
    const r = await rig(made.map((m) => m.record));
    const msk = made[0]!; // mskgent.be 1001-A
    const gro = made[1]!; // groeningemuseum.be 0000.GRO1001.I
    const claim = (identifier: string, links: LinkHints) => r.images.claim(identifier, `${identifier}.tif`, 'etag-1', links, '2026-02-01T00:00:00Z');

    // Before the harvest: a master under the institution's folder, one with a sort-number, one cleaned-number master.
    await claim('mskgent.be:1001-A', { institution: 'mskgent.be', objectNumber: '1001-A' });
    await claim('mskgent.be:1001-A_detail', { institution: 'mskgent.be', objectNumber: '1001-A', sortNumber: 1 });
    await claim('groeningemuseum.be:0000_GRO1001_I', { institution: 'groeningemuseum.be', objectNumber: '0000_GRO1001_I' });
    await runHarvest({ ...r.options });

    // After: a master at the bucket's root with only a data PID (https, trailing slash), and one that names the
    // record's representation PID; one whose data PID only appears when it is published (embedded metadata).
    await claim('scan-0001', { objectNumber: 'scan-0001', dataPid: `${msk.dataPid.replace('http:', 'https:')}/` });
    await claim('mskgent.be:zz-representation', { institution: 'mskgent.be', objectNumber: '1001-A', dataPid: 'http://mskgent.be/collection/work/representation/1001-A' });
    await claim('late', { objectNumber: 'late' });
    const published = await r.images.publish('late', 'etag-1', {
      source: { bucket: 'b', key: 'late.tif', size: 1, checksum: 'x', format: 'tiff', width: 1, height: 1, pages: 1, page: 0, colourSpace: 'srgb', bitsPerSample: 8, hasAlpha: false },
      published: { revision: 'r', width: 1, height: 1, tileSize: 512, scaleFactors: [1], sizes: [], limits: { maxArea: 1 }, maxSize: { width: 1, height: 1 }, files: 1, bytes: 1 },
      embedded: {},
      links: { objectNumber: 'late', workPid: msk.workPid },
      timings: {},
    }, '2026-02-01T00:00:01Z');
    expect(published).toBe(true);
    // A deleted image does not count.
    await claim('mskgent.be:1001-A_old', { institution: 'mskgent.be', objectNumber: '1001-A' });
    await r.images.markDeleted('mskgent.be:1001-A_old', 'mskgent.be:1001-A_old.tif', '2026-02-01T00:00:02Z');

    const record = (await r.store.get(msk.record.identifier))!.record!;
    expect(record.representations[0]?.pid).toBe('http://mskgent.be/collection/work/representation/1001-A');
    const images = await r.store.imagesForRecord(record);
    expect(images.map((i) => i.identifier)).toEqual([
      'mskgent.be:1001-A_detail', // sort-number 1
      'mskgent.be:zz-representation', // the record's first representation
      'late',
      'mskgent.be:1001-A',
      'scan-0001',
    ]);
    expect(images[0]!.links.sortNumber).toBe(1);

    const groRecord = (await r.store.get(gro.record.identifier))!.record!;
    expect(groRecord.objectNumber).toBe('0000.GRO1001.I');
    expect((await r.store.imagesForRecord(groRecord)).map((i) => i.identifier)).toEqual(['groeningemuseum.be:0000_GRO1001_I']);

    const forImage = async (identifier: string) => (await r.store.recordsForImage((await r.images.get(identifier))!.links)).map((x) => x.recordId);
    expect(await forImage('scan-0001')).toEqual([msk.record.identifier]);
    expect(await forImage('late')).toEqual([msk.record.identifier]);
    expect(await forImage('groeningemuseum.be:0000_GRO1001_I')).toEqual([gro.record.identifier]);
    // Lookups by key return records only; image items are not records.
    expect((await all(r.store.findByObjectNumber('mskgent.be', '1001-A'))).map((x) => x.recordId)).toEqual([msk.record.identifier]);
  });
});

describe('the Lambda handler', () => {
  it('reads its settings, runs a harvest on a schedule and a reconciliation on demand', async () => {
    const made = collection(30);
    const r = await rig(made.map((m) => m.record));
    expect(() => parseHarvestSettings({})).toThrow(/OAI_BASE_URL is required; TABLE_NAME is required/);
    expect(() => parseHarvestSettings({ OAI_BASE_URL: r.server.url, TABLE_NAME: 't', HARVEST_OVERLAP_SECONDS: '-1' })).toThrow(/HARVEST_OVERLAP_SECONDS/);
    const settings = parseHarvestSettings({ OAI_BASE_URL: r.server.url, TABLE_NAME: r.store.tableName, OAI_SET: 'institution:kmska_be' });
    expect(settings).toMatchObject({ metadataPrefix: 'oai_lido', overlapSeconds: 86_400, set: 'institution:kmska_be', source: `http://${new URL(r.server.url).host}/oai?set=institution:kmska_be` });
    expect(harvestRequest({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: { reconcile: true } })).toEqual({ reconcile: true });
    expect(harvestRequest({ mode: 'full' })).toEqual({ mode: 'full' });

    const handler = createHarvestHandler({ settings, records: r.store, state: r.state, logger: new Logger({ logLevel: 'SILENT' }) });
    const context = { getRemainingTimeInMillis: () => 600_000, functionName: 'harvest', awsRequestId: 'req-1' } as unknown as Parameters<typeof handler>[1];
    const harvested = await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} }, context);
    // Only the set's records (the two KMSKA templates: 14 of 30).
    expect(harvested).toMatchObject({ mode: 'full', added: 14, complete: true });
    expect(await all(r.store.listInstitution('kmska.be'))).toHaveLength(14);
    const reconciled = await handler({ reconcile: true }, context);
    expect(reconciled).toMatchObject({ listed: 14, mirrored: 14, deleted: 0, complete: true });

    // A fault that needs a person fails the invocation (an alarm), with the reason.
    const misconfigured = createHarvestHandler({
      settings: { ...settings, metadataPrefix: 'oai_dc', source: 'other' }, records: r.store, state: r.state, logger: new Logger({ logLevel: 'SILENT' }),
    });
    await expect(misconfigured({ mode: 'full' }, context)).rejects.toThrow('harvest stopped: OAI error cannotDisseminateFormat: only oai_lido');
  });
});
