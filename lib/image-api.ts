/**
 * The Image API: an HTTP API (API Gateway v2) in front of the function that answers every Image API request no
 * stored file answers, rendering from the stored pyramid (and lossless full-resolution crops of TIFF masters from
 * byte ranges of the master). CloudFront reaches it when S3 misses (origin group).
 */
import { CfnOutput, Duration } from 'aws-cdk-lib';
import { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { ILayerVersion } from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { AUTH_SECRET_ENV, grantSecretRead } from './auth-api.ts';
import { acknowledgeApiFindings, acknowledgeFunctionFindings, grantObjects } from './grants.ts';
import { imagehubFunction } from './lambda-defaults.ts';

/**
 * 2048 MB buys ~1.2 vCPU: a 512-pixel crop decodes a handful of tiles; the largest answer (`max` within maxArea,
 * 16.7 MP) holds a few copies of its pixels, ~200 MB. 30 s is API Gateway's own integration limit.
 */
export const IMAGE_API_DEFAULTS = { memoryMiB: 2048, timeout: Duration.seconds(29) } as const;

export interface ImageApiProps {
  derivatives: IBucket;
  /** Derivatives beyond what anyone may see (issue 8), served to authorised viewers only. */
  protectedDerivatives: IBucket;
  /** The HMAC key of access cookies (lib/auth-api.ts): the function verifies the `imagehub-access` cookie. */
  signingKeySecret: ISecret;
  table: ITableV2;
  imagingLayer: ILayerVersion;
  /** `https://{custom domain}` when there is one; otherwise the function uses the host CloudFront forwards. */
  publicUrl?: string;
  memoryMiB?: number;
  settings?: Record<string, string>;
  logRetention?: RetentionDays;
}

export class ImageApi extends Construct {
  readonly api: HttpApi;
  readonly function: NodejsFunction;

  constructor(scope: Construct, id: string, props: ImageApiProps) {
    super(scope, id);
    this.function = imagehubFunction(this, 'Function', {
      entry: 'functions/image-api/handler.ts',
      description: 'imagehub Image API: IIIF Image API 2.1 and 3.0 requests rendered from the stored pyramid',
      memorySize: props.memoryMiB ?? IMAGE_API_DEFAULTS.memoryMiB,
      timeout: IMAGE_API_DEFAULTS.timeout,
      imagingLayer: props.imagingLayer,
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      environment: {
        ...props.settings,
        ...(props.publicUrl ? { IMAGEHUB_PUBLIC_URL: props.publicUrl } : {}),
        DERIVATIVE_BUCKET: props.derivatives.bucketName,
        IMAGEHUB_PROTECTED_BUCKET: props.protectedDerivatives.bucketName,
        [AUTH_SECRET_ENV.signingKey]: props.signingKeySecret.secretArn,
        TABLE_NAME: props.table.tableName,
        POWERTOOLS_SERVICE_NAME: 'imagehub-image-api',
      },
    });
    // Reads tiles and items; writes only renders too large for a Lambda response, under their canonical URLs.
    grantObjects(this.function, props.derivatives, ['s3:GetObject', 's3:PutObject']);
    // Protected files are read (for authorised viewers, and the levels a public render is made from) and never
    // written: renders beyond the public limit are answered `Cache-Control: private` and not stored. With
    // ListBucket a missing key is a 404 to the function, as on the public bucket, not an AccessDenied fault.
    grantObjects(this.function, props.protectedDerivatives, ['s3:GetObject']);
    // The signing key only: verifying a cookie needs no staff password.
    grantSecretRead(this.function, props.signingKeySecret);
    props.table.grantReadData(this.function);
    acknowledgeFunctionFindings(this.function, { objectsOf: [props.derivatives, props.protectedDerivatives], indexesOf: props.table });

    this.api = new HttpApi(this, 'Api', {
      description: 'imagehub Image API (reached through CloudFront)',
      defaultIntegration: new HttpLambdaIntegration('Render', this.function),
      createDefaultStage: true,
    });
    acknowledgeApiFindings(this.api);
    new CfnOutput(this, 'ImageApiEndpoint', { value: this.api.apiEndpoint, description: 'Origin of the Image API (use the CDN URL)' });
  }

  /**
   * Lossless full-resolution crops of TIFF masters read byte ranges of the master: GetObject on the ingest bucket's
   * objects, nothing else (no listing, no writes, no other versions). Granted after the ingest pipeline exists,
   * which itself needs the CDN in front of this API.
   */
  grantMasterReads(ingest: IBucket): void {
    this.function.addToRolePolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: [ingest.arnForObjects('*')] }));
    acknowledgeFunctionFindings(this.function, { objectsOf: [ingest] });
  }
}
