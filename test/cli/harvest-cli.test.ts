/**
 * The real `imagehub` binary (bin/imagehub.mjs) against a local imagehub (the stack `npm start` runs, here started
 * in-process with a data folder so it publishes its endpoints file) and a data-hub-like OAI-PMH repository. The AWS
 * path is exercised with `--table` and the standard endpoint variables pointing at the same DynamoDB stand-in.
 */
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStackOutputs } from '../../functions/cli/target.ts';
import { startLocalSystem, type LocalSystem } from '../../functions/local/system.ts';
import { HarvestStateStore, RecordStore } from '../../functions/store/records.ts';
import { runImagehub } from '../support/processes.ts';
import { collection, FIXTURES, HUB } from '../support/datahub-records.ts';
import { startOaiServer, type OaiServer } from '../support/oai-server.ts';

const data = mkdtempSync(join(process.env.IMAGEHUB_TMP ?? tmpdir(), 'imagehub-cli-'));
let system: LocalSystem;
let oai: OaiServer;
let records: RecordStore;

const imagehub = runImagehub;

beforeAll(async () => {
  system = await startLocalSystem({ dataDir: data, port: 0, quiet: true });
  records = new RecordStore(system.db, system.settings.tableName);
  oai = await startOaiServer(collection(60).map((made) => made.record));
}, 60_000);

afterAll(async () => {
  await oai?.close();
  await system?.close();
  rmSync(data, { recursive: true, force: true });
});

describe('imagehub harvest --file', () => {
  it('loads a folder of LIDO files into the local mirror, and a second load changes nothing', async () => {
    const first = await imagehub(['harvest', '--data', data, '--file', FIXTURES]);
    expect(first.stderr).toContain(`harvesting into the local imagehub at ${system.url}`);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/loaded 6 files: 6 records/);
    // The 1829-A DESTINATION export is not well-formed (a real data-hub fault); kmska.be 257 is in two files.
    expect(first.stdout).toMatch(/4 added · 0 updated · 0 unchanged · 0 older than the mirror's · 0 deleted · 2 skipped/);
    expect(first.stdout).toMatch(/skipped oai:datahub.vlaamsekunstcollectie.be:mskgent.be:1829-A: 1Lido1Image__DESTINATION[^:]*: not well-formed XML: /);
    expect(first.stdout).toMatch(/skipped oai:datahub.vlaamsekunstcollectie.be:kmska.be:257: MulLido1Image__ORIGIN[^:]*kmska.be_257.xml: the same record is in MulLido1Image__DESTINATION/);
    const record = await records.get(`${HUB}:mskgent.be:1829-A`);
    expect(record?.status).toBe('active');
    expect(record?.source).toBe('file:vkc-imagehub-fixes');
    expect(record?.record?.objectNumber).toBe('1829-A');

    const again = await imagehub(['harvest', '--data', data, '--file', FIXTURES, '--json']);
    expect(again.code, again.stderr).toBe(0);
    const report = JSON.parse(again.stdout) as { added: number; updated: number; unchanged: number; files: number };
    expect(report).toMatchObject({ files: 6, added: 0, updated: 0, unchanged: 4, skipped: 2 });
  });

  it('a newer file replaces the record; broken XML is skipped and reported by name', async () => {
    const dir = mkdtempSync(join(data, 'files-'));
    const good = join(dir, 'one.xml');
    const source = await import('node:fs').then((fs) => fs.readFileSync(join(FIXTURES, '1Lido1Image__ORIGIN-oai_datahub.vlaamsekunstcollectie.be_mskgent.be_1829-A.xml'), 'utf8'));
    writeFileSync(good, source.replace('</lido:lido>', '<!-- edited --></lido:lido>'));
    utimesSync(good, new Date('2030-01-01T00:00:00Z'), new Date('2030-01-01T00:00:00Z'));
    writeFileSync(join(dir, 'broken.xml'), '<lido:lido xmlns:lido="http://www.lido-schema.org"><lido:lidoRecID>x:1</lido:lidoRecID>');
    const run = await imagehub(['harvest', '--data', data, '--file', dir]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/1 updated/);
    expect(run.stdout).toMatch(/1 skipped/);
    expect(run.stdout).toMatch(/skipped (x:1|\(no identifier\)): broken\.xml: /);
    expect((await records.get(`${HUB}:mskgent.be:1829-A`))?.datestamp).toBe('2030-01-01T00:00:00Z');
  });
});

