/**
 * The CDK stack, proven with aws-cdk-lib/assertions: what `cdk deploy` would create, and that it is wired the
 * way the ingest code expects (queue, dead letters, notifications, environment, permissions, CDN).
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { Match } from 'aws-cdk-lib/assertions';
import { App } from 'aws-cdk-lib';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildViewerRequestFunction } from '../../functions/edge/build.ts';
import { TABLE_INDEXES, type TableIndex } from '../../functions/store/table-schema.ts';
import { ImagehubStack } from '../../lib/imagehub-stack.ts';
import { INGEST_MAX_RECEIVE_COUNT } from '../../lib/ingest-pipeline.ts';
import { PROJECT_ROOT, synthesize, type Synthesized } from './synth.ts';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

let synth: Synthesized;
let template: Template;
beforeAll(() => {
  synth = synthesize();
  template = synth.template;
}, 120_000);
afterAll(() => rmSync(synth?.outdir ?? '', { recursive: true, force: true }));

const resourcesOf = (type: string): Resources => template.findResources(type) as Resources;
const only = (type: string) => {
  const found = Object.values(resourcesOf(type));
  expect(found, type).toHaveLength(1);
  return found[0]!.Properties;
};
function ingestFunction() {
  const found = Object.entries(resourcesOf('AWS::Lambda::Function')).filter(([, r]) =>
    String(r.Properties.Description ?? '').startsWith('imagehub ingest'),
  );
  expect(found).toHaveLength(1);
  return { logicalId: found[0]![0], properties: found[0]![1].Properties };
}

describe('ingest pipeline', () => {
  it('runs the ingest function on Node.js 22, arm64, with the imaging layer and room for large masters', () => {
    const { properties } = ingestFunction();
    expect(properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 4096,
      Timeout: 600,
      EphemeralStorage: { Size: 10240 },
    });
    expect(properties.Layers).toHaveLength(1);
    template.hasResourceProperties('AWS::Lambda::LayerVersion', {
      CompatibleRuntimes: ['nodejs22.x'],
      CompatibleArchitectures: ['arm64'],
    });
  });

  it('gives the function the public URL of the CDN, the derivative bucket and the table', () => {
    const env = (ingestFunction().properties.Environment as { Variables: Record<string, unknown> }).Variables;
    const distribution = Object.keys(resourcesOf('AWS::CloudFront::Distribution'))[0]!;
    expect(env.IMAGEHUB_PUBLIC_URL).toEqual({ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distribution, 'DomainName'] }]] });
    const derivativeBucket = Object.keys(resourcesOf('AWS::S3::Bucket')).find((id) => id.startsWith('DerivativesBucket'))!;
    expect(env.DERIVATIVE_BUCKET).toEqual({ Ref: derivativeBucket });
    expect(env.TABLE_NAME).toEqual({ Ref: Object.keys(resourcesOf('AWS::DynamoDB::GlobalTable'))[0] });
    expect(env.INGEST_MAX_RECEIVE_COUNT).toBe(String(INGEST_MAX_RECEIVE_COUNT));
  });

  it('feeds S3 created and removed events through SQS with a dead-letter queue and partial batch failures', () => {
    const queues = resourcesOf('AWS::SQS::Queue');
    const main = Object.values(queues).find((q) => q.Properties.RedrivePolicy)!;
    const [dlqId] = Object.entries(queues).find(([, q]) => !q.Properties.RedrivePolicy)!;
    expect(main.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] },
      maxReceiveCount: INGEST_MAX_RECEIVE_COUNT,
    });
    // Six times the function timeout, AWS's rule for SQS event sources.
    expect(main.Properties.VisibilityTimeout).toBe(6 * 600);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 4,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 20 },
      FunctionName: { Ref: ingestFunction().logicalId },
    });
    const notifications = only('Custom::S3BucketNotifications').NotificationConfiguration as {
      QueueConfigurations: { Events: string[] }[];
    };
    expect(notifications.QueueConfigurations.flatMap((c) => c.Events).sort()).toEqual(['s3:ObjectCreated:*', 's3:ObjectRemoved:*']);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 1,
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
    });
  });

  it('lets the ingest function park a message in the dead-letter queue itself, with its reason, and names both queues for imagehub redrive', () => {
    const queues = resourcesOf('AWS::SQS::Queue');
    const [dlqId] = Object.entries(queues).find(([, q]) => !q.Properties.RedrivePolicy)!;
    const [queueId] = Object.entries(queues).find(([, q]) => q.Properties.RedrivePolicy)!;
    const environment = (ingestFunction().properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(environment.IMAGEHUB_DEAD_LETTER_QUEUE_URL).toEqual({ Ref: dlqId });
    const role = (ingestFunction().properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const statements = Object.values(resourcesOf('AWS::IAM::Policy'))
      .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === role))
      .flatMap((p) => (p.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement);
    const sends = statements.filter((st) => [st.Action].flat().includes('sqs:SendMessage'));
    expect(sends.map((st) => st.Resource)).toEqual([{ 'Fn::GetAtt': [dlqId, 'Arn'] }]);
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    const valueOf = (suffix: string) => Object.entries(outputs).find(([id]) => new RegExp(`${suffix}[0-9A-F]{8}$`).test(id))?.[1].Value;
    expect(valueOf('DeadLetterQueueUrl')).toEqual({ Ref: dlqId });
    expect(valueOf('IngestQueueUrl')).toEqual({ Ref: queueId });
  });

  it('keeps masters safe: private, TLS-only, versioned, retained with the stack deleted', () => {
    // Masters, public derivatives, protected derivatives (test/infra/access.test.ts).
    const buckets = template.findResources('AWS::S3::Bucket');
    expect(Object.keys(buckets)).toHaveLength(3);
    for (const bucket of Object.values(buckets) as { Properties: Record<string, unknown>; DeletionPolicy: string }[]) {
      expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(bucket.DeletionPolicy).toBe('Retain');
    }
    const versioned = Object.values(buckets).filter((b) => (b as { Properties: Record<string, unknown> }).Properties.VersioningConfiguration);
    expect(versioned).toHaveLength(1);
    const policies = Object.values(resourcesOf('AWS::S3::BucketPolicy'));
    expect(policies.length).toBe(3);
    for (const policy of policies) {
      expect(JSON.stringify(policy.Properties.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
    }
  });

  it('grants the ingest function only its own buckets and table', () => {
    const { logicalId } = ingestFunction();
    const role = (ingestFunction().properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const policies = Object.values(resourcesOf('AWS::IAM::Policy')).filter((p) =>
      (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === role),
    );
    expect(policies.length).toBeGreaterThan(0);
    const statements = policies.flatMap((p) => (p.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement);
    for (const statement of statements) {
      const actions = ([] as string[]).concat(statement.Action);
      if (actions.some((a) => a.startsWith('s3:') || a.startsWith('dynamodb:'))) {
        expect(JSON.stringify(statement.Resource), `${logicalId}: ${actions.join(',')}`).not.toBe('"*"');
      }
      expect(actions).not.toContain('s3:*');
    }
    expect(statements.some((s) => ([] as string[]).concat(s.Action).includes('s3:DeleteObject'))).toBe(true);
  });

  it('declares the metadata table from the shared schema, with point-in-time recovery', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      // Every index of the shared schema (ingest activity, the data-hub mirror's lookups) with its projection.
      GlobalSecondaryIndexes: (TABLE_INDEXES as readonly TableIndex[]).map((index) =>
        Match.objectLike({
          IndexName: index.indexName,
          KeySchema: [
            { AttributeName: index.partitionKey, KeyType: 'HASH' },
            { AttributeName: index.sortKey, KeyType: 'RANGE' },
          ],
          Projection: index.projection?.type === 'INCLUDE'
            ? { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.projection.attributes] }
            : { ProjectionType: index.projection?.type ?? 'ALL' },
        }),
      ),
      Replicas: [Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }, DeletionProtectionEnabled: true })],
    });
  });
});

describe('CDN', () => {
  it('serves the derivative bucket through Origin Access Control, path-only cache key, CORS, HTTPS', () => {
    const config = only('AWS::CloudFront::Distribution').DistributionConfig as Record<string, unknown>;
    expect(config).toMatchObject({ DefaultRootObject: 'index.html', HttpVersion: 'http2and3', Enabled: true });
    const behaviour = config.DefaultCacheBehavior as Record<string, unknown>;
    expect(behaviour).toMatchObject({ ViewerProtocolPolicy: 'redirect-to-https', Compress: true });
    expect((config.Origins as { OriginAccessControlId?: unknown }[])[0]!.OriginAccessControlId).toBeDefined();
    template.hasResourceProperties('AWS::CloudFront::CachePolicy', {
      CachePolicyConfig: Match.objectLike({
        ParametersInCacheKeyAndForwardedToOrigin: Match.objectLike({
          CookiesConfig: { CookieBehavior: 'none' },
          HeadersConfig: { HeaderBehavior: 'none' },
          QueryStringsConfig: { QueryStringBehavior: 'none' },
        }),
      }),
    });
    template.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', {
      ResponseHeadersPolicyConfig: Match.objectLike({
        CorsConfig: Match.objectLike({ AccessControlAllowOrigins: { Items: ['*'] }, AccessControlAllowCredentials: false }),
      }),
    });
  });

  it('deploys the viewer-request function built from the tested source', () => {
    const fn = only('AWS::CloudFront::Function');
    expect(fn.FunctionCode).toBe(buildViewerRequestFunction());
    expect(fn.FunctionConfig).toMatchObject({ Runtime: 'cloudfront-js-2.0' });
    const behaviour = (only('AWS::CloudFront::Distribution').DistributionConfig as { DefaultCacheBehavior: { FunctionAssociations: { EventType: string }[] } }).DefaultCacheBehavior;
    expect(behaviour.FunctionAssociations).toEqual([expect.objectContaining({ EventType: 'viewer-request' })]);
  });

  it('grants CloudFront read and list on the derivative bucket only (missing files answer 404, not 403)', () => {
    const policies = Object.values(resourcesOf('AWS::S3::BucketPolicy'));
    const cloudfront = policies.flatMap((p) => (p.Properties.PolicyDocument as { Statement: { Principal?: { Service?: string }; Action: string | string[] }[] }).Statement)
      .filter((s) => s.Principal?.Service === 'cloudfront.amazonaws.com');
    expect(cloudfront.flatMap((s) => ([] as string[]).concat(s.Action)).sort()).toEqual(['s3:GetObject', 's3:ListBucket']);
  });
});

describe('Image API', () => {
  function imageApiFunction() {
    const found = Object.entries(resourcesOf('AWS::Lambda::Function')).filter(([, r]) => String(r.Properties.Description ?? '').startsWith('imagehub Image API'));
    expect(found).toHaveLength(1);
    return { logicalId: found[0]![0], properties: found[0]![1].Properties };
  }

  it('runs on Node.js 22 arm64 with the imaging layer, reads the table, and learns the public host from CloudFront', () => {
    const { properties } = imageApiFunction();
    expect(properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], MemorySize: 2048, Timeout: 29 });
    expect(properties.Layers).toHaveLength(1);
    const env = (properties.Environment as { Variables: Record<string, unknown> }).Variables;
    // The distribution's own domain cannot flow into its origin (a cycle): the viewer host is forwarded instead.
    expect(env.IMAGEHUB_PUBLIC_URL).toBeUndefined();
    template.hasResourceProperties('AWS::CloudFront::OriginRequestPolicy', {
      OriginRequestPolicyConfig: Match.objectLike({ HeadersConfig: { HeaderBehavior: 'whitelist', Headers: ['x-imagehub-viewer-host'] } }),
    });
  });

  it('sits behind an HTTP API that CloudFront falls back to when S3 has no stored file', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', { IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
    const config = only('AWS::CloudFront::Distribution').DistributionConfig as {
      OriginGroups: { Items: { FailoverCriteria: { StatusCodes: { Items: number[] } }; Members: { Items: { OriginId: string }[] } }[] };
      Origins: { Id: string; S3OriginConfig?: unknown; CustomOriginConfig?: { OriginProtocolPolicy: string } }[];
      DefaultCacheBehavior: { TargetOriginId: string };
    };
    const group = config.OriginGroups.Items[0]!;
    expect(group.FailoverCriteria.StatusCodes.Items.sort()).toEqual([403, 404]);
    const [primary, fallback] = group.Members.Items.map((m) => config.Origins.find((o) => o.Id === m.OriginId)!);
    expect(primary!.S3OriginConfig).toBeDefined();
    expect(fallback!.CustomOriginConfig).toMatchObject({ OriginProtocolPolicy: 'https-only' });
    expect(config.DefaultCacheBehavior.TargetOriginId).toBe((config.OriginGroups.Items[0] as unknown as { Id: string }).Id);
  });

  it('may read masters from the ingest bucket, GetObject only (lossless crops of TIFF masters by byte ranges)', () => {
    const role = (imageApiFunction().properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const statements = Object.values(resourcesOf('AWS::IAM::Policy'))
      .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === role))
      .flatMap((p) => (p.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown; Effect: string }[] }).Statement);
    // The ingest bucket is the versioned one (masters stay recoverable); the derivative bucket is not.
    const [ingestId] = Object.entries(resourcesOf('AWS::S3::Bucket')).find(([, b]) => b.Properties.VersioningConfiguration)!;
    const onIngest = statements.filter((s) => JSON.stringify(s.Resource).includes(`"${ingestId}"`));
    expect(onIngest).toEqual([
      { Effect: 'Allow', Action: 's3:GetObject', Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [ingestId, 'Arn'] }, '/*']] } },
    ]);
  });

  it('passes a custom domain to the Image API as its public URL', () => {
    const { template: custom, outdir } = synthesize({ domainName: 'iiif.example.museum', certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc' });
    rmSync(outdir, { recursive: true, force: true });
    custom.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^imagehub Image API'),
      Environment: { Variables: Match.objectLike({ IMAGEHUB_PUBLIC_URL: 'https://iiif.example.museum' }) },
    });
  });
});

describe('Presentation API', () => {
  function presentationFunction() {
    const found = Object.entries(resourcesOf('AWS::Lambda::Function')).filter(([, r]) => String(r.Properties.Description ?? '').startsWith('imagehub Presentation API'));
    expect(found).toHaveLength(1);
    return { logicalId: found[0]![0], properties: found[0]![1].Properties };
  }

  it('runs on Node.js 22 arm64 without the imaging layer, with the table and no public URL of its own', () => {
    const { properties } = presentationFunction();
    expect(properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], MemorySize: 1024, Timeout: 10 });
    expect(properties.Layers ?? []).toHaveLength(0);
    const env = (properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env.TABLE_NAME).toBeDefined();
    expect(env.IMAGEHUB_PUBLIC_URL).toBeUndefined();
  });

  it('reads the table and writes nothing but object summaries (PutItem on OBJECT# keys)', () => {
    const { logicalId } = presentationFunction();
    const policies = Object.values(resourcesOf('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes(logicalId.replace(/[0-9A-F]{8}$/, '')),
    );
    const statements = policies.flatMap((p) => (p.Properties.PolicyDocument as { Statement: { Action: string | string[]; Condition?: unknown }[] }).Statement);
    const actions = statements.flatMap((st) => (Array.isArray(st.Action) ? st.Action : [st.Action]));
    expect(actions.filter((a) => a.startsWith('dynamodb:') && !/^dynamodb:(BatchGetItem|GetRecords|GetShardIterator|Query|GetItem|Scan|ConditionCheckItem|DescribeTable)$/.test(a))).toEqual(['dynamodb:PutItem']);
    expect(statements.find((st) => st.Action === 'dynamodb:PutItem')!.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['OBJECT#*'] } });
    expect(actions.some((a) => a.startsWith('s3:'))).toBe(false);
  });

  it('is reached through CloudFront on /iiif/presentation/*, revalidated within seconds, lookup parameters in the key', () => {
    const config = only('AWS::CloudFront::Distribution').DistributionConfig as {
      CacheBehaviors: { PathPattern: string; TargetOriginId: string; CachePolicyId: { Ref: string }; ResponseHeadersPolicyId: unknown; FunctionAssociations: unknown[]; ViewerProtocolPolicy: string }[];
      Origins: { Id: string; CustomOriginConfig?: { OriginProtocolPolicy: string } }[];
    };
    const behavior = config.CacheBehaviors.find((b) => b.PathPattern === '/iiif/presentation/*')!;
    expect(behavior).toBeDefined();
    expect(behavior.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(behavior.FunctionAssociations).toHaveLength(1);
    expect(behavior.ResponseHeadersPolicyId).toBeDefined();
    expect(config.Origins.find((o) => o.Id === behavior.TargetOriginId)!.CustomOriginConfig).toMatchObject({ OriginProtocolPolicy: 'https-only' });
    const policy = (template.toJSON() as { Resources: Resources }).Resources[behavior.CachePolicyId.Ref]!.Properties.CachePolicyConfig as {
      DefaultTTL: number; MinTTL: number; ParametersInCacheKeyAndForwardedToOrigin: { QueryStringsConfig: { QueryStringBehavior: string; QueryStrings: string[] }; CookiesConfig: { CookieBehavior: string } };
    };
    expect(policy.DefaultTTL).toBe(10);
    expect(policy.MinTTL).toBe(0);
    expect(policy.ParametersInCacheKeyAndForwardedToOrigin.CookiesConfig.CookieBehavior).toBe('none');
    expect(policy.ParametersInCacheKeyAndForwardedToOrigin.QueryStringsConfig).toEqual({
      QueryStringBehavior: 'whitelist', QueryStrings: ['objectNumber', 'institution', 'dataPid', 'workPid', 'recordId'],
    });
  });
});

describe('configuration', () => {
  it('uses a custom domain with its certificate for the CDN and every public URL', () => {
    const { template: custom, outdir } = synthesize({
      domainName: 'iiif.example.museum',
      certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
    });
    rmSync(outdir, { recursive: true, force: true });
    custom.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        Aliases: ['iiif.example.museum'],
        ViewerCertificate: Match.objectLike({ MinimumProtocolVersion: 'TLSv1.2_2021', SslSupportMethod: 'sni-only' }),
      }),
    });
    custom.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ IMAGEHUB_PUBLIC_URL: 'https://iiif.example.museum' }) },
    });
  });

  it('refuses a domain without its certificate, at synth time', () => {
    expect(() => new ImagehubStack(new App(), 'Bad', { domainName: 'iiif.example.museum' })).toThrow(/certificateArn/);
  });

  it('uses existing buckets when given, creating none and notifying from the named ingest bucket', () => {
    const { template: existing, outdir } = synthesize({ ingestBucketName: 'museum-masters', derivativeBucketName: 'museum-iiif', protectedBucketName: 'museum-iiif-protected' });
    rmSync(outdir, { recursive: true, force: true });
    existing.resourceCountIs('AWS::S3::Bucket', 0);
    existing.hasResourceProperties('Custom::S3BucketNotifications', { BucketName: 'museum-masters', Managed: false });
    existing.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DERIVATIVE_BUCKET: 'museum-iiif' }) },
    });
  });

  it('passes IMAGEHUB_* settings to the ingest function', () => {
    const { template: tuned, outdir } = synthesize({ settings: { IMAGEHUB_TILE_SIZE: '256' }, ingestMemoryMiB: 4096 });
    rmSync(outdir, { recursive: true, force: true });
    tuned.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 4096,
      Environment: { Variables: Match.objectLike({ IMAGEHUB_TILE_SIZE: '256' }) },
    });
  });
});

describe('imaging layer', () => {
  it('holds sharp for linux-arm64 at the version the tests ran with, and the WebAssembly decoders', () => {
    const modules = join(PROJECT_ROOT, 'layers', 'imaging', 'nodejs', 'node_modules');
    const version = (name: string, root: string) => (JSON.parse(readFileSync(join(root, name, 'package.json'), 'utf8')) as { version: string }).version;
    const projectModules = join(PROJECT_ROOT, 'node_modules');
    expect(version('sharp', modules)).toBe(version('sharp', projectModules));
    const binary = join(modules, '@img', 'sharp-linux-arm64', 'lib', `sharp-linux-arm64-${version('sharp', modules)}.node`);
    const header = readFileSync(binary).subarray(0, 20);
    expect(header.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(header.readUInt16LE(18)).toBe(183); // e_machine EM_AARCH64
    expect(existsSync(join(modules, '@img', 'sharp-libvips-linux-arm64'))).toBe(true);
    expect(existsSync(join(modules, '@cornerstonejs', 'codec-openjpeg', 'dist', 'openjpegwasm_decode.wasm'))).toBe(true);
  });
});
