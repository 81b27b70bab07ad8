/**
 * Observability (lib/monitoring.ts): every alarm notifies one encrypted, TLS-only SNS topic; function errors and
 * throttles, the dead-letter queue, the HTTP APIs' 5xx and (in us-east-1, where CloudFront's metrics are) the CDN
 * 5xx rate are watched; a dashboard shows ingest, the APIs, the harvest and the CDN.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesize } from './synth.ts';

type Resource = { Type: string; Properties: Record<string, unknown> };
type Resources = Record<string, Resource>;
interface AlarmProperties {
  MetricName: string;
  Namespace: string;
  Dimensions: { Name: string; Value: unknown }[];
  Threshold: number;
  Period: number;
  EvaluationPeriods: number;
  Statistic: string;
  ComparisonOperator: string;
  AlarmActions?: unknown[];
  OKActions?: unknown[];
}

const outdirs: string[] = [];
/** eu-west-1, no harvest, no email: the default. */
let plain: Template;
/** us-east-1 with a harvest and an alarm email. */
let virginia: Template;
beforeAll(() => {
  const a = synthesize();
  const b = synthesize({
    env: { account: '123456789012', region: 'us-east-1' },
    datahub: { oaiBaseUrl: 'https://datahub.example.org/oai' },
    alarmEmail: 'ops@museum.example',
  });
  outdirs.push(a.outdir, b.outdir);
  plain = a.template;
  virginia = b.template;
}, 180_000);
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

const resources = (template: Template, type: string) => template.findResources(type) as Resources;
const alarms = (template: Template) => Object.values(resources(template, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties as unknown as AlarmProperties);
const topicId = (template: Template) => Object.keys(resources(template, 'AWS::SNS::Topic'))[0]!;
/** The logical id of the function whose description starts with `prefix`. */
const functionId = (template: Template, prefix: string) =>
  Object.entries(resources(template, 'AWS::Lambda::Function')).find(([, r]) => String(r.Properties.Description).startsWith(prefix))![0];
const alarmOn = (template: Template, metricName: string, dimension: unknown) =>
  alarms(template).filter((a) => a.MetricName === metricName && JSON.stringify(a.Dimensions).includes(JSON.stringify(dimension)));

/** The dashboard's JSON body, CloudFormation references written as their logical ids. */
function dashboardBody(template: Template): { widgets: { type: string; properties: { title?: string; region?: string; metrics?: unknown[][]; alarms?: unknown[] } }[] } {
  const dashboard = Object.values(resources(template, 'AWS::CloudWatch::Dashboard'));
  expect(dashboard).toHaveLength(1);
  const body = dashboard[0]!.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] };
  const text = body['Fn::Join'][1]
    .map((part) => {
      if (typeof part === 'string') return part;
      const ref = part as { Ref?: string; 'Fn::GetAtt'?: string[] };
      return ref.Ref ?? ref['Fn::GetAtt']!.join('.');
    })
    .join('');
  return JSON.parse(text) as ReturnType<typeof dashboardBody>;
}

