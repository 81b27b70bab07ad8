/**
 * The deployment's configuration from CDK context (lib/config.ts): every key validated at synth, every problem
 * reported at once in plain words, IMAGEHUB_* settings checked by the functions' own parser, typos named.
 */
import { Duration } from 'aws-cdk-lib';
import { PriceClass } from 'aws-cdk-lib/aws-cloudfront';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseIngestSettings } from '../../functions/core/settings.ts';
import { bucketNameProblems, ContextError, DEPLOYMENT_SETTINGS, INGEST_DEPLOYMENT_SETTINGS, LOG_RETENTION_DAYS } from '../../lib/config.ts';
import { contextProblems, fromContext, PROJECT_ROOT } from './synth.ts';

const problemsOf = contextProblems;

describe('configuration from CDK context', () => {
  it('defaults to a prod stack named Imagehub with 90 days of master versions and no harvest', () => {
    expect(fromContext({})).toEqual({ stackName: 'Imagehub', stage: 'prod', masterVersionRetentionDays: 90, settings: {} });
  });

  it('reads every key, from -c strings and from cdk.json numbers alike', () => {
    const props = fromContext({
      stage: 'dev',
      stackName: 'Imagehub-dev',
      domainName: 'iiif.museum.example',
      certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555',
      ingestBucketName: 'museum-masters',
      derivativeBucketName: 'museum.iiif-derivatives',
      priceClass: 'all',
      ingestMemoryMiB: 6144,
      ingestMaxConcurrency: '50',
      oaiBaseUrl: 'https://datahub.example.org/oai',
      oaiSet: 'institution:msk',
      oaiMetadataPrefix: 'oai_lido',
      harvestEveryMinutes: '15',
      rightsCsvUrl: 'https://x.example/RIGHTS.csv',
      copyrightsCsvUrl: 'https://x.example/Copyrights.csv',
      logRetentionDays: '30',
      masterVersionRetentionDays: 365,
      alarmEmail: 'ops@museum.example',
      'settings.IMAGEHUB_TILE_SIZE': '256',
      settings: { IMAGEHUB_JPEG_QUALITY: 80 },
      '@aws-cdk/core:checkSecretUsage': true,
      'aws:cdk:bundling-stacks': ['**'],
    });
    expect(props).toMatchObject({
      stackName: 'Imagehub-dev',
      stage: 'dev',
      domainName: 'iiif.museum.example',
      ingestBucketName: 'museum-masters',
      derivativeBucketName: 'museum.iiif-derivatives',
      priceClass: PriceClass.PRICE_CLASS_ALL,
      ingestMemoryMiB: 6144,
      ingestMaxConcurrency: 50,
      logRetention: RetentionDays.ONE_MONTH,
      masterVersionRetentionDays: 365,
      alarmEmail: 'ops@museum.example',
      settings: { IMAGEHUB_TILE_SIZE: '256', IMAGEHUB_JPEG_QUALITY: '80' },
      datahub: {
        oaiBaseUrl: 'https://datahub.example.org/oai',
        set: 'institution:msk',
        metadataPrefix: 'oai_lido',
        authorityFiles: { rightsCsvUrl: 'https://x.example/RIGHTS.csv', copyrightsCsvUrl: 'https://x.example/Copyrights.csv' },
      },
    });
    expect(props.datahub!.every!.toMinutes()).toBe(15);
  });

  it('harvests hourly unless told otherwise, and treats empty values (unset CI variables) as not given', () => {
    const props = fromContext({ oaiBaseUrl: 'https://datahub.example.org/oai', oaiSet: '', domainName: '', certificateArn: '  ', alarmEmail: '' });
    expect(props.datahub).toEqual({ oaiBaseUrl: 'https://datahub.example.org/oai', every: expect.any(Duration) as unknown });
    expect(props.datahub!.every!.toMinutes()).toBe(60);
    expect(props.domainName).toBeUndefined();
    expect(props.alarmEmail).toBeUndefined();
  });

  it('reports every problem at once, each in plain words naming its key', () => {
    let error: unknown;
    try {
      fromContext({
        stage: 'production',
        domainName: 'https://iiif.museum.example/',
        certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc',
        ingestBucketName: 'Museum_Masters',
        priceClass: '300',
        ingestMemoryMiB: '20000',
        ingestMaxConcurrency: '1',
        oaiBaseUrl: 'datahub.example.org/oai',
        harvestEveryMinutes: '2',
        rightsCsvUrl: 'https://x.example/RIGHTS.csv',
        logRetentionDays: '10',
        masterVersionRetentionDays: '0',
        alarmEmail: 'ops at museum',
        'settings.IMAGEHUB_JPEG_QUALITY': '101',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ContextError);
    const { problems, message } = error as ContextError;
    expect(problems).toEqual([
      'stage must be prod or dev, got "production"',
      'domainName must be a host name such as iiif.museum.be (no scheme, path or wildcard), got "https://iiif.museum.example/"',
      'certificateArn must be a certificate in us-east-1 (the only region CloudFront takes certificates from), got one in eu-west-1',
      'priceClass must be one of 100, 200, all, got "300"',
      expect.stringMatching(/^ingestBucketName "Museum_Masters" is not a valid S3 bucket name: only lowercase letters/),
      'ingestMemoryMiB must be a whole number of MiB from 128 to 10240, got "20000"',
      'ingestMaxConcurrency must be a whole number of concurrent ingests from 2 to 1000, got "1"',
      expect.stringMatching(/^logRetentionDays must be one of the periods CloudWatch Logs accepts \(1, 3, 5, 7, 14, 30, .*3653\), got "10"$/),
      'masterVersionRetentionDays must be a whole number of days from 1 to 36500, got "0"',
      'alarmEmail must be an email address, got "ops at museum"',
      'oaiBaseUrl must be an absolute http:// or https:// URL, got "datahub.example.org/oai"',
      'harvestEveryMinutes must be a whole number of minutes from 5 to 1440, got "2"',
      'rightsCsvUrl and copyrightsCsvUrl go together: the rights decision reads both authority files',
      'settings.IMAGEHUB_JPEG_QUALITY must be an integer between 1 and 100, got "101"',
    ]);
    expect(message).toContain('has 14 problems');
    for (const problem of problems) expect(message).toContain(`  - ${problem}`);
  });

  it('names a mistyped setting, suggests the right one, and lists the known ones', () => {
    const [problem] = problemsOf({ stage: 'dev', 'settings.IMAGEHUB_TILE_SZE': '1' });
    expect(problem).toBe(
      `settings.IMAGEHUB_TILE_SZE is not an imagehub setting (did you mean IMAGEHUB_TILE_SIZE?); the settings are ${DEPLOYMENT_SETTINGS.join(', ')}`,
    );
    expect(problemsOf({ settings: { TILE_SIZE: 256 } })[0]).toMatch(/^settings\.TILE_SIZE is not an imagehub setting \(did you mean IMAGEHUB_TILE_SIZE\?\)/);
  });

  it('refuses IMAGEHUB_PUBLIC_URL as a setting: the stack sets it from the domain or the distribution', () => {
    expect(problemsOf({ 'settings.IMAGEHUB_PUBLIC_URL': 'https://iiif.museum.example' })).toEqual([
      expect.stringMatching(/^settings\.IMAGEHUB_PUBLIC_URL is set by the stack .*use domainName and certificateArn$/),
    ]);
  });

  it('knows exactly the settings parseIngestSettings reads, but for those the stack sets (the access settings: access.test.ts)', () => {
    const read = new Set<string>();
    const recorder = new Proxy({}, { get: (_target, name) => (read.add(String(name)), undefined) });
    expect(() => parseIngestSettings(recorder)).toThrow(); // the required names are missing: it still reads them all
    const stackSets = ['IMAGEHUB_PUBLIC_URL', 'DERIVATIVE_BUCKET', 'IMAGEHUB_PROTECTED_BUCKET', 'TABLE_NAME'];
    expect([...read].filter((name) => !stackSets.includes(name)).sort()).toEqual([...INGEST_DEPLOYMENT_SETTINGS].sort());
  });

  it('pairs the domain with its certificate and the authority files with each other, and wants a data hub for harvest keys', () => {
    expect(problemsOf({ domainName: 'iiif.museum.example' })).toEqual([
      'domainName and certificateArn go together: CloudFront serves a custom domain only with its certificate',
    ]);
    expect(problemsOf({ oaiSet: 'institution:msk', harvestEveryMinutes: 30 })).toEqual([
      'oaiSet, harvestEveryMinutes configure the data hub harvest, which needs oaiBaseUrl',
    ]);
    expect(problemsOf({ ingestBucketName: 'museum-images', derivativeBucketName: 'museum-images' })[0]).toMatch(/must differ/);
  });

  it('names near misses of its own keys, and leaves other context alone', () => {
    expect(problemsOf({ domainname: 'iiif.museum.example', ingestMemoryMB: 4096 })).toEqual([
      'domainname is not a context key imagehub reads: did you mean domainName?',
      'ingestMemoryMB is not a context key imagehub reads: did you mean ingestMemoryMiB?',
    ]);
    expect(() => fromContext({ '@aws-cdk/core:enablePartitionLiterals': true, 'aws:cdk:version-reporting': false, somethingElse: 1 })).not.toThrow();
  });

  it('accepts exactly the log retention periods CloudWatch Logs offers', () => {
    expect(LOG_RETENTION_DAYS).toEqual([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]);
    expect(fromContext({ logRetentionDays: 7 }).logRetention).toBe(RetentionDays.ONE_WEEK);
  });

  it('checks bucket names against S3 naming rules', () => {
    for (const good of ['abc', 'museum-masters', 'iiif.museum.be', 'a1-b2.c3']) expect(bucketNameProblems(good), good).toEqual([]);
    expect(bucketNameProblems('ab')).toEqual(['it must be 3 to 63 characters long']);
    expect(bucketNameProblems('-masters')).toEqual(['it must begin and end with a letter or digit']);
    expect(bucketNameProblems('museum..masters')).toEqual(['it must not contain two adjacent dots']);
    expect(bucketNameProblems('192.168.5.4')).toEqual(['it must not look like an IP address']);
    expect(bucketNameProblems('xn--masters')).toEqual(['it must not start with xn--']);
    expect(bucketNameProblems('masters-s3alias')).toEqual(['it must not end with -s3alias']);
    expect(bucketNameProblems('x'.repeat(64))).toEqual(['it must be 3 to 63 characters long']);
  });

  it('fails `cdk synth` before building anything, with the message and no stack trace', () => {
    // The CDK CLI hands the app its context in CDK_CONTEXT_JSON, as here.
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bin/cdk-app.ts'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ stage: 'dev', 'settings.IMAGEHUB_TILE_SZE': '1' }), CDK_OUTDIR: '/nonexistent' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('settings.IMAGEHUB_TILE_SZE is not an imagehub setting (did you mean IMAGEHUB_TILE_SIZE?)');
    expect(run.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });
});
