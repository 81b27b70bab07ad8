import { CloudFrontClient, CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { cloudFrontInvalidator } from '../../functions/store/cdn-invalidation.ts';

describe('cloudFrontInvalidator', () => {
  it('asks CloudFront to drop exactly the given paths, and surfaces a refusal', async () => {
    const cloudfront = mockClient(CloudFrontClient);
    cloudfront.on(CreateInvalidationCommand).resolves({ Invalidation: { Id: 'I1', Status: 'InProgress', CreateTime: new Date(), InvalidationBatch: undefined } });
    const invalidate = cloudFrontInvalidator('E123', cloudfront as unknown as CloudFrontClient);
    await invalidate(['/iiif/3/mskgent.be:1829-A*', '/iiif/2/mskgent.be:1829-A*']);
    const input = cloudfront.commandCalls(CreateInvalidationCommand)[0]!.args[0].input;
    expect(input.DistributionId).toBe('E123');
    expect(input.InvalidationBatch?.Paths).toEqual({ Quantity: 2, Items: ['/iiif/3/mskgent.be:1829-A*', '/iiif/2/mskgent.be:1829-A*'] });
    await invalidate([]);
    expect(cloudfront.commandCalls(CreateInvalidationCommand)).toHaveLength(1);
    // A failure is the ingest's to retry (SQS), never swallowed: the tightened image must not stay cached.
    cloudfront.on(CreateInvalidationCommand).rejects(new Error('TooManyInvalidationsInProgress'));
    await expect(invalidate(['/iiif/3/x*'])).rejects.toThrow('TooManyInvalidationsInProgress');
  });
});
