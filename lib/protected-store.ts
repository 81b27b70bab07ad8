/**
 * The protected derivative store (issue 8): the tiles, sizes and info.json files of restricted-size and private
 * images that not everyone may see, laid out like the public derivative store. Private like every imagehub bucket,
 * and — unlike the public store — never an origin of the CDN: no Origin Access Control, no bucket policy naming
 * CloudFront. Only the ingest function (publishes, deletes) and the Image API function (reads, for authorised
 * viewers whose access cookie it has verified) reach it.
 */
import { CfnOutput, type RemovalPolicy } from 'aws-cdk-lib';
import { Bucket, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgeBucketFindings } from './grants.ts';
import { PRIVATE_BUCKET } from './private-bucket.ts';

export interface ProtectedStoreProps {
  /** A bucket the museum already has; otherwise one is created. It must not be an origin of any distribution. */
  bucket?: IBucket;
  /** Of a created bucket: RETAIN (prod, the default) or DESTROY (dev; the bucket must be emptied first). */
  removalPolicy?: RemovalPolicy;
}

export class ProtectedStore extends Construct {
  readonly bucket: IBucket;

  constructor(scope: Construct, id: string, props: ProtectedStoreProps = {}) {
    super(scope, id);
    // Same lifecycle as the public derivative store: regenerable from the masters, retained with a prod stack.
    this.bucket = props.bucket ?? new Bucket(this, 'Bucket', { ...PRIVATE_BUCKET, ...(props.removalPolicy ? { removalPolicy: props.removalPolicy } : {}) });
    if (!props.bucket) acknowledgeBucketFindings(this.bucket);
    new CfnOutput(this, 'ProtectedBucketName', {
      value: this.bucket.bucketName,
      description: 'Derivatives only authorised viewers may see (never served by the CDN)',
    });
  }
}
