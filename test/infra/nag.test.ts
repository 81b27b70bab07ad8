/**
 * cdk-nag's AwsSolutions pack over the whole stack, in the configurations users deploy: every rule passes or is
 * acknowledged in lib/ with its reason (lib/grants.ts, lib/cdn.ts, lib/ingest-pipeline.ts); the alarm topic
 * (lib/monitoring.ts) passes as it is: encrypted with a rotated key, TLS-only. A finding fails
 * synthesis, and so this test.
 */
import { type Stack, Validations } from 'aws-cdk-lib';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, synthesize } from './synth.ts';
import type { ImagehubStackProps } from '../../lib/imagehub-stack.ts';

const outdirs: string[] = [];
afterEach(() => {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function nagged(props: ImagehubStackProps, extra?: (stack: Stack) => void): void {
  const { outdir } = synthesize(props, (app) => {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    if (extra) for (const child of app.node.children) extra(child as Stack);
  });
  outdirs.push(outdir);
}

/** The rule ids of a failed validation, from the report cdk writes. */
function findings(error: unknown): string[] {
  const path = /found in: (\S+validation-report\.json)/.exec(String(error))?.[1];
  if (!path) throw error;
  const report = JSON.parse(readFileSync(join(PROJECT_ROOT, path), 'utf8')) as { pluginReports: { violations: { ruleName: string }[] }[] };
  return report.pluginReports.flatMap((r) => r.violations.map((v) => v.ruleName));
}

describe('cdk-nag AwsSolutions', () => {
  it.each<[string, ImagehubStackProps]>([
    ['default (CloudFront domain, new buckets, no harvest)', {}],
    ['production-like (custom domain, data hub harvest with authority files)', {
      domainName: 'iiif.museum.example',
      certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555',
      datahub: { oaiBaseUrl: 'https://datahub.example.org/oai', authorityFiles: { rightsCsvUrl: 'https://x.example/RIGHTS.csv', copyrightsCsvUrl: 'https://x.example/Copyrights.csv' } },
    }],
    ['existing buckets', { ingestBucketName: 'museum-masters', derivativeBucketName: 'museum-iiif', protectedBucketName: 'museum-iiif-protected' }],
    ['dev stage in us-east-1 (CDN alarm), alarms by email, harvest', {
      stage: 'dev',
      env: { account: '123456789012', region: 'us-east-1' },
      alarmEmail: 'ops@museum.example',
      datahub: { oaiBaseUrl: 'https://datahub.example.org/oai' },
    }],
  ])('%s: no unacknowledged finding', (_name, props) => {
    expect(() => nagged(props)).not.toThrow();
  }, 180_000);

  it('is really checking: a public, unencrypted bucket added to the stack fails synthesis with its rules', () => {
    let error: unknown;
    try {
      nagged({}, (stack) => new Bucket(stack, 'Careless', { enforceSSL: false }));
    } catch (caught) {
      error = caught;
    }
    expect(error, 'synthesis should have failed').toBeDefined();
    expect(findings(error)).toEqual(expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-S10']));
  }, 180_000);
});
