/**
 * The imagehub stack: the constructs named after what they are, wired together. Museums that already have an
 * ingest bucket, a derivative bucket or a domain pass them in; everything else is created. `prod` and `dev` differ
 * only by configuration (lib/stage.ts); bin/cdk-app.ts builds these props from CDK context (lib/config.ts).
 */
import { Fn, Stack, type StackProps } from 'aws-cdk-lib';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import type { PriceClass } from 'aws-cdk-lib/aws-cloudfront';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { IMAGING_LAYER_DIR } from '../layers/build-imaging-layer.ts';
import { AccessReview } from './access-review.ts';
import { AuthApi } from './auth-api.ts';
import { Cdn } from './cdn.ts';
import { accessSettingsOf } from './config.ts';
import { DatahubHarvest, type DatahubHarvestProps } from './datahub-harvest.ts';
import { ImageApi } from './image-api.ts';
import { DerivativeStore } from './derivative-store.ts';
import { ImagingLayer } from './imaging-layer.ts';
import { IngestPipeline } from './ingest-pipeline.ts';
import { MetadataTable } from './metadata-table.ts';
import { Monitoring } from './monitoring.ts';
import { PresentationApi } from './presentation-api.ts';
import { ProtectedStore } from './protected-store.ts';
import { STAGE_POLICIES, type Stage } from './stage.ts';

export interface ImagehubStackProps extends StackProps {
  /** `prod` (default): data retained and protected, logs kept 3 months; `dev`: torn down with the stack, logs 1 week. */
  stage?: Stage;
  /** Custom domain for the CDN, e.g. `iiif.museum.be`; needs `certificateArn` (ACM, us-east-1). */
  domainName?: string;
  certificateArn?: string;
  /** Existing buckets to use instead of creating them. */
  ingestBucketName?: string;
  derivativeBucketName?: string;
  /** An existing bucket for the protected derivatives (issue 8); it must not be an origin of any distribution. */
  protectedBucketName?: string;
  priceClass?: PriceClass;
  ingestMemoryMiB?: number;
  ingestMaxConcurrency?: number;
  /**
   * IMAGEHUB_* settings passed to the functions (tile size, JPEG quality, pixel limit, maxArea; the access settings
   * IMAGEHUB_ACCESS_* and IMAGEHUB_AUTH_SESSION_HOURS), validated by lib/config.ts.
   */
  settings?: Record<string, string>;
  /** Where the built imaging layer is (default: layers/imaging). */
  imagingLayerDir?: string;
  /** The data hub to mirror over OAI-PMH; without it no harvest is deployed (records can be loaded by the CLI). */
  datahub?: Omit<DatahubHarvestProps, 'table' | 'logRetention' | 'ingestQueue' | 'settings'>;
  /** The functions' log retention; default by stage. */
  logRetention?: RetentionDays;
  /** How long overwritten or deleted masters stay recoverable in a created ingest bucket (default 90 days). */
  masterVersionRetentionDays?: number;
  /** Who gets the alarms by email (optional: the topic is an output, to subscribe anything to). */
  alarmEmail?: string;
}

export class ImagehubStack extends Stack {
  readonly derivatives: DerivativeStore;
  readonly protectedDerivatives: ProtectedStore;
  readonly metadata: MetadataTable;
  readonly cdn: Cdn;
  readonly ingest: IngestPipeline;
  readonly imageApi: ImageApi;
  readonly presentationApi: PresentationApi;
  readonly authApi: AuthApi;
  readonly accessReview: AccessReview;
  readonly harvest?: DatahubHarvest;
  readonly monitoring: Monitoring;
  readonly stage: Stage;

