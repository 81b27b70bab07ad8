/**
 * Stages: `prod` and `dev` are the same stack and differ only by this table (and whatever context a deployment
 * sets). `prod` keeps the museum's data when the stack goes; `dev` is built to be torn down.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';

export const STAGES = ['prod', 'dev'] as const;
export type Stage = (typeof STAGES)[number];

export interface StagePolicy {
  /** Buckets and the metadata table. */
  dataRemovalPolicy: RemovalPolicy;
  /** DynamoDB deletion protection (a delete of the table is refused until it is switched off). */
  tableDeletionProtection: boolean;
  /** Retention of the functions' log groups unless `logRetentionDays` says otherwise. */
  logRetention: RetentionDays;
}

export const STAGE_POLICIES: Readonly<Record<Stage, StagePolicy>> = {
  prod: {
    dataRemovalPolicy: RemovalPolicy.RETAIN,
    tableDeletionProtection: true,
    logRetention: RetentionDays.THREE_MONTHS,
  },
  // CloudFormation cannot delete a bucket that holds objects: a dev stack's buckets are emptied before
  // `cdk destroy` (the README says how). No auto-delete custom resource: it would be one more function with the
  // power to empty a bucket, deployed in every stage.
  dev: {
    dataRemovalPolicy: RemovalPolicy.DESTROY,
    tableDeletionProtection: false,
    logRetention: RetentionDays.ONE_WEEK,
  },
};
