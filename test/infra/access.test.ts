/**
 * Rights-aware access on AWS (issue 8), proven with aws-cdk-lib/assertions: the protected derivative store the CDN
 * can never read, the IIIF Auth 2.0 services behind `/iiif/auth/*` with their secrets, the access cookie forwarded
 * to the image origins but kept out of the cache key, the daily access review, and the settings that drive them.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_DEPLOYMENT_SETTINGS, DEPLOYMENT_SETTINGS } from '../../lib/config.ts';
import { contextProblems, fromContext, synthesize } from './synth.ts';

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };
type Resources = Record<string, Resource>;
type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Principal?: unknown; Condition?: unknown };

const ACCESS_SETTINGS = {
  IMAGEHUB_ACCESS_MAX_LONG_SIDE: '640',
  IMAGEHUB_ACCESS_DEFAULT: 'restricted-size',
  IMAGEHUB_ACCESS_INSTITUTIONS: 'mskgent.be=restricted-size,kmska.be=open',
  IMAGEHUB_AUTH_SESSION_HOURS: '12',
};

const outdirs: string[] = [];
/** The default stack: CloudFront domain, no harvest, no settings. */
let plain: Template;
/** A custom domain, a data hub harvest and the access settings. */
let tuned: Template;
/** dev stage. */
let dev: Template;
beforeAll(() => {
  const a = synthesize();
  const b = synthesize({
    domainName: 'iiif.example.museum',
    certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
    datahub: { oaiBaseUrl: 'https://datahub.example.org/oai' },
    settings: { IMAGEHUB_TILE_SIZE: '256', ...ACCESS_SETTINGS },
  });
  const c = synthesize({ stage: 'dev' });
  outdirs.push(a.outdir, b.outdir, c.outdir);
  plain = a.template;
  tuned = b.template;
  dev = c.template;
}, 240_000);
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

const resources = (template: Template, type: string) => template.findResources(type) as Resources;
const resourceById = (template: Template, id: string) => (template.toJSON() as { Resources: Resources }).Resources[id]!;
/** The one resource of `type` whose logical id starts with `prefix`. */
function byPrefix(template: Template, type: string, prefix: string): [string, Resource] {
  const found = Object.entries(resources(template, type)).filter(([id]) => id.startsWith(prefix));
  expect(found, `${type} ${prefix}*`).toHaveLength(1);
  return found[0]!;
}
const protectedBucketId = (template: Template) => byPrefix(template, 'AWS::S3::Bucket', 'ProtectedDerivativesBucket')[0];
const derivativeBucketId = (template: Template) => byPrefix(template, 'AWS::S3::Bucket', 'DerivativesBucket')[0];
const queueId = (template: Template) => Object.entries(resources(template, 'AWS::SQS::Queue')).find(([, q]) => q.Properties.RedrivePolicy)![0];
const secretId = (template: Template, name: 'StaffPassword' | 'SigningKey') => byPrefix(template, 'AWS::SecretsManager::Secret', `AuthApi${name}`)[0];

/** The function whose description starts with `prefix`. */
function fn(template: Template, prefix: string): { id: string; properties: Record<string, unknown>; env: Record<string, unknown> } {
  const found = Object.entries(resources(template, 'AWS::Lambda::Function')).filter(([, r]) => String(r.Properties.Description ?? '').startsWith(prefix));
  expect(found, prefix).toHaveLength(1);
  const [id, resource] = found[0]!;
  return { id, properties: resource.Properties, env: (resource.Properties.Environment as { Variables: Record<string, unknown> }).Variables };
}
/** Every statement of the IAM policies attached to the function's role. */
function statementsOf(template: Template, prefix: string): Statement[] {
  const role = (fn(template, prefix).properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  return Object.values(resources(template, 'AWS::IAM::Policy'))
    .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === role))
    .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}