describe('imagehub harvest --oai', () => {
  it('harvests the whole list with a progress display, then only what changed', async () => {
    const full = await imagehub(['harvest', '--data', data, '--oai', oai.url]);
    expect(full.code, full.stderr).toBe(0);
    expect(full.stdout).toMatch(/full harvest complete: 3 pages, 60 records/);
    expect(full.stdout).toMatch(/60 added/);
    // Not a terminal: plain progress lines, the first page's at least.
    expect(full.stderr).toMatch(/\[#+-*\]\s+\d+ %\s+25\/60 records · page 1/);
    const state = await new HarvestStateStore(system.db, system.settings.tableName).get(oai.url.replace(/\/$/, ''));
    expect(state.lastSuccess?.report.added).toBe(60);

    oai.records[7] = { ...oai.records[7]!, datestamp: '2031-01-01T00:00:00Z', xml: oai.records[7]!.xml.replace('</lido:lido>', '<!-- v2 --></lido:lido>') };
    const incremental = await imagehub(['harvest', '--data', data, '--oai', oai.url, '--json']);
    expect(incremental.code, incremental.stderr).toBe(0);
    const report = JSON.parse(incremental.stdout) as { mode: string; updated: number; added: number; from: string };
    expect(report.mode).toBe('incremental');
    expect(report.updated).toBe(1);
    expect(report.added).toBe(0);
  });

  it('--from lists from that date; a 503 with Retry-After is waited out and said', async () => {
    oai.faults.push({ kind: '503', retryAfterSeconds: 1 });
    const run = await imagehub(['harvest', '--data', data, '--oai', oai.url, '--from', '2026-01-03']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/retrying: HTTP 503 \(Retry-After 1 s\)/);
    expect(oai.requests.some((query) => query.includes('from=2026-01-03'))).toBe(true);
    // Records stamped from 2026-01-03 on: 60 hourly stamps from 2026-01-01 leave 12 (and the one changed to 2031).
    expect(run.stdout).toMatch(/incremental harvest complete: 1 pages, 13 records/);
  });

  it('`imagehub status` lists the harvest source with its last run, and the web app\'s activity shows it', async () => {
    const run = await imagehub(['status', '--data', data, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const { harvests } = JSON.parse(run.stdout) as { harvests: { source: string; status: string; summary: string }[] };
    expect(harvests).toContainEqual(expect.objectContaining({ source: oai.url.replace(/\/$/, ''), status: 'done', summary: expect.stringMatching(/harvest finished .*: 1 pages/) }));
    const page = await (await fetch(`${system.url}/activity`)).text();
    expect(page).toContain(oai.url.replace(/\/$/, ''));
  });

  it('works against an AWS-style target named by --table (endpoint variables point at the same DynamoDB)', async () => {
    const endpoints = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(join(data, 'endpoints.json'), 'utf8'))) as { dynamoEndpoint: string };
    const run = await imagehub(['harvest', '--table', system.settings.tableName, '--oai', oai.url, '--full', '--json'], {
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamoEndpoint,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
    });
    expect(run.stderr).toContain(`the AWS deployment with table ${system.settings.tableName}`);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ mode: 'full', complete: true, unchanged: 60 });
  });
});

