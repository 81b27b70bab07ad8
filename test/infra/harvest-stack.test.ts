/** The data hub harvest in the stack: deployed only when a data hub is configured, scheduled, one run at a time. */
import { Match } from 'aws-cdk-lib/assertions';
import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { synthesize } from './synth.ts';

describe('data hub harvest', () => {
  it('is absent without a data hub', () => {
    const { template, outdir } = synthesize();
    rmSync(outdir, { recursive: true, force: true });
    // The daily access review's schedule is the only rule (test/infra/access.test.ts).
    template.resourceCountIs('AWS::Events::Rule', 1);
    expect(JSON.stringify(template.toJSON())).not.toContain('imagehub harvest');
  });

  it('runs hourly and reconciles weekly, never two runs at once, with only the table to write and reviews to ask for', () => {
    const { template, outdir } = synthesize({ datahub: { oaiBaseUrl: 'https://datahub.example.org/oai', set: 'institution:msk' } });
    rmSync(outdir, { recursive: true, force: true });
    const functions = template.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('^imagehub harvest') } });
    const [logicalId, fn] = Object.entries(functions)[0] as [string, { Properties: Record<string, unknown> }];
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Timeout: 900,
      ReservedConcurrentExecutions: 1,
      Environment: { Variables: expect.objectContaining({ OAI_BASE_URL: 'https://datahub.example.org/oai', OAI_SET: 'institution:msk' }) },
    });
    expect(fn.Properties.Layers).toBeUndefined();
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId, 'Arn'] }, Input: '{"mode":"auto"}' })],
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(0 3 ? * SUN *)',
      Targets: [Match.objectLike({ Input: '{"reconcile":true}' })],
    });
    const role = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => (p as { Properties: { Roles: { Ref: string }[] } }).Properties.Roles.some((r) => r.Ref === role))
      .flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: { Action: string | string[] }[] } } }).Properties.PolicyDocument.Statement);
    // The table, and review requests for a changed record's images on the ingest queue (sqs:SendMessage only).
    expect(statements.flatMap((s) => ([] as string[]).concat(s.Action)).every((a) => a.startsWith('dynamodb:') || a === 'sqs:SendMessage')).toBe(true);
  });
});
