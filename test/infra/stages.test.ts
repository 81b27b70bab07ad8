/**
 * Stages differ only by configuration: the same resources in `prod` and `dev`, with prod keeping the data (RETAIN,
 * deletion protection, point-in-time recovery, 3 months of logs) and dev built to be torn down (DESTROY, no
 * auto-delete custom resource, a week of logs). Synthesized from CDK context through lib/config.ts, as `cdk synth`
 * does.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackPropsFromContext } from '../../lib/config.ts';
import { synthesize } from './synth.ts';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string; UpdateReplacePolicy?: string }>;

const fromContext = (context: Record<string, unknown>) => stackPropsFromContext((key) => context[key], Object.keys(context));
const datahub = { oaiBaseUrl: 'https://datahub.example.org/oai' };

const outdirs: string[] = [];
let prod: Template;
let dev: Template;
let devTuned: Template;
beforeAll(() => {
  const synth = (context: Record<string, unknown>) => {
    const result = synthesize(fromContext(context));
    outdirs.push(result.outdir);
    return result.template;
  };
  prod = synth(datahub);
  dev = synth({ ...datahub, stage: 'dev' });
  devTuned = synth({ ...datahub, stage: 'dev', logRetentionDays: '30', masterVersionRetentionDays: '14', harvestEveryMinutes: '15' });
}, 180_000);
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

const resources = (template: Template, type: string) => template.findResources(type) as Resources;
const table = (template: Template) => Object.values(resources(template, 'AWS::DynamoDB::GlobalTable'))[0]!;
const replica = (template: Template) => (table(template).Properties.Replicas as Record<string, unknown>[])[0]!;
const logRetentions = (template: Template) =>
  Object.values(resources(template, 'AWS::Logs::LogGroup')).map((group) => group.Properties.RetentionInDays);
const noncurrentDays = (template: Template) => {
  const ingest = Object.values(resources(template, 'AWS::S3::Bucket')).find((b) => b.Properties.VersioningConfiguration)!;
  return (ingest.Properties.LifecycleConfiguration as { Rules: { NoncurrentVersionExpiration?: { NoncurrentDays: number } }[] }).Rules[0]!
    .NoncurrentVersionExpiration!.NoncurrentDays;
};

describe('stages', () => {
  it('have the same resources: dev and prod differ only in their properties', () => {
    const shape = (template: Template) =>
      Object.entries((template.toJSON() as { Resources: Resources }).Resources).map(([id, r]) => `${id} ${r.Type}`).sort();
    expect(shape(dev)).toEqual(shape(prod));
  });

  it('prod (the default) retains and protects the table, with point-in-time recovery', () => {
    expect(table(prod)).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(replica(prod)).toMatchObject({ DeletionProtectionEnabled: true, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } });
  });

  it('prod retains its buckets, keeps master versions 90 days and logs 3 months', () => {
    const buckets = Object.values(resources(prod, 'AWS::S3::Bucket'));
    expect(buckets).toHaveLength(3); // masters, public and protected derivatives
    for (const bucket of buckets) expect(bucket).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(noncurrentDays(prod)).toBe(90);
    expect(new Set(logRetentions(prod))).toEqual(new Set([90]));
    expect(logRetentions(prod)).toHaveLength(6); // ingest, Image API, Presentation API, Auth API, access review, harvest
  });

  it('dev deletes the table with the stack (no deletion protection), point-in-time recovery still on', () => {
    expect(table(dev)).toMatchObject({ DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
    expect(replica(dev)).toMatchObject({ DeletionProtectionEnabled: false, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } });
  });

  it('dev deletes its buckets with the stack, without an auto-delete function (they are emptied first), logs a week', () => {
    for (const bucket of Object.values(resources(dev, 'AWS::S3::Bucket'))) expect(bucket).toMatchObject({ DeletionPolicy: 'Delete' });
    expect(Object.keys(resources(dev, 'Custom::S3AutoDeleteObjects'))).toEqual([]);
    expect(JSON.stringify(dev.toJSON())).not.toContain('s3:DeleteObject*');
    expect(new Set(logRetentions(dev))).toEqual(new Set([7]));
  });

  it('takes logRetentionDays, masterVersionRetentionDays and harvestEveryMinutes from context in any stage', () => {
    expect(new Set(logRetentions(devTuned))).toEqual(new Set([30]));
    expect(noncurrentDays(devTuned)).toBe(14);
    const schedules = Object.values(resources(devTuned, 'AWS::Events::Rule')).map((rule) => rule.Properties.ScheduleExpression);
    expect(schedules).toContain('rate(15 minutes)');
    expect(Object.values(resources(prod, 'AWS::Events::Rule')).map((rule) => rule.Properties.ScheduleExpression)).toContain('rate(1 hour)');
  });
});
