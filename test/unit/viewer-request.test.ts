import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { buildViewerRequestFunction, CLOUDFRONT_FUNCTION_MAX_BYTES } from '../../functions/edge/build.ts';

// The deployed artefact, run in an empty sandbox as CloudFront runs it: a script with a global `handler`.
const code = buildViewerRequestFunction();
const handler = runInNewContext(`${code}; handler`, {}) as (event: unknown) => Record<string, unknown>;
const request = (uri: string) => handler({ request: { uri, method: 'GET', headers: {} } });

describe('CloudFront viewer-request function', () => {
  it('fits the CloudFront Functions size limit', () => {
    expect(Buffer.byteLength(code)).toBeLessThan(CLOUDFRONT_FUNCTION_MAX_BYTES);
  });

  it('maps 2.1 tiles onto stored 3.0 files and leaves 3.0 paths as they are', () => {
    expect(request('/iiif/2/a:b~r1/2048,2048,952,231/238,/0/default.jpg')).toMatchObject({ uri: '/iiif/3/a:b~r1/2048,2048,952,231/238,58/0/default.jpg' });
    expect(request('/iiif/2/a:b~r1/full/max/0/default.jpg')).toMatchObject({ uri: '/iiif/3/a:b~r1/full/max/0/default.jpg' });
    expect(request('/iiif/2/a:b~r1/full/full/0/default.jpg')).toMatchObject({ uri: '/iiif/2/a:b~r1/full/full/0/default.jpg' });
    expect(request('/iiif/3/a:b~r1/0,0,512,512/512,512/0/default.jpg')).toMatchObject({ uri: '/iiif/3/a:b~r1/0,0,512,512/512,512/0/default.jpg' });
    expect(request('/iiif/3/a%3Ab/info.json')).toMatchObject({ uri: '/iiif/3/a:b/info.json' });
  });

  it('passes requests it cannot map to the origin unchanged (the Image API answers them)', () => {
    expect(request('/iiif/3/a:b/full/max/90/gray.png')).toMatchObject({ uri: '/iiif/3/a:b/full/max/90/gray.png' });
    expect(request('/iiif/3/%E0%A4%A/info.json')).toMatchObject({ uri: '/iiif/3/%E0%A4%A/info.json' });
  });

  it('passes the viewer host on for the Image API to build public URLs with', () => {
    const forwarded = handler({ request: { uri: '/iiif/3/a:b/full/max/90/gray.png', method: 'GET', headers: { host: { value: 'd111.cloudfront.net' } } } });
    expect(forwarded).toMatchObject({ headers: { 'x-imagehub-viewer-host': { value: 'd111.cloudfront.net' } } });
  });

  it('redirects a base URI to its info.json', () => {
    expect(request('/iiif/3/mskgent.be:1829-A')).toMatchObject({
      statusCode: 303,
      headers: { location: { value: '/iiif/3/mskgent.be:1829-A/info.json' } },
    });
    expect(request('/iiif/2/x/')).toMatchObject({ statusCode: 303, headers: { location: { value: '/iiif/2/x/info.json' } } });
  });
});