describe('alarm topic', () => {
  it('is encrypted with a rotated key CloudWatch may use, and refuses publishing without TLS', () => {
    const [keyId, key] = Object.entries(resources(plain, 'AWS::KMS::Key'))[0]!;
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(JSON.stringify(key.Properties.KeyPolicy)).toContain('"Principal":{"Service":"cloudwatch.amazonaws.com"}');
    plain.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    const statements = (Object.values(resources(plain, 'AWS::SNS::TopicPolicy'))[0]!.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
    // Only this account's alarms may publish (confused-deputy conditions).
    const cloudwatch = statements.find((s) => s.Effect === 'Allow')!;
    expect(cloudwatch).toMatchObject({ Action: 'sns:Publish', Principal: { Service: 'cloudwatch.amazonaws.com' } });
    expect(Object.keys(cloudwatch.Condition as object).sort()).toEqual(['ArnLike', 'StringEquals']);
  });

  it('emails alarmEmail when given, and nobody otherwise', () => {
    expect(Object.keys(resources(plain, 'AWS::SNS::Subscription'))).toEqual([]);
    virginia.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@museum.example', TopicArn: { Ref: topicId(virginia) } });
  });

  it('is the alarm and OK action of every alarm, the dead-letter alarm included', () => {
    for (const template of [plain, virginia]) {
      const topic = { Ref: topicId(template) };
      expect(alarms(template).length).toBeGreaterThanOrEqual(9);
      for (const alarm of alarms(template)) {
        expect(alarm.AlarmActions, alarm.MetricName).toEqual([topic]);
        expect(alarm.OKActions, alarm.MetricName).toEqual([topic]);
      }
    }
    expect(alarms(plain).filter((a) => a.Namespace === 'AWS/SQS')).toHaveLength(1);
  });
});

describe('alarms', () => {
  it('on ingest errors: any failed invocation in 15 minutes', () => {
    expect(alarmOn(plain, 'Errors', { Ref: functionId(plain, 'imagehub ingest') })).toEqual([
      expect.objectContaining({ Threshold: 1, Period: 900, Statistic: 'Sum', ComparisonOperator: 'GreaterThanOrEqualToThreshold' }),
    ]);
  });

  it('on Image, Presentation and Auth API errors: 5 or more in 5 minutes', () => {
    for (const prefix of ['imagehub Image API', 'imagehub Presentation API', 'imagehub auth']) {
      expect(alarmOn(plain, 'Errors', { Ref: functionId(plain, prefix) }), prefix).toEqual([
        expect.objectContaining({ Threshold: 5, Period: 300, Statistic: 'Sum', ComparisonOperator: 'GreaterThanOrEqualToThreshold' }),
      ]);
    }
  });

  it('on harvest errors, when a harvest is deployed: any', () => {
    expect(alarmOn(virginia, 'Errors', { Ref: functionId(virginia, 'imagehub harvest') })).toEqual([
      expect.objectContaining({ Threshold: 1, Statistic: 'Sum', ComparisonOperator: 'GreaterThanOrEqualToThreshold' }),
    ]);
  });

  it('on throttles of the ingest, Image API, Presentation API and Auth API functions (the harvest throttles by design)', () => {
    for (const prefix of ['imagehub ingest', 'imagehub Image API', 'imagehub Presentation API', 'imagehub auth']) {
      expect(alarmOn(virginia, 'Throttles', { Ref: functionId(virginia, prefix) }), prefix).toEqual([
        expect.objectContaining({ Threshold: 1, Statistic: 'Sum', ComparisonOperator: 'GreaterThanOrEqualToThreshold' }),
      ]);
    }
    expect(alarmOn(virginia, 'Throttles', { Ref: functionId(virginia, 'imagehub harvest') })).toEqual([]);
  });

  it('on access review errors: any failed run', () => {
    expect(alarmOn(plain, 'Errors', { Ref: functionId(plain, 'imagehub access review') })).toEqual([
      expect.objectContaining({ Threshold: 1, Period: 900, Statistic: 'Sum', ComparisonOperator: 'GreaterThanOrEqualToThreshold' }),
    ]);
  });

  it('on the dead-letter queue: one message is enough', () => {
    const [dlqId] = Object.entries(resources(plain, 'AWS::SQS::Queue')).find(([, q]) => !q.Properties.RedrivePolicy)!;
    expect(alarmOn(plain, 'ApproximateNumberOfMessagesVisible', { 'Fn::GetAtt': [dlqId, 'QueueName'] })).toEqual([
      expect.objectContaining({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' }),
    ]);
  });

  it('on each HTTP API\'s 5xx answers, in the stack\'s region', () => {
    const apis = Object.keys(resources(plain, 'AWS::ApiGatewayV2::Api'));
    expect(apis).toHaveLength(3); // Image, Presentation, Auth
    for (const api of apis) {
      expect(alarmOn(plain, '5xx', { Name: 'ApiId', Value: { Ref: api } })).toEqual([
        expect.objectContaining({ Namespace: 'AWS/ApiGateway', Threshold: 5, Period: 300, Statistic: 'Sum' }),
      ]);
    }
  });

  it('on the CDN 5xx rate when the stack is in us-east-1, with the dimensions CloudFront publishes (Region=Global)', () => {
    const distribution = Object.keys(resources(virginia, 'AWS::CloudFront::Distribution'))[0]!;
    expect(alarms(virginia).filter((a) => a.Namespace === 'AWS/CloudFront')).toEqual([
      expect.objectContaining({
        MetricName: '5xxErrorRate',
        Dimensions: [{ Name: 'DistributionId', Value: { Ref: distribution } }, { Name: 'Region', Value: 'Global' }],
        Statistic: 'Average',
        Threshold: 2,
        EvaluationPeriods: 3,
      }),
    ]);
  });

  it('not on the CDN elsewhere: CloudFront metrics exist in us-east-1 only, and an alarm cannot watch another region', () => {
    expect(alarms(plain).filter((a) => a.Namespace === 'AWS/CloudFront')).toEqual([]);
  });
});

describe('dashboard', () => {
  const titles = (template: Template) => dashboardBody(template).widgets.map((w) => w.properties.title).filter(Boolean);
  const metricsOf = (template: Template, title: string) => dashboardBody(template).widgets.find((w) => w.properties.title === title)!.properties;

  it('shows ingest, the Image, Presentation and Auth APIs, the access review, the harvest, the CDN and the alarms', () => {
    expect(titles(virginia)).toEqual([
      'Ingest duration (ms)',
      'Ingest invocations and errors',
      'Ingest concurrency',
      'Ingest queue and dead letters',
      'Image API latency (ms)',
      'Image API errors',
      'Presentation API latency (ms)',
      'Presentation API errors',
      'Auth API latency (ms)',
      'Auth API errors',
      'Access review runs and errors',
      'Access review duration (ms)',
      'Harvest runs and errors',
      'CDN requests (us-east-1)',
      'CDN error rate, % (us-east-1)',
      'Alarms',
    ]);
    expect(metricsOf(virginia, 'Alarms').alarms).toHaveLength(alarms(virginia).length);
  });

  it('shows Image API latency as p50 and p95', () => {
    const stats = metricsOf(plain, 'Image API latency (ms)').metrics!.map((m) => (m.at(-1) as { stat: string }).stat);
    expect(stats).toEqual(['p50', 'p95']);
  });

  it('reads the CDN metrics from us-east-1 with Region=Global, whatever the stack\'s region', () => {
    const distribution = Object.keys(resources(plain, 'AWS::CloudFront::Distribution'))[0]!;
    for (const title of ['CDN requests (us-east-1)', 'CDN error rate, % (us-east-1)']) {
      const widget = metricsOf(plain, title);
      for (const metric of widget.metrics!) {
        expect(metric.slice(0, 6)).toEqual(['AWS/CloudFront', expect.any(String), 'DistributionId', distribution, 'Region', 'Global']);
        expect(metric.at(-1)).toMatchObject({ region: 'us-east-1' });
      }
    }
    expect(metricsOf(plain, 'CDN error rate, % (us-east-1)').metrics!.map((m) => m[1])).toEqual(['5xxErrorRate', '4xxErrorRate']);
  });

  it('is named in the outputs, with the alarm topic', () => {
    const outputs = Object.keys(plain.toJSON().Outputs as object);
    expect(outputs.some((o) => o.includes('DashboardUrl'))).toBe(true);
    expect(outputs.some((o) => o.includes('AlarmTopicArn'))).toBe(true);
  });
});