describe('access after a harvest', () => {
  it('a record loaded with the CLI has the running imagehub review its images: in copyright → restricted-size', async () => {
    const sharp = (await import('sharp')).default;
    const body = await sharp({ create: { width: 1200, height: 900, channels: 3, background: { r: 120, g: 60, b: 30 } } }).jpeg().toBuffer();
    await system.ingest.putBody('mskgent.be/1829-A.jpg', body, { contentType: 'image/jpeg' });
    await new Promise((r) => setTimeout(r, 300));
    await system.queue.idle();
    expect((await system.items.get('mskgent.be:1829-A'))?.published?.access?.policy).toBe('open');

    // The real record, with the credit line of a work in copyright (as in RIGHTS.csv: "© SABAM").
    const dir = mkdtempSync(join(data, 'rights-'));
    const xml = (await import('node:fs'))
      .readFileSync(join(FIXTURES, '1Lido1Image__ORIGIN-oai_datahub.vlaamsekunstcollectie.be_mskgent.be_1829-A.xml'), 'utf8')
      .replace('<lido:administrativeMetadata xml:lang="nl">', '<lido:administrativeMetadata xml:lang="nl"><lido:rightsWorkWrap><lido:rightsWorkSet><lido:creditLine>© SABAM Belgium 2021</lido:creditLine></lido:rightsWorkSet></lido:rightsWorkWrap>');
    writeFileSync(join(dir, 'sabam.xml'), xml);
    // Newer than the versions earlier tests loaded (a file's version is its modification time).
    utimesSync(join(dir, 'sabam.xml'), new Date('2031-06-01T00:00:00Z'), new Date('2031-06-01T00:00:00Z'));
    const run = await imagehub(['harvest', '--data', data, '--file', join(dir, 'sabam.xml')]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr, run.stderr).toMatch(/access review: \d+ images? reviewed, 1 republished/);
    await new Promise((r) => setTimeout(r, 300));
    await system.queue.idle();
    const item = await system.items.get('mskgent.be:1829-A');
    expect(item?.published?.access).toMatchObject({ policy: 'restricted-size', basis: 'record-rights' });
    expect(item?.published?.substitute?.identifier).toMatch(/^mskgent\.be:1829-A~[0-9a-f]+~800$/);
  }, 60_000);
});

describe('errors in plain words', () => {
  it.each([
    [['harvest', '--oai', 'ftp://x'], /--oai must be an http\(s\) URL/],
    [['harvest', '--file', 'a.xml', '--oai', 'http://x'], /either --file PATH or --oai URL/],
    [['harvest', '--oai', 'http://x', '--from', 'yesterday'], /--from must be YYYY-MM-DD/],
    [['harvest', '--oai', 'http://x', '--bogus'], /Unknown option '--bogus'/],
    [['harvest', '--data', join(data, 'nowhere'), '--oai', 'http://x'], /no running imagehub found in .*nowhere: start one with `npm start`/],
    [['harvest', '--data', data, '--file', join(data, 'missing.xml')], /missing\.xml: no such file or folder/],
    [['frobnicate'], /unknown command "frobnicate"/],
  ])('%j', async (args, message) => {
    const run = await imagehub(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('every command has --help', async () => {
    const run = await imagehub(['harvest', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('imagehub harvest --oai URL');
  });
});

describe('cdk-outputs.json', () => {
  it('finds the outputs an imagehub stack declares by name, whatever their hash', () => {
    const file = join(data, 'cdk-outputs.json');
    writeFileSync(file, JSON.stringify({ Imagehub: { MetadataTableTableName1A2B3C4D: 'imagehub-Table-1', IngestPipelineIngestBucketName0F00BA12: 'ingest-bucket', CdnPublicUrlABCDEF12: 'https://iiif.example.org' } }));
    expect(readStackOutputs(file)).toMatchObject({ TableName: 'imagehub-Table-1', IngestBucketName: 'ingest-bucket', PublicUrl: 'https://iiif.example.org' });
  });
});