const mentions = (statement: Statement, logicalId: string) => JSON.stringify(statement.Resource).includes(`"${logicalId}"`);
const actionsOf = (statements: Statement[]) => statements.flatMap((s) => ([] as string[]).concat(s.Action));
const objectsOf = (bucketId: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*']] });

const INGEST = 'imagehub ingest';
const IMAGE_API = 'imagehub Image API';
const AUTH = 'imagehub auth';
const REVIEW = 'imagehub access review';
const HARVEST = 'imagehub harvest';

interface Behavior {
  PathPattern?: string;
  TargetOriginId: string;
  AllowedMethods: string[];
  CachedMethods: string[];
  CachePolicyId: { Ref: string };
  OriginRequestPolicyId: { Ref: string };
  ResponseHeadersPolicyId: { Ref: string };
  FunctionAssociations?: { EventType: string }[];
  ViewerProtocolPolicy: string;
}
interface DistributionConfig {
  Origins: { Id: string; DomainName: unknown; S3OriginConfig?: unknown; CustomOriginConfig?: { OriginProtocolPolicy: string } }[];
  DefaultCacheBehavior: Behavior;
  CacheBehaviors: Behavior[];
}
const distribution = (template: Template) => Object.values(resources(template, 'AWS::CloudFront::Distribution'))[0]!.Properties.DistributionConfig as DistributionConfig;
const cachePolicy = (template: Template, behavior: Behavior) => resourceById(template, behavior.CachePolicyId.Ref).Properties.CachePolicyConfig as {
  MinTTL: number; DefaultTTL: number; MaxTTL: number;
  ParametersInCacheKeyAndForwardedToOrigin: {
    CookiesConfig: { CookieBehavior: string; Cookies?: string[] };
    HeadersConfig: { HeaderBehavior: string; Headers?: string[] };
    QueryStringsConfig: { QueryStringBehavior: string; QueryStrings?: string[] };
  };
};
const originRequestPolicy = (template: Template, behavior: Behavior) => resourceById(template, behavior.OriginRequestPolicyId.Ref).Properties.OriginRequestPolicyConfig as {
  CookiesConfig: { CookieBehavior: string; Cookies?: string[] };
  HeadersConfig: { HeaderBehavior: string; Headers?: string[] };
  QueryStringsConfig: { QueryStringBehavior: string; QueryStrings?: string[] };
};
const authBehavior = (template: Template) => distribution(template).CacheBehaviors.find((b) => b.PathPattern === '/iiif/auth/*')!;

describe('protected derivative store', () => {
  it('is a third bucket: private, encrypted, owner-enforced, TLS-only, retained in prod and deleted with a dev stack', () => {
    const id = protectedBucketId(plain);
    const bucket = resourceById(plain, id);
    expect(bucket.Properties).toMatchObject({
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(resourceById(dev, protectedBucketId(dev)).DeletionPolicy).toBe('Delete');
    const policy = Object.values(resources(plain, 'AWS::S3::BucketPolicy')).find((p) => JSON.stringify(p.Properties.Bucket) === JSON.stringify({ Ref: id }))!;
    expect((policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  it('is never reachable by the CDN: no origin, no Origin Access Control grant, no CloudFront principal in its policy', () => {
    for (const template of [plain, tuned]) {
      const id = protectedBucketId(template);
      const config = distribution(template);
      expect(JSON.stringify(config)).not.toContain(`"${id}"`);
      // The one S3 origin is the public derivative store.
      const s3Origins = config.Origins.filter((o) => o.S3OriginConfig);
      expect(s3Origins).toHaveLength(1);
      expect(JSON.stringify(s3Origins[0]!.DomainName)).toContain(`"${derivativeBucketId(template)}"`);
      const policies = Object.values(resources(template, 'AWS::S3::BucketPolicy')).filter((p) => JSON.stringify(p.Properties.Bucket).includes(`"${id}"`));
      expect(policies).toHaveLength(1);
      expect(JSON.stringify(policies[0]!.Properties.PolicyDocument).toLowerCase()).not.toContain('cloudfront');
      // Only the TLS rule: nobody is granted anything by the bucket itself.
      expect((policies[0]!.Properties.PolicyDocument as { Statement: Statement[] }).Statement.every((s) => s.Effect === 'Deny')).toBe(true);
    }
  });

  it('is written by the ingest function with the same actions it has on the public store', () => {
    const statements = statementsOf(plain, INGEST);
    const protectedId = protectedBucketId(plain);
    const onProtected = statements.filter((s) => mentions(s, protectedId));
    expect(onProtected).toEqual([
      { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: objectsOf(protectedId) },
      { Effect: 'Allow', Action: 's3:ListBucket', Resource: { 'Fn::GetAtt': [protectedId, 'Arn'] } },
    ]);
    const derivativeId = derivativeBucketId(plain);
    const onPublic = statements.filter((s) => mentions(s, derivativeId));
    expect(onPublic.map((s) => s.Action)).toEqual(onProtected.map((s) => s.Action));
  });

  it('is read by the Image API: GetObject, and ListBucket so a missing key is a 404, never a write', () => {
    const protectedId = protectedBucketId(plain);
    expect(statementsOf(plain, IMAGE_API).filter((s) => mentions(s, protectedId))).toEqual(
      expect.arrayContaining([
        { Effect: 'Allow', Action: 's3:GetObject', Resource: objectsOf(protectedId) },
        { Effect: 'Allow', Action: 's3:ListBucket', Resource: { 'Fn::GetAtt': [protectedId, 'Arn'] } },
      ]),
    );
    expect(statementsOf(plain, IMAGE_API).filter((s) => mentions(s, protectedId))).toHaveLength(2);
  });

  it('is granted to no other function', () => {
    const protectedId = protectedBucketId(tuned);
    for (const prefix of [AUTH, REVIEW, HARVEST, 'imagehub Presentation API']) {
      expect(statementsOf(tuned, prefix).filter((s) => mentions(s, protectedId)), prefix).toEqual([]);
    }
  });

  it('is named IMAGEHUB_PROTECTED_BUCKET to the ingest, Image API and access review functions', () => {
    for (const prefix of [INGEST, IMAGE_API, REVIEW]) {
      expect(fn(plain, prefix).env.IMAGEHUB_PROTECTED_BUCKET, prefix).toEqual({ Ref: protectedBucketId(plain) });
    }
  });

  it('uses an existing bucket when protectedBucketName is given, creating none', () => {
    const { template, outdir } = synthesize({ ingestBucketName: 'museum-masters', derivativeBucketName: 'museum-iiif', protectedBucketName: 'museum-iiif-protected' });
    rmSync(outdir, { recursive: true, force: true });
    template.resourceCountIs('AWS::S3::Bucket', 0);
    for (const prefix of [INGEST, IMAGE_API, REVIEW]) expect(fn(template, prefix).env.IMAGEHUB_PROTECTED_BUCKET, prefix).toBe('museum-iiif-protected');
    expect(JSON.stringify(distribution(template))).not.toContain('museum-iiif-protected');
    const granted = statementsOf(template, IMAGE_API).filter((s) => JSON.stringify(s.Resource).includes('museum-iiif-protected'));
    expect(granted.map((s) => s.Action).sort()).toEqual(['s3:GetObject', 's3:ListBucket']);
  });

  it('is an output', () => {
    const outputs = plain.toJSON().Outputs as Record<string, { Value: unknown }>;
    const output = Object.entries(outputs).find(([name]) => name.includes('ProtectedBucketName'));
    expect(output?.[1].Value).toEqual({ Ref: protectedBucketId(plain) });
  });
});

describe('Auth API secrets', () => {
  it('are two secrets generated at deploy: a 24-character staff password and a 64-character signing key', () => {
    expect(Object.keys(resources(plain, 'AWS::SecretsManager::Secret'))).toHaveLength(2);
    expect(resourceById(plain, secretId(plain, 'StaffPassword')).Properties.GenerateSecretString).toEqual({
      SecretStringTemplate: '{}', GenerateStringKey: 'password', PasswordLength: 24, ExcludePunctuation: true, IncludeSpace: false,
    });
    expect(resourceById(plain, secretId(plain, 'SigningKey')).Properties.GenerateSecretString).toEqual({
      SecretStringTemplate: '{}', GenerateStringKey: 'signingKey', PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false,
    });
  });

  it('are named to the auth function, which may read both; the Image API reads the signing key only; nobody else either', () => {
    const password = { Ref: secretId(plain, 'StaffPassword') };
    const signing = { Ref: secretId(plain, 'SigningKey') };
    expect(fn(plain, AUTH).env).toMatchObject({ IMAGEHUB_AUTH_PASSWORD_SECRET_ARN: password, IMAGEHUB_AUTH_SIGNING_SECRET_ARN: signing });
    const imageApiEnv = fn(plain, IMAGE_API).env;
    expect(imageApiEnv.IMAGEHUB_AUTH_SIGNING_SECRET_ARN).toEqual(signing);
    expect(imageApiEnv.IMAGEHUB_AUTH_PASSWORD_SECRET_ARN).toBeUndefined();
    const secretStatements = (prefix: string) => statementsOf(tuned, prefix).filter((s) => actionsOf([s]).some((a) => a.startsWith('secretsmanager:')));
    const tunedPassword = { Ref: secretId(tuned, 'StaffPassword') };
    const tunedSigning = { Ref: secretId(tuned, 'SigningKey') };
    expect(secretStatements(AUTH)).toEqual([
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: tunedPassword },
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: tunedSigning },
    ]);
    expect(secretStatements(IMAGE_API)).toEqual([{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: tunedSigning }]);
    for (const prefix of [INGEST, REVIEW, HARVEST, 'imagehub Presentation API']) expect(secretStatements(prefix), prefix).toEqual([]);
  });

  it('are outputs, for ops to read the staff password', () => {
    const outputs = plain.toJSON().Outputs as Record<string, { Value: unknown; Description?: string }>;
    const password = Object.entries(outputs).find(([name]) => name.includes('StaffPasswordSecretArn'))!;
    expect(password[1].Value).toEqual({ Ref: secretId(plain, 'StaffPassword') });
    expect(password[1].Description).toContain('get-secret-value');
    expect(Object.entries(outputs).find(([name]) => name.includes('SigningKeySecretArn'))![1].Value).toEqual({ Ref: secretId(plain, 'SigningKey') });
  });
});

describe('Auth API function', () => {
  it('runs on Node.js 22 arm64 without the imaging layer, reads the table and writes nothing', () => {
    const { properties, env } = fn(plain, AUTH);
    expect(properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler' });
    expect(properties.Layers ?? []).toHaveLength(0);
    expect(env.TABLE_NAME).toEqual({ Ref: Object.keys(resources(plain, 'AWS::DynamoDB::GlobalTable'))[0] });
    const actions = actionsOf(statementsOf(plain, AUTH));
    expect(actions.filter((a) => a.startsWith('dynamodb:')).length).toBeGreaterThan(0);
    expect(actions.filter((a) => a.startsWith('dynamodb:') && !/^dynamodb:(BatchGetItem|GetRecords|GetShardIterator|Query|GetItem|Scan|ConditionCheckItem|DescribeTable)$/.test(a))).toEqual([]);
    expect(actions.filter((a) => !a.startsWith('dynamodb:') && a !== 'secretsmanager:GetSecretValue')).toEqual([]);
  });

  it('gets the public URL with a custom domain only, and the access settings (session hours) but not the imaging ones', () => {
    expect(fn(plain, AUTH).env.IMAGEHUB_PUBLIC_URL).toBeUndefined();
    const { env } = fn(tuned, AUTH);
    expect(env).toMatchObject({ IMAGEHUB_PUBLIC_URL: 'https://iiif.example.museum', ...ACCESS_SETTINGS });
    expect(env.IMAGEHUB_TILE_SIZE).toBeUndefined();
  });

  it('sits behind an HTTP API of its own', () => {
    const apis = Object.keys(resources(plain, 'AWS::ApiGatewayV2::Api'));
    expect(apis).toHaveLength(3);
    expect(Object.values(resources(plain, 'AWS::ApiGatewayV2::Api')).map((a) => a.Properties.Description)).toContain('imagehub IIIF Auth 2.0 services (reached through CloudFront)');
  });
});

describe('CDN', () => {
  it('sends /iiif/auth/* to the Auth API over HTTPS, every method allowed (the login form POSTs), through the viewer-request function', () => {
    for (const template of [plain, tuned]) {
      const behavior = authBehavior(template);
      expect(behavior).toBeDefined();
      expect(behavior.AllowedMethods.sort()).toEqual(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT']);
      expect(behavior.CachedMethods.sort()).toEqual(['GET', 'HEAD']);
      expect(behavior.ViewerProtocolPolicy).toBe('redirect-to-https');
      expect(behavior.FunctionAssociations).toEqual([expect.objectContaining({ EventType: 'viewer-request' })]);
      const origin = distribution(template).Origins.find((o) => o.Id === behavior.TargetOriginId)!;
      expect(origin.CustomOriginConfig).toMatchObject({ OriginProtocolPolicy: 'https-only' });
      const authApi = byPrefix(template, 'AWS::ApiGatewayV2::Api', 'AuthApi')[0];
      expect(JSON.stringify(origin.DomainName)).toContain(`"${authApi}"`);
    }
  });

  it('lets the Authorization header reach the probe (in the cache key) with TTLs 0/0/1 s, so nothing is shared', () => {
    const policy = cachePolicy(plain, authBehavior(plain));
    expect({ min: policy.MinTTL, default: policy.DefaultTTL, max: policy.MaxTTL }).toEqual({ min: 0, default: 0, max: 1 });
    const key = policy.ParametersInCacheKeyAndForwardedToOrigin;
    expect(key.HeadersConfig).toEqual({ HeaderBehavior: 'whitelist', Headers: ['Authorization'] });
    // Whatever makes an answer personal is in the key too.
    expect(key.CookiesConfig).toEqual({ CookieBehavior: 'whitelist', Cookies: ['imagehub-access'] });
    expect(key.QueryStringsConfig).toEqual({ QueryStringBehavior: 'whitelist', QueryStrings: ['origin', 'messageId'] });
  });

  it('forwards the access cookie, the services\' query parameters and the viewer host to the Auth API', () => {
    const policy = originRequestPolicy(plain, authBehavior(plain));
    expect(policy.CookiesConfig).toEqual({ CookieBehavior: 'whitelist', Cookies: ['imagehub-access'] });
    expect(policy.QueryStringsConfig).toEqual({ QueryStringBehavior: 'whitelist', QueryStrings: ['origin', 'messageId'] });
    expect(policy.HeadersConfig.HeaderBehavior).toBe('whitelist');
    expect(policy.HeadersConfig.Headers).toContain('x-imagehub-viewer-host');
  });

  it('leaves CORS on /iiif/auth/* to the origin, and keeps open CORS for images and Presentation', () => {
    const config = distribution(plain);
    const headersPolicy = (behavior: Behavior) =>
      resourceById(plain, behavior.ResponseHeadersPolicyId.Ref).Properties.ResponseHeadersPolicyConfig as { CorsConfig?: { AccessControlAllowOrigins: { Items: string[] } }; SecurityHeadersConfig?: unknown };
    const auth = headersPolicy(authBehavior(plain));
    expect(auth.CorsConfig).toBeUndefined();
    expect(JSON.stringify(auth)).not.toContain('FrameOptions'); // the token service is loaded in an iframe
    for (const behavior of [config.DefaultCacheBehavior, config.CacheBehaviors.find((b) => b.PathPattern === '/iiif/presentation/*')!]) {
      expect(headersPolicy(behavior).CorsConfig?.AccessControlAllowOrigins.Items).toEqual(['*']);
    }
  });

  it('forwards the access cookie to the image origins (for the Image API fallback) while the cache key stays the path', () => {
    const behavior = distribution(plain).DefaultCacheBehavior;
    const forwarded = originRequestPolicy(plain, behavior);
    expect(forwarded.CookiesConfig).toEqual({ CookieBehavior: 'whitelist', Cookies: ['imagehub-access'] });
    expect(forwarded.HeadersConfig).toEqual({ HeaderBehavior: 'whitelist', Headers: ['x-imagehub-viewer-host'] });
    const key = cachePolicy(plain, behavior).ParametersInCacheKeyAndForwardedToOrigin;
    expect(key.CookiesConfig).toEqual({ CookieBehavior: 'none' });
    expect(key.HeadersConfig).toEqual({ HeaderBehavior: 'none' });
    expect(key.QueryStringsConfig).toEqual({ QueryStringBehavior: 'none' });
  });

  it('does not forward the access cookie to the Presentation API', () => {
    const behavior = distribution(plain).CacheBehaviors.find((b) => b.PathPattern === '/iiif/presentation/*')!;
    expect(originRequestPolicy(plain, behavior).CookiesConfig).toEqual({ CookieBehavior: 'none' });
  });
});

describe('ingest and the CDN', () => {
  it('may invalidate this distribution\'s paths (a tightened access withdraws public copies), and nothing else of CloudFront', () => {
    const distributionId = Object.keys(resources(plain, 'AWS::CloudFront::Distribution'))[0]!;
    expect(fn(plain, INGEST).env.IMAGEHUB_DISTRIBUTION_ID).toEqual({ Ref: distributionId });
    expect(statementsOf(plain, INGEST).filter((s) => actionsOf([s]).some((a) => a.startsWith('cloudfront:')))).toEqual([
      {
        Effect: 'Allow',
        Action: 'cloudfront:CreateInvalidation',
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudfront::123456789012:distribution/', { Ref: distributionId }]] },
      },
    ]);
    for (const prefix of [IMAGE_API, AUTH, REVIEW]) expect(actionsOf(statementsOf(plain, prefix)).filter((a) => a.startsWith('cloudfront:')), prefix).toEqual([]);
  });
});

describe('access review', () => {
  it('runs daily at 00:05 UTC on an EventBridge schedule', () => {
    const review = fn(plain, REVIEW);
    const rules = Object.values(resources(plain, 'AWS::Events::Rule'));
    expect(rules).toHaveLength(1);
    expect(rules[0]!.Properties).toMatchObject({
      ScheduleExpression: 'cron(5 0 * * ? *)',
      State: 'ENABLED',
      Targets: [expect.objectContaining({ Arn: { 'Fn::GetAtt': [review.id, 'Arn'] } })],
    });
    plain.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [review.id, 'Arn'] },
    });
  });

  it('runs on Node.js 22 arm64 with the table, the ingest queue and the access settings only', () => {
    const { properties, env } = fn(tuned, REVIEW);
    expect(properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Timeout: 900 });
    expect(properties.Layers ?? []).toHaveLength(0);
    expect(env).toMatchObject({
      TABLE_NAME: { Ref: Object.keys(resources(tuned, 'AWS::DynamoDB::GlobalTable'))[0] },
      IMAGEHUB_INGEST_QUEUE_URL: { Ref: queueId(tuned) },
      ...ACCESS_SETTINGS,
    });
    expect(env.IMAGEHUB_TILE_SIZE).toBeUndefined();
  });

  it('may read and write the table and send to the ingest queue, SendMessage only, nothing else', () => {
    const statements = statementsOf(plain, REVIEW);
    const actions = actionsOf(statements);
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem']));
    expect(statements.filter((s) => actionsOf([s]).some((a) => a.startsWith('sqs:')))).toEqual([
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [queueId(plain), 'Arn'] } },
    ]);
    expect(actions.filter((a) => !a.startsWith('dynamodb:') && a !== 'sqs:SendMessage')).toEqual([]);
  });

  it('has its errors alarmed and on the dashboard, as has the Auth API', () => {
    const alarms = Object.values(resources(plain, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    for (const prefix of [REVIEW, AUTH]) {
      expect(alarms.filter((a) => a.MetricName === 'Errors' && JSON.stringify(a.Dimensions).includes(`"${fn(plain, prefix).id}"`)), prefix).toHaveLength(1);
    }
  });
});

describe('data hub harvest', () => {
  it('asks for reviews through the ingest queue: SendMessage and its URL, with the access settings', () => {
    const { env } = fn(tuned, HARVEST);
    expect(env).toMatchObject({ IMAGEHUB_INGEST_QUEUE_URL: { Ref: queueId(tuned) }, ...ACCESS_SETTINGS });
    expect(statementsOf(tuned, HARVEST).filter((s) => actionsOf([s]).some((a) => a.startsWith('sqs:')))).toEqual([
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [queueId(tuned), 'Arn'] } },
    ]);
  });
});

describe('configuration', () => {
  const problemsOf = contextProblems;

  it('knows the access settings and passes valid ones through', () => {
    expect(DEPLOYMENT_SETTINGS).toEqual(expect.arrayContaining([...ACCESS_DEPLOYMENT_SETTINGS]));
    expect(fromContext({ settings: { ...ACCESS_SETTINGS, IMAGEHUB_ACCESS_MAX_LONG_SIDE: 640 } }).settings).toEqual(ACCESS_SETTINGS);
    expect(problemsOf({ 'settings.IMAGEHUB_ACCESS_INSTITUTIONS': ' mskgent.be = private , kmska.be=open,' })).toEqual([]);
  });

  it('refuses access settings out of range, unknown policies and malformed institution lists, each named', () => {
    const problems = problemsOf({
      settings: {
        IMAGEHUB_ACCESS_MAX_LONG_SIDE: '8',
        IMAGEHUB_ACCESS_DEFAULT: 'closed',
        IMAGEHUB_ACCESS_INSTITUTIONS: 'mskgent.be=secret,kmska.be',
        IMAGEHUB_AUTH_SESSION_HOURS: '721',
      },
    });
    // The IMAGEHUB_ACCESS_* problems are the functions' own parser's words (functions/core/access-policy.ts).
    expect(problems).toEqual([
      expect.stringMatching(/^settings\.IMAGEHUB_ACCESS_MAX_LONG_SIDE .*16.*100000.*"8"/),
      expect.stringMatching(/^settings\.IMAGEHUB_ACCESS_DEFAULT .*"closed"/),
      expect.stringMatching(/^settings\.IMAGEHUB_ACCESS_INSTITUTIONS .*mskgent\.be=secret/),
      expect.stringMatching(/^settings\.IMAGEHUB_ACCESS_INSTITUTIONS .*kmska\.be/),
      'settings.IMAGEHUB_AUTH_SESSION_HOURS must be an integer between 1 and 720, got "721"',
    ]);
    expect(problemsOf({ 'settings.IMAGEHUB_ACCESS_INSTITUTIONS': 'mskgent.be=open,mskgent.be=private' })).toEqual([
      expect.stringMatching(/^settings\.IMAGEHUB_ACCESS_INSTITUTIONS .*mskgent\.be/),
    ]);
    for (const hours of ['0', '1.5', 'eight']) {
      expect(problemsOf({ 'settings.IMAGEHUB_AUTH_SESSION_HOURS': hours }), hours).toEqual([`settings.IMAGEHUB_AUTH_SESSION_HOURS must be an integer between 1 and 720, got "${hours}"`]);
    }
    expect(problemsOf({ 'settings.IMAGEHUB_ACCESS_MAX_LONG_SIDE': '800.5' })).toHaveLength(1);
  });

  it('reads protectedBucketName, a valid bucket name other than the ingest and derivative buckets', () => {
    expect(fromContext({ protectedBucketName: 'museum-iiif-protected' }).protectedBucketName).toBe('museum-iiif-protected');
    expect(problemsOf({ protectedBucketName: 'Museum_Protected' })[0]).toMatch(/^protectedBucketName "Museum_Protected" is not a valid S3 bucket name/);
    expect(problemsOf({ derivativeBucketName: 'museum-iiif', protectedBucketName: 'museum-iiif' })).toEqual([
      expect.stringMatching(/^derivativeBucketName and protectedBucketName must differ/),
    ]);
    expect(problemsOf({ ingestBucketName: 'museum-masters', protectedBucketName: 'museum-masters' })).toEqual([
      expect.stringMatching(/^ingestBucketName and protectedBucketName must differ/),
    ]);
  });
});
