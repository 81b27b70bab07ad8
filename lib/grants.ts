/**
 * Least-privilege grants with the exact S3 actions each function uses, instead of CDK's `grantRead`/`grantReadWrite`
 * (which add `s3:GetObject*`, `s3:List*`, `s3:Abort*`, … wildcards), and the cdk-nag acknowledgements that remain
 * true by construction. Every acknowledgement says why.
 */
import { CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';

/**
 * Object actions on a bucket's objects, and `s3:ListBucket` on the bucket: without it a missing key answers 403
 * instead of 404, and the code tells "not there" from "not allowed" by that.
 */
export function grantObjects(fn: IFunction, bucket: IBucket, objectActions: readonly string[]): void {
  fn.addToRolePolicy(new PolicyStatement({ actions: [...objectActions], resources: [bucket.arnForObjects('*')] }));
  fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }));
}

/** S3 server access logging, for imagehub's buckets. */
export function acknowledgeBucketFindings(bucket: IConstruct): void {
  Validations.of(bucket).acknowledge({
    id: 'AwsSolutions-S1',
    reason: 'Server access logs would need a log bucket per deployment; object-level audit is CloudTrail data events, which an institution enables account-wide where it needs them',
  });
}

/** cdk-nag findings of the HTTP APIs behind CloudFront. */
export function acknowledgeApiFindings(api: IConstruct): void {
  Validations.of(api).acknowledge({
    id: 'AwsSolutions-APIG4',
    reason: 'IIIF is public and read-only by design (viewers on other sites fetch it anonymously); the API is an origin of CloudFront, which serves what it is allowed to',
  });
  Validations.of(api).acknowledge({
    id: 'AwsSolutions-APIG1',
    reason: 'Every request is logged by its function (Powertools JSON logs with path and outcome) and counted by CloudFront; API Gateway access logs would log each request a third time',
  });
}

/**
 * cdk-nag findings every imagehub function has, acknowledged with the reason. IAM5 findings are acknowledged one
 * by one, for exactly the resource wildcards this function's grants create (cdk-nag names them by the resource's
 * logical id), so a new wildcard anywhere else is still reported.
 */
export function acknowledgeFunctionFindings(fn: IConstruct, wildcards: { objectsOf?: IBucket[]; indexesOf?: ITableV2 } = {}): void {
  const acknowledge = (id: string, reason: string) => Validations.of(fn).acknowledge({ id, reason });
  acknowledge(
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch logs; a copy as an inline policy would say the same',
  );
  acknowledge('AwsSolutions-L1', 'nodejs22.x is the runtime imagehub is built and tested for (a project requirement); runtime upgrades are deliberate');
  for (const bucket of wildcards.objectsOf ?? []) {
    acknowledge(`AwsSolutions-IAM5[Resource::${arnForm(bucket, () => `arn:<AWS::Partition>:s3:::${bucket.bucketName}`)}/*]`,
      'Objects of this stack\'s own bucket: keys are per image and revision, so the grant names the bucket\'s objects; every action is named');
  }
  if (wildcards.indexesOf) {
    const table = wildcards.indexesOf;
    acknowledge(`AwsSolutions-IAM5[Resource::${arnForm(table, () => table.tableArn)}/index/*]`,
      'The indexes of this stack\'s own table (lookups by PID, object number, institution, collection, activity); every action is named');
  }
}

/** How cdk-nag writes a resource's ARN: `<LogicalId.Arn>` for one defined in this stack. */
function arnForm(resource: IConstruct, imported: () => string): string {
  const cfn = resource.node.defaultChild;
  return cfn instanceof CfnElement ? `<${Stack.of(cfn).getLogicalId(cfn)}.Arn>` : imported();
}
