/**
 * The CDK app (`npx cdk synth`, `npx cdk deploy`). Configuration comes from CDK context (`-c key=value` or
 * cdk.json), documented in the README: domainName, certificateArn, ingestBucketName, derivativeBucketName,
 * priceClass, ingestMemoryMiB, ingestMaxConcurrency, oaiBaseUrl (+ oaiSet, oaiMetadataPrefix, rightsCsvUrl,
 * copyrightsCsvUrl) for the data hub harvest, and IMAGEHUB_* settings as `settings.IMAGEHUB_TILE_SIZE=…`.
 */
import { App } from 'aws-cdk-lib';
import { PriceClass } from 'aws-cdk-lib/aws-cloudfront';
import { ensureImagingLayer } from '../layers/build-imaging-layer.ts';
import { ImagehubStack } from '../lib/imagehub-stack.ts';

const app = new App();
const context = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  return value === undefined || value === null || value === '' ? undefined : String(value);
};
const integer = (key: string): number | undefined => {
  const raw = context(key);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`context ${key} must be a positive integer, got "${raw}"`);
  return value;
};
const priceClasses: Record<string, PriceClass> = {
  '100': PriceClass.PRICE_CLASS_100,
  '200': PriceClass.PRICE_CLASS_200,
  all: PriceClass.PRICE_CLASS_ALL,
};
const priceClassName = context('priceClass');
if (priceClassName !== undefined && !(priceClassName in priceClasses)) {
  throw new Error(`context priceClass must be one of ${Object.keys(priceClasses).join(', ')}, got "${priceClassName}"`);
}
const settings: Record<string, string> = {};
for (const [key, value] of Object.entries(app.node.getAllContext())) {
  if (key.startsWith('settings.IMAGEHUB_')) settings[key.slice('settings.'.length)] = String(value);
}

ensureImagingLayer();

const optional = <T>(key: string, value: T | undefined) => (value === undefined ? {} : { [key]: value });
const oaiBaseUrl = context('oaiBaseUrl');
const rightsCsvUrl = context('rightsCsvUrl');
const copyrightsCsvUrl = context('copyrightsCsvUrl');
if ((rightsCsvUrl === undefined) !== (copyrightsCsvUrl === undefined)) throw new Error('context rightsCsvUrl and copyrightsCsvUrl go together');
const datahub = oaiBaseUrl
  ? {
      oaiBaseUrl,
      ...optional('set', context('oaiSet')),
      ...optional('metadataPrefix', context('oaiMetadataPrefix')),
      ...(rightsCsvUrl && copyrightsCsvUrl ? { authorityFiles: { rightsCsvUrl, copyrightsCsvUrl } } : {}),
    }
  : undefined;
new ImagehubStack(app, context('stackName') ?? 'Imagehub', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  description: 'imagehub: serverless IIIF for museum collections',
  ...optional('domainName', context('domainName')),
  ...optional('certificateArn', context('certificateArn')),
  ...optional('ingestBucketName', context('ingestBucketName')),
  ...optional('derivativeBucketName', context('derivativeBucketName')),
  ...optional('priceClass', priceClassName === undefined ? undefined : priceClasses[priceClassName]),
  ...optional('ingestMemoryMiB', integer('ingestMemoryMiB')),
  ...optional('ingestMaxConcurrency', integer('ingestMaxConcurrency')),
  settings,
  ...optional('datahub', datahub),
});
