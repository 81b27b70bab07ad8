/**
 * Dropping the CDN's copies of paths: what the ingest does when an image's access is tightened, so pixels that
 * were public stop being served from edge caches (their revision's files are already gone from the store).
 */
import { CloudFrontClient, CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';

export function cloudFrontInvalidator(distributionId: string, client: Pick<CloudFrontClient, 'send'> = new CloudFrontClient({})) {
  return async (paths: string[]): Promise<void> => {
    if (paths.length === 0) return;
    await client.send(
      new CreateInvalidationCommand({
        DistributionId: distributionId,
        // Unique per request, yet the same for a retry of the same paths within the minute (CloudFront dedupes).
        InvalidationBatch: { CallerReference: `imagehub-${paths.join(',').slice(0, 200)}-${Math.floor(Date.now() / 60_000)}`, Paths: { Quantity: paths.length, Items: paths } },
      }),
    );
  };
}
