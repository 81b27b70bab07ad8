/**
 * The derivative store: the bucket of published tiles, sizes and info.json files, laid out by their public paths
 * (functions/core/derivative-layout.ts). Private; only CloudFront reads it (Origin Access Control).
 */
import type { RemovalPolicy } from 'aws-cdk-lib';
import { Bucket, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgeBucketFindings } from './grants.ts';
import { PRIVATE_BUCKET } from './private-bucket.ts';

export interface DerivativeStoreProps {
  /** A bucket the museum already has; otherwise one is created. */
  bucket?: IBucket;
  /** Of a created bucket: RETAIN (prod, the default) or DESTROY (dev; the bucket must be emptied first). */
  removalPolicy?: RemovalPolicy;
}

export class DerivativeStore extends Construct {
  readonly bucket: IBucket;

  constructor(scope: Construct, id: string, props: DerivativeStoreProps = {}) {
    super(scope, id);
    // Derivatives can be regenerated from the masters, but published URLs are cited: retained with a prod stack.
    this.bucket = props.bucket ?? new Bucket(this, 'Bucket', { ...PRIVATE_BUCKET, ...(props.removalPolicy ? { removalPolicy: props.removalPolicy } : {}) });
    if (!props.bucket) acknowledgeBucketFindings(this.bucket);
  }
}