  constructor(scope: Construct, id: string, props: ImagehubStackProps = {}) {
    super(scope, id, props);
    if (Boolean(props.domainName) !== Boolean(props.certificateArn)) {
      throw new Error('domainName and certificateArn go together: CloudFront serves a custom domain only with its certificate');
    }
    this.stage = props.stage ?? 'prod';
    const policy = STAGE_POLICIES[this.stage];
    const logRetention = props.logRetention ?? policy.logRetention;
    const imaging = new ImagingLayer(this, 'ImagingLayer', { directory: props.imagingLayerDir ?? IMAGING_LAYER_DIR });
    this.derivatives = new DerivativeStore(this, 'Derivatives', {
      ...(props.derivativeBucketName ? { bucket: Bucket.fromBucketName(this, 'ExistingDerivatives', props.derivativeBucketName) } : {}),
      removalPolicy: policy.dataRemovalPolicy,
    });
    this.protectedDerivatives = new ProtectedStore(this, 'ProtectedDerivatives', {
      ...(props.protectedBucketName ? { bucket: Bucket.fromBucketName(this, 'ExistingProtectedDerivatives', props.protectedBucketName) } : {}),
      removalPolicy: policy.dataRemovalPolicy,
    });
    this.metadata = new MetadataTable(this, 'Metadata', {
      removalPolicy: policy.dataRemovalPolicy,
      deletionProtection: policy.tableDeletionProtection,
    });
    const customUrl = props.domainName ? `https://${props.domainName}` : undefined;
    const accessSettings = accessSettingsOf(props.settings);
    this.authApi = new AuthApi(this, 'AuthApi', {
      table: this.metadata.table,
      logRetention,
      settings: accessSettings,
      ...(customUrl ? { publicUrl: customUrl } : {}),
    });
    this.imageApi = new ImageApi(this, 'ImageApi', {
      derivatives: this.derivatives.bucket,
      protectedDerivatives: this.protectedDerivatives.bucket,
      signingKeySecret: this.authApi.signingKeySecret,
      table: this.metadata.table,
      imagingLayer: imaging.layer,
      logRetention,
      ...(customUrl ? { publicUrl: customUrl } : {}),
      ...(props.settings ? { settings: props.settings } : {}),
    });
    this.presentationApi = new PresentationApi(this, 'PresentationApi', {
      table: this.metadata.table,
      logRetention,
      ...(customUrl ? { publicUrl: customUrl } : {}),
      ...(props.datahub?.metadataPrefix ? { metadataPrefix: props.datahub.metadataPrefix } : {}),
    });
    this.cdn = new Cdn(this, 'Cdn', {
      derivatives: this.derivatives.bucket,
      imageApiDomain: Fn.parseDomainName(this.imageApi.api.apiEndpoint),
      presentationApiDomain: Fn.parseDomainName(this.presentationApi.api.apiEndpoint),
      authApiDomain: Fn.parseDomainName(this.authApi.api.apiEndpoint),
      ...(props.priceClass ? { priceClass: props.priceClass } : {}),
      ...(props.domainName && props.certificateArn
        ? { domain: { name: props.domainName, certificate: Certificate.fromCertificateArn(this, 'Certificate', props.certificateArn) } }
        : {}),
    });
    this.ingest = new IngestPipeline(this, 'Ingest', {
      derivatives: this.derivatives.bucket,
      protectedDerivatives: this.protectedDerivatives.bucket,
      table: this.metadata.table,
      imagingLayer: imaging.layer,
      publicUrl: this.cdn.publicUrl,
      distribution: this.cdn.distribution,
      removalPolicy: policy.dataRemovalPolicy,
      logRetention,
      ...(props.masterVersionRetentionDays ? { masterVersionRetentionDays: props.masterVersionRetentionDays } : {}),
      ...(props.ingestBucketName ? { ingestBucket: Bucket.fromBucketName(this, 'ExistingIngest', props.ingestBucketName) } : {}),
      ...(props.ingestMemoryMiB ? { memoryMiB: props.ingestMemoryMiB } : {}),
      ...(props.ingestMaxConcurrency ? { maxConcurrency: props.ingestMaxConcurrency } : {}),
      ...(props.settings ? { settings: props.settings } : {}),
    });
    this.imageApi.grantMasterReads(this.ingest.bucket);
    this.accessReview = new AccessReview(this, 'AccessReview', {
      table: this.metadata.table,
      ingestQueue: this.ingest.queue,
      protectedDerivatives: this.protectedDerivatives.bucket,
      settings: accessSettings,
      logRetention,
    });
    if (props.datahub) {
      this.harvest = new DatahubHarvest(this, 'DatahubHarvest', {
        table: this.metadata.table,
        logRetention,
        ...props.datahub,
        // A changed record asks for its images' access review through the ingest queue.
        ingestQueue: this.ingest.queue,
        settings: accessSettings,
      });
    }
    this.monitoring = new Monitoring(this, 'Monitoring', {
      ingest: this.ingest,
      imageApi: this.imageApi,
      presentationApi: this.presentationApi,
      authApi: this.authApi,
      accessReview: this.accessReview,
      ...(this.harvest ? { harvest: this.harvest } : {}),
      distribution: this.cdn.distribution,
      ...(props.alarmEmail ? { alarmEmail: props.alarmEmail } : {}),
    });
  }
}
