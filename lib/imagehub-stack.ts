/**
 * The imagehub stack: the constructs named after what they are, wired together. Museums that already have an
 * ingest bucket, a derivative bucket or a domain pass them in; everything else is created.
 */
import { Fn, Stack, type StackProps } from 'aws-cdk-lib';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import type { PriceClass } from 'aws-cdk-lib/aws-cloudfront';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { IMAGING_LAYER_DIR } from '../layers/build-imaging-layer.ts';
import { Cdn } from './cdn.ts';
import { DatahubHarvest } from './datahub-harvest.ts';
import { ImageApi } from './image-api.ts';
import { DerivativeStore } from './derivative-store.ts';
import { ImagingLayer } from './imaging-layer.ts';
import { IngestPipeline } from './ingest-pipeline.ts';
import { MetadataTable } from './metadata-table.ts';
import { PresentationApi } from './presentation-api.ts';

export interface ImagehubStackProps extends StackProps {
  /** Custom domain for the CDN, e.g. `iiif.museum.be`; needs `certificateArn` (ACM, us-east-1). */
  domainName?: string;
  certificateArn?: string;
  /** Existing buckets to use instead of creating them. */
  ingestBucketName?: string;
  derivativeBucketName?: string;
  priceClass?: PriceClass;
  ingestMemoryMiB?: number;
  ingestMaxConcurrency?: number;
  /** IMAGEHUB_* settings passed to the functions (tile size, JPEG quality, pixel limit, maxArea). */
  settings?: Record<string, string>;
  /** Where the built imaging layer is (default: layers/imaging). */
  imagingLayerDir?: string;
  /** The data hub to mirror over OAI-PMH; without it no harvest is deployed (records can be loaded by the CLI). */
  datahub?: { oaiBaseUrl: string; set?: string; metadataPrefix?: string; authorityFiles?: { rightsCsvUrl: string; copyrightsCsvUrl: string } };
}

export class ImagehubStack extends Stack {
  readonly derivatives: DerivativeStore;
  readonly metadata: MetadataTable;
  readonly cdn: Cdn;
  readonly ingest: IngestPipeline;
  readonly imageApi: ImageApi;
  readonly presentationApi: PresentationApi;
  readonly harvest?: DatahubHarvest;

  constructor(scope: Construct, id: string, props: ImagehubStackProps = {}) {
    super(scope, id, props);
    if (Boolean(props.domainName) !== Boolean(props.certificateArn)) {
      throw new Error('domainName and certificateArn go together: CloudFront serves a custom domain only with its certificate');
    }
    const imaging = new ImagingLayer(this, 'ImagingLayer', { directory: props.imagingLayerDir ?? IMAGING_LAYER_DIR });
    this.derivatives = new DerivativeStore(this, 'Derivatives', {
      ...(props.derivativeBucketName ? { bucket: Bucket.fromBucketName(this, 'ExistingDerivatives', props.derivativeBucketName) } : {}),
    });
    this.metadata = new MetadataTable(this, 'Metadata');
    const customUrl = props.domainName ? `https://${props.domainName}` : undefined;
    this.imageApi = new ImageApi(this, 'ImageApi', {
      derivatives: this.derivatives.bucket,
      table: this.metadata.table,
      imagingLayer: imaging.layer,
      ...(customUrl ? { publicUrl: customUrl } : {}),
      ...(props.settings ? { settings: props.settings } : {}),
    });
    this.presentationApi = new PresentationApi(this, 'PresentationApi', {
      table: this.metadata.table,
      ...(customUrl ? { publicUrl: customUrl } : {}),
      ...(props.datahub?.metadataPrefix ? { metadataPrefix: props.datahub.metadataPrefix } : {}),
    });
    this.cdn = new Cdn(this, 'Cdn', {
      derivatives: this.derivatives.bucket,
      imageApiDomain: Fn.parseDomainName(this.imageApi.api.apiEndpoint),
      presentationApiDomain: Fn.parseDomainName(this.presentationApi.api.apiEndpoint),
      ...(props.priceClass ? { priceClass: props.priceClass } : {}),
      ...(props.domainName && props.certificateArn
        ? { domain: { name: props.domainName, certificate: Certificate.fromCertificateArn(this, 'Certificate', props.certificateArn) } }
        : {}),
    });
    this.ingest = new IngestPipeline(this, 'Ingest', {
      derivatives: this.derivatives.bucket,
      table: this.metadata.table,
      imagingLayer: imaging.layer,
      publicUrl: this.cdn.publicUrl,
      ...(props.ingestBucketName ? { ingestBucket: Bucket.fromBucketName(this, 'ExistingIngest', props.ingestBucketName) } : {}),
      ...(props.ingestMemoryMiB ? { memoryMiB: props.ingestMemoryMiB } : {}),
      ...(props.ingestMaxConcurrency ? { maxConcurrency: props.ingestMaxConcurrency } : {}),
      ...(props.settings ? { settings: props.settings } : {}),
    });
    this.imageApi.grantMasterReads(this.ingest.bucket);
    if (props.datahub) {
      this.harvest = new DatahubHarvest(this, 'DatahubHarvest', { table: this.metadata.table, ...props.datahub });
    }
  }
}
