import { describe, expect, it } from 'vitest';
import { buildInfoJson2, buildInfoJson3, iiifRightsUri, imageServiceId } from '../../functions/core/info-json.ts';

const pyramid = {
  width: 6000,
  height: 4000,
  tileSize: 512,
  scaleFactors: [1, 2, 4, 8, 16],
  sizes: [
    { width: 375, height: 250 },
    { width: 750, height: 500 },
  ],
  limits: { maxArea: 16_777_216 },
  rights: 'http://creativecommons.org/publicdomain/zero/1.0/',
};

describe('info.json 3.0', () => {
  it('describes the dynamic service at level 2 with exactly the extras it renders', () => {
    const info = buildInfoJson3('https://iiif.example.org/iiif/3/a:b~123', pyramid);
    expect(info).toEqual({
      '@context': 'http://iiif.io/api/image/3/context.json',
      id: 'https://iiif.example.org/iiif/3/a:b~123',
      type: 'ImageService3',
      protocol: 'http://iiif.io/api/image',
      profile: 'level2',
      extraFormats: ['webp', 'tif', 'gif'],
      extraQualities: ['color', 'gray', 'bitonal'],
      extraFeatures: ['baseUriRedirect', 'canonicalLinkHeader', 'cors', 'jsonldMediaType', 'mirroring', 'profileLinkHeader', 'regionSquare', 'rotationArbitrary', 'sizeUpscaling'],
      width: 6000,
      height: 4000,
      maxArea: 16_777_216,
      sizes: pyramid.sizes,
      tiles: [{ width: 512, height: 512, scaleFactors: [1, 2, 4, 8, 16] }],
      rights: 'http://creativecommons.org/publicdomain/zero/1.0/',
    });
  });

  it('advertises upscaling only when it is on, and nothing beyond level 0 for static files alone', () => {
    expect(buildInfoJson3('x', pyramid, { level: 2, upscaling: false }).extraFeatures).not.toContain('sizeUpscaling');
    const level0 = buildInfoJson3('x', pyramid, { level: 0, upscaling: false });
    expect(level0.profile).toBe('level0');
    expect(level0).not.toHaveProperty('extraFeatures');
  });
});

describe('info.json 2.1', () => {
  it('puts formats, qualities, supports and limits in the profile object', () => {
    const info = buildInfoJson2('https://iiif.example.org/iiif/2/a:b~123', pyramid);
    expect(info['@id']).toBe('https://iiif.example.org/iiif/2/a:b~123');
    expect(info.license).toBe(pyramid.rights);
    expect(info.profile).toEqual([
      'http://iiif.io/api/image/2/level2.json',
      {
        formats: ['jpg', 'png', 'webp', 'tif', 'gif'],
        qualities: ['default', 'color', 'gray', 'bitonal'],
        supports: ['baseUriRedirect', 'canonicalLinkHeader', 'cors', 'jsonldMediaType', 'mirroring', 'profileLinkHeader', 'regionSquare', 'rotationArbitrary', 'sizeAboveFull'],
        maxArea: 16_777_216,
      },
    ]);
  });
});

describe('helpers', () => {
  it('joins the service id with exactly one slash', () => {
    expect(imageServiceId('https://cdn.example.org/', 3, 'a:b')).toBe('https://cdn.example.org/iiif/3/a:b');
  });
  it('accepts only Creative Commons and RightsStatements.org URIs, in canonical form', () => {
    expect(iiifRightsUri('http://creativecommons.org/licenses/by/4.0')).toBe('http://creativecommons.org/licenses/by/4.0/');
    expect(iiifRightsUri('https://rightsstatements.org/vocab/InC/1.0/')).toBe('http://rightsstatements.org/vocab/InC/1.0/');
    expect(iiifRightsUri('All rights reserved')).toBeUndefined();
  });
});
