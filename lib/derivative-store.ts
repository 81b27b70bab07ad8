/**
 * The derivative store: the bucket of published tiles, sizes and info.json files, laid out by their public paths
 * (functions/core/derivative-layout.ts). Private; only CloudFront reads it (Origin Access Control).
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface DerivativeStoreProps {
  /** A bucket the museum already has; otherwise one is created. */
  bucket?: IBucket;
}

export class DerivativeStore extends Construct {
  readonly bucket: IBucket;

  constructor(scope: Construct, id: string, props: DerivativeStoreProps = {}) {
    super(scope, id);
    this.bucket =
      props.bucket ??
      new Bucket(this, 'Bucket', {
        blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
        encryption: BucketEncryption.S3_MANAGED,
        enforceSSL: true,
        objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
        // Derivatives can be regenerated from the masters, but published URLs are cited: never delete with the stack.
        removalPolicy: RemovalPolicy.RETAIN,
      });
  }
}
