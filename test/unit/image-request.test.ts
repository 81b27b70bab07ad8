import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ImageRequestError,
  decimalString,
  mediaTypeFor,
  parseImagePath,
  resolveImageRequest,
} from '../../functions/core/image-request.ts';
import type { ApiVersion, ImageFacts, ImageRequest, ResolvedImageRequest } from '../../functions/core/image-request.ts';
import { withinLimits } from '../../functions/core/pyramid.ts';

const ID = 'mskgent.be:1829-A';
/** The image of the specification's examples (§4.1, §4.2): 300×200. */
const SPEC: ImageFacts = { width: 300, height: 200, allowUpscaling: false };

function path(version: ApiVersion, params: string): string {
  return `/iiif/${version}/${ID}/${params}`;
}

function request(version: ApiVersion, params: string): ImageRequest {
  const parsed = parseImagePath(path(version, params));
  if (parsed.kind !== 'image') throw new Error(`not an image request: ${params}`);
  return parsed.request;
}

function resolve(version: ApiVersion, params: string, facts: ImageFacts = SPEC): ResolvedImageRequest {
  return resolveImageRequest(request(version, params), facts);
}

function errorOf(run: () => unknown): ImageRequestError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ImageRequestError);
    return error as ImageRequestError;
  }
  throw new Error('expected an ImageRequestError, nothing was thrown');
}

describe('ImageRequestError', () => {
  it('is an Error with a status', () => {
    const error = new ImageRequestError(501, 'no upscaling');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ImageRequestError');
    expect(error.status).toBe(501);
    expect(error.message).toBe('no upscaling');
  });
});

describe('parseImagePath: routing', () => {
  it.each([
    [`/iiif/3/${ID}`, { kind: 'base', version: 3, identifier: ID }],
    [`/iiif/3/${ID}/`, { kind: 'base', version: 3, identifier: ID }],
    [`/iiif/2/${ID}`, { kind: 'base', version: 2, identifier: ID }],
    [`/iiif/3/${ID}/info.json`, { kind: 'info', version: 3, identifier: ID }],
    [`/iiif/2/${ID}/info.json`, { kind: 'info', version: 2, identifier: ID }],
  ])('%s', (p, expected) => {
    expect(parseImagePath(p)).toEqual(expected);
  });

  it('parses the specification example request (§2.1)', () => {
    expect(parseImagePath('/iiif/3/abcd1234/full/max/0/default.jpg')).toEqual({
      kind: 'image',
      request: {
        version: 3,
        identifier: 'abcd1234',
        region: { kind: 'full' },
        size: { kind: 'max', upscale: false },
        rotation: { degrees: 0, mirror: false },
        quality: 'default',
        format: 'jpg',
      },
    });
  });

  // §9 "URI Encoding and Decoding": the specification's own identifier examples.
  it.each([
    ['id1', 'id1'],
    ['bb157hs6068', 'bb157hs6068'],
    ['ark:%2F12025%2F654xz321', 'ark:/12025/654xz321'],
    ['urn:foo:a123,456', 'urn:foo:a123,456'],
    ['urn:sici:1046-8188(199501)13:1%253C69:FTTHBI%253E2.0.TX;2-4', 'urn:sici:1046-8188(199501)13:1%3C69:FTTHBI%3E2.0.TX;2-4'],
    ['http:%2F%2Fexample.com%2F%3F54%23a', 'http://example.com/?54#a'],
    ['mus%C3%A9e', 'musée'],
  ])('decodes identifier %s → %s', (raw, identifier) => {
    for (const version of [2, 3] as const) {
      expect(parseImagePath(`/iiif/${version}/${raw}/info.json`)).toEqual({ kind: 'info', version, identifier });
      const image = parseImagePath(`/iiif/${version}/${raw}/full/max/0/default.jpg`);
      expect(image.kind === 'image' && image.request.identifier).toBe(identifier);
    }
  });

  it.each([
    '',
    '/',
    '/iiif',
    '/iiif/',
    '/iiif/3',
    '/iiif/1/id/info.json',
    '/iiif/4/id/info.json',
    '/iiif/3.0/id/info.json',
    '/iiif/03/id/info.json',
    '/iiif/%33/id/info.json',
    '/IIIF/3/id/info.json',
    'iiif/3/id/info.json',
    '/images/iiif/3/id/info.json',
    '//iiif/3/id/info.json',
  ])('404 for %j (not under /iiif/2/ or /iiif/3/)', (p) => {
    expect(errorOf(() => parseImagePath(p)).status).toBe(404);
  });

  it.each([
    ['/iiif/3/', /missing identifier/],
    ['/iiif/3//full/max/0/default.jpg', /missing identifier/],
    ['/iiif/3/%E0%A4%A/info.json', /percent-encoding in identifier/],
    ['/iiif/3/%/info.json', /percent-encoding in identifier/],
    ['/iiif/3/%ED%A0%80/info.json', /percent-encoding in identifier/],
    ['/iiif/3/id/info.xml', /unknown request "info.xml".*info\.json/],
    ['/iiif/3/id/full', /unknown request "full"/],
    ['/iiif/3/id//', /got 2 path segments/],
    ['/iiif/3/id/full/max/0', /got 3 path segments/],
    ['/iiif/3/id/full/max/0/default.jpg/', /got 5 path segments/],
    ['/iiif/3/id/full/max/0/default.jpg/extra', /got 5 path segments/],
    ['/iiif/3/ark:/12025/654xz321/full/max/0/default.jpg', /got 6 path segments.*%2F/],
    ['/iiif/3/id/%ZZ/max/0/default.jpg', /percent-encoding in region/],
    ['/iiif/3/id/full/%/0/default.jpg', /percent-encoding in size/],
    ['/iiif/3/id/full/max/%C0/default.jpg', /percent-encoding in rotation/],
    ['/iiif/3/id/full/max/0/default.%jpg', /percent-encoding in quality and format/],
  ])('400 for %s', (p, message) => {
    const error = errorOf(() => parseImagePath(p));
    expect(error.status).toBe(400);
    expect(error.message).toMatch(message);
  });

  it('accepts percent-encoded parameters (§9: encoding them "introduces no ambiguity")', () => {
    expect(request(3, 'pct%3A10,10,80,80/%5Emax/%2190/default%2Ejpg')).toMatchObject({
      region: { kind: 'percent', x: 10, y: 10, w: 80, h: 80 },
      size: { kind: 'max', upscale: true },
      rotation: { degrees: 90, mirror: true },
    });
  });
});

describe('parseImagePath: region (§4.1, 2.1 §4.1)', () => {
  it.each([
    ['full', { kind: 'full' }],
    ['square', { kind: 'square' }],
    ['125,15,120,140', { kind: 'pixels', x: 125, y: 15, w: 120, h: 140 }],
    ['0,0,1,1', { kind: 'pixels', x: 0, y: 0, w: 1, h: 1 }],
    ['0,0,0,0', { kind: 'pixels', x: 0, y: 0, w: 0, h: 0 }], // syntactically fine; zero size is 400 on resolve
    ['007,0,1,1', { kind: 'pixels', x: 7, y: 0, w: 1, h: 1 }],
    ['9007199254740991,0,1,1', { kind: 'pixels', x: Number.MAX_SAFE_INTEGER, y: 0, w: 1, h: 1 }],
    ['pct:41.6,7.5,40,70', { kind: 'percent', x: 41.6, y: 7.5, w: 40, h: 70 }],
    ['pct:0,0,100,100', { kind: 'percent', x: 0, y: 0, w: 100, h: 100 }],
    ['pct:.5,0.25,10.,10', { kind: 'percent', x: 0.5, y: 0.25, w: 10, h: 10 }],
  ])('%s', (region, expected) => {
    for (const version of [2, 3] as const) expect(request(version, `${region}/max/0/default.jpg`).region).toEqual(expected);
  });

  it.each([
    ['', /expected 4 comma-separated numbers, got 1/],
    ['ful', /expected 4 comma-separated numbers/],
    ['FULL', /expected 4/],
    ['Square', /expected 4/],
    ['1,2,3', /got 3/],
    ['1,2,3,4,5', /got 5/],
    ['1,2,,4', /"" is not a whole number/],
    ['-1,0,10,10', /"-1" is not a whole number/],
    ['+1,0,10,10', /"\+1" is not a whole number/],
    ['1.5,0,10,10', /"1.5" is not a whole number/],
    ['1e2,0,10,10', /"1e2"/],
    ['NaN,0,1,1', /"NaN"/],
    ['Infinity,0,1,1', /"Infinity"/],
    ['0x10,0,1,1', /"0x10"/],
    [' 1,0,1,1', /" 1"/],
    ['9007199254740992,0,1,1', /too large/],
    [`${'9'.repeat(400)},0,1,1`, /too large/],
    ['pct:1,2,3', /got 3/],
    ['pct:', /got 1/],
    ['pct:-1,0,10,10', /"-1" is not a plain decimal/],
    ['pct:+1,0,10,10', /"\+1"/],
    ['pct:1e2,0,10,10', /"1e2"/],
    ['pct:.,0,1,1', /"\."/],
    ['pct:1..2,0,1,1', /"1..2"/],
    ['pct:NaN,0,1,1', /"NaN"/],
    [`pct:${'9'.repeat(400)},0,1,1`, /too large/],
    ['PCT:1,1,1,1', /"PCT:1"/],
  ])('400 for %j, naming the region', (region, detail) => {
    for (const version of [2, 3] as const) {
      const error = errorOf(() => parseImagePath(path(version, `${region}/max/0/default.jpg`)));
      expect(error.status).toBe(400);
      expect(error.message).toMatch(/^invalid region /);
      expect(error.message).toMatch(/expected full, square, x,y,w,h .* or pct:x,y,w,h/);
      expect(error.message).toMatch(detail);
    }
  });
});

describe('parseImagePath: size', () => {
  it.each([
    ['max', { kind: 'max', upscale: false }],
    ['^max', { kind: 'max', upscale: true }],
    ['150,', { kind: 'width', w: 150, upscale: false }],
    ['^360,', { kind: 'width', w: 360, upscale: true }],
    [',150', { kind: 'height', h: 150, upscale: false }],
    ['^,240', { kind: 'height', h: 240, upscale: true }],
    ['pct:50', { kind: 'percent', n: 50, upscale: false }],
    ['pct:12.5', { kind: 'percent', n: 12.5, upscale: false }],
    ['^pct:120', { kind: 'percent', n: 120, upscale: true }],
    ['225,100', { kind: 'exact', w: 225, h: 100, upscale: false }],
    ['^360,360', { kind: 'exact', w: 360, h: 360, upscale: true }],
    ['!225,100', { kind: 'fit', w: 225, h: 100, upscale: false }],
    ['^!360,360', { kind: 'fit', w: 360, h: 360, upscale: true }],
  ])('3.0 %s', (size, expected) => {
    expect(request(3, `full/${size}/0/default.jpg`).size).toEqual(expected);
  });

  it.each([
    ['full', { kind: 'full' }],
    ['max', { kind: 'max', upscale: false }],
    ['150,', { kind: 'width', w: 150, upscale: false }],
    [',150', { kind: 'height', h: 150, upscale: false }],
    ['pct:50', { kind: 'percent', n: 50, upscale: false }],
    ['225,100', { kind: 'exact', w: 225, h: 100, upscale: false }],
    ['!225,100', { kind: 'fit', w: 225, h: 100, upscale: false }],
  ])('2.1 %s', (size, expected) => {
    expect(request(2, `full/${size}/0/default.jpg`).size).toEqual(expected);
  });

  const forms3 = 'expected one of max, w,, ,h, pct:n, w,h, !w,h with optional ^';
  const forms2 = 'expected one of full, max, w,, ,h, pct:n, w,h, !w,h';
  it.each([
    [3, '12,34,56', `invalid size "12,34,56": ${forms3}`],
    [3, 'full', 'invalid size "full": full was replaced by max in Image API 3.0; ' + forms3],
    [3, '^full', 'full was replaced by max'],
    [3, '', forms3],
    [3, ',', forms3],
    [3, '!,', forms3],
    [3, '!150,', forms3],
    [3, '!,150', forms3],
    [3, '!pct:50', forms3],
    [3, '^', forms3],
    [3, '^^max', forms3],
    [3, 'max^', forms3],
    [3, 'Max', forms3],
    [3, ',^240', '"^240" is not a whole number'], // the spec's `,^240` example is a typo for `^,240`
    [3, 'pct:', '"" is not a plain decimal'],
    [3, 'pct:-5', '"-5" is not a plain decimal'],
    [3, 'pct:1e2', '"1e2"'],
    [3, 'pct:NaN', '"NaN"'],
    [3, `pct:${'9'.repeat(400)}`, 'too large'],
    [3, '-1,', '"-1" is not a whole number'],
    [3, '1.5,', '"1.5" is not a whole number'],
    [3, '150, ', '" " is not a whole number'],
    [3, '9007199254740992,', 'too large'],
    [2, '^max', `invalid size "^max": ^ is Image API 3.0 syntax; ${forms2}`],
    [2, '^150,', '^ is Image API 3.0 syntax'],
    [2, '^!1,1', '^ is Image API 3.0 syntax'],
    [2, '12,34,56', `invalid size "12,34,56": ${forms2}`],
    [2, 'Full', forms2],
  ] as const)('%s: 400 for %j', (version, size, message) => {
    const error = errorOf(() => parseImagePath(path(version, `full/${size}/0/default.jpg`)));
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/^invalid size /);
    expect(error.message).toContain(message);
  });
});

describe('parseImagePath: rotation (§4.3, 2.1 §4.3)', () => {
  it.each([
    ['0', 0, false],
    ['90', 90, false],
    ['180', 180, false],
    ['270', 270, false],
    ['22.5', 22.5, false],
    ['!0', 0, true],
    ['!180', 180, true],
    ['!345', 345, true],
    ['360', 360, false], // "any floating point number from 0 to 360"
    ['359.999', 359.999, false],
    ['0.5', 0.5, false],
    ['.5', 0.5, false],
    ['090', 90, false],
    ['22.50', 22.5, false],
  ])('%s', (rotation, degrees, mirror) => {
    for (const version of [2, 3] as const) {
      expect(request(version, `full/max/${rotation}/default.jpg`).rotation).toEqual({ degrees, mirror });
    }
  });

  it.each([
    ['', 'is not a plain decimal'],
    ['!', 'is not a plain decimal'],
    ['!!90', '"!90"'],
    ['-90', '"-90"'],
    ['+90', '"+90"'],
    ['-0', '"-0"'],
    ['1e2', '"1e2"'],
    ['NaN', '"NaN"'],
    ['Infinity', '"Infinity"'],
    ['90deg', '"90deg"'],
    [' 90', '" 90"'],
    ['0x5A', '"0x5A"'],
    ['360.0001', 'more than 360 degrees'],
    ['361', 'more than 360 degrees'],
    ['!720', 'more than 360 degrees'],
    ['9'.repeat(400), 'too large'],
  ])('400 for %j, naming the rotation', (rotation, detail) => {
    for (const version of [2, 3] as const) {
      const error = errorOf(() => parseImagePath(path(version, `full/max/${rotation}/default.jpg`)));
      expect(error.status).toBe(400);
      expect(error.message).toMatch(/^invalid rotation /);
      expect(error.message).toContain(detail);
    }
  });
});

describe('parseImagePath: quality and format (§4.4, §4.5, 2.1 §4.4, §4.5)', () => {
  it.each([
    ['default.jpg', 'default', 'jpg'],
    ['color.png', 'color', 'png'],
    ['gray.webp', 'gray', 'webp'],
    ['bitonal.tif', 'bitonal', 'tif'],
    ['default.gif', 'default', 'gif'],
  ])('%s', (qf, quality, format) => {
    for (const version of [2, 3] as const) {
      expect(request(version, `full/max/0/${qf}`)).toMatchObject({ quality, format });
    }
  });

  it.each([
    ['default', /^invalid quality and format "default": expected \{quality\}\.\{format\}/],
    ['grey.jpg', /^invalid quality "grey": expected default, color, gray or bitonal/],
    ['native.jpg', /^invalid quality "native"/],
    ['Default.jpg', /^invalid quality "Default"/],
    ['.jpg', /^invalid quality ""/],
    ['default.jp2', /^unsupported format "jp2": this service returns jpg, png, webp, tif, gif/],
    ['default.pdf', /^unsupported format "pdf"/],
    ['default.jpeg', /^invalid format "jpeg"/],
    ['default.JPG', /^invalid format "JPG"/],
    ['default.', /^invalid format ""/],
    ['default.jpg.jpg', /^invalid format "jpg.jpg"/],
    ['default.jpg?x=1', /^invalid format "jpg\?x=1"/],
  ])('400 for %j', (qf, message) => {
    for (const version of [2, 3] as const) {
      const error = errorOf(() => parseImagePath(path(version, `full/max/0/${qf}`)));
      expect(error.status).toBe(400);
      expect(error.message).toMatch(message);
    }
  });

  it('answers long numbers in linear time (no regular-expression backtracking)', () => {
    const digits = '9'.repeat(200_000);
    const started = performance.now();
    for (const params of [`full/max/${digits}x/default.jpg`, `pct:${digits}x,0,1,1/max/0/default.jpg`, `full/${digits}x,/0/default.jpg`]) {
      expect(errorOf(() => parseImagePath(path(3, params))).status).toBe(400);
    }
    expect(performance.now() - started).toBeLessThan(250);
  });

  it('keeps client input inert and short in messages', () => {
    const error = errorOf(() => parseImagePath(path(3, `full/max/0/<script>${'x'.repeat(500)}.jpg`)));
    expect(error.message).not.toContain('<');
    expect(error.message.length).toBeLessThan(200);
  });
});

describe('resolveImageRequest: region', () => {
  it.each([
    // §4.1 examples on the 300×200 example image; 5 and 6 are cropped to 175,185.
    ['full', { x: 0, y: 0, w: 300, h: 200 }, 'full'],
    ['125,15,120,140', { x: 125, y: 15, w: 120, h: 140 }, '125,15,120,140'],
    ['pct:41.6,7.5,40,70', { x: 125, y: 15, w: 120, h: 140 }, '125,15,120,140'],
    ['125,15,200,200', { x: 125, y: 15, w: 175, h: 185 }, '125,15,175,185'],
    ['pct:41.6,7.5,66.6,100', { x: 125, y: 15, w: 175, h: 185 }, '125,15,175,185'],
    // The whole image, however it is asked for, is `full` (§4.8).
    ['0,0,300,200', { x: 0, y: 0, w: 300, h: 200 }, 'full'],
    ['0,0,99999,99999', { x: 0, y: 0, w: 300, h: 200 }, 'full'],
    ['pct:0,0,100,100', { x: 0, y: 0, w: 300, h: 200 }, 'full'],
    ['pct:0,0,200,200', { x: 0, y: 0, w: 300, h: 200 }, 'full'],
    // Square, centred in the longer dimension.
    ['square', { x: 50, y: 0, w: 200, h: 200 }, '50,0,200,200'],
    ['299,199,10,10', { x: 299, y: 199, w: 1, h: 1 }, '299,199,1,1'],
  ])('%s on 300×200', (region, expected, canonicalRegion) => {
    for (const version of [2, 3] as const) {
      const resolved = resolve(version, `${region}/max/0/default.jpg`);
      expect(resolved.region).toEqual(expected);
      expect(resolved.canonical.split('/')[0]).toBe(canonicalRegion);
    }
  });

  it.each([
    [{ width: 200, height: 300 }, { x: 0, y: 50, w: 200, h: 200 }, '0,50,200,200'],
    [{ width: 301, height: 200 }, { x: 50, y: 0, w: 200, h: 200 }, '50,0,200,200'], // (301 − 200) / 2 rounded down
    [{ width: 256, height: 256 }, { x: 0, y: 0, w: 256, h: 256 }, 'full'], // 2.1 §4.7: square of a square image is full
    [{ width: 1, height: 10_000 }, { x: 0, y: 4999, w: 1, h: 1 }, '0,4999,1,1'],
  ])('square on %j', (size, expected, canonicalRegion) => {
    for (const version of [2, 3] as const) {
      const resolved = resolve(version, 'square/max/0/default.jpg', { ...size, allowUpscaling: false });
      expect(resolved.region).toEqual(expected);
      expect(resolved.canonical.split('/')[0]).toBe(canonicalRegion);
    }
  });

  it('rounds percentage edges to the nearest pixel, so adjacent thirds neither overlap nor leave a gap', () => {
    const facts = { width: 1000, height: 1000, allowUpscaling: false };
    // Edges at 0, 333.333 → 333, 666.666 → 667 and 1000.
    expect(resolve(3, 'pct:0,0,33.3333,100/max/0/default.jpg', facts).region).toEqual({ x: 0, y: 0, w: 333, h: 1000 });
    expect(resolve(3, 'pct:33.3333,0,33.3333,100/max/0/default.jpg', facts).region).toEqual({ x: 333, y: 0, w: 334, h: 1000 });
    expect(resolve(3, 'pct:66.6666,0,33.3334,100/max/0/default.jpg', facts).region).toEqual({ x: 667, y: 0, w: 333, h: 1000 });
  });

  it.each([
    ['300,0,10,10', /entirely outside the 300×200 image/],
    ['0,200,10,10', /entirely outside/],
    ['9007199254740991,0,1,1', /entirely outside/],
    ['0,0,0,10', /zero width or height/],
    ['0,0,10,0', /zero width or height/],
    ['pct:100,0,10,10', /entirely outside/],
    ['pct:0,100,10,10', /entirely outside/],
    ['pct:0,0,0,10', /zero width or height/],
    ['pct:50,50,0.1,0.1', /less than one pixel/], // 150 → round(150.3) = 150: no pixel left
    ['pct:99.9,0,10,10', /less than one pixel/], // starts at round(299.7) = 300
  ])('400 for %s on 300×200', (region, message) => {
    for (const version of [2, 3] as const) {
      const error = errorOf(() => resolve(version, `${region}/max/0/default.jpg`));
      expect(error.status).toBe(400);
      expect(error.message).toMatch(/^invalid region /);
      expect(error.message).toMatch(message);
    }
  });
});

describe('resolveImageRequest: size, Image API 3.0 (§4.2)', () => {
  it.each([
    ['max', [300, 200], 'max'],
    ['150,', [150, 100], '150,100'],
    ['100,', [100, 67], '100,67'], // 200 × 100/300 = 66.67 → 67
    ['1,', [1, 1], '1,1'], // 200 / 300 = 0.67 → 1
    ['300,', [300, 200], 'max'],
    [',150', [225, 150], '225,150'],
    ['pct:50', [150, 100], '150,100'],
    ['pct:33.3', [100, 67], '100,67'], // 99.9 → 100, 66.6 → 67
    ['pct:100', [300, 200], 'max'],
    ['225,100', [225, 100], '225,100'],
    ['300,200', [300, 200], 'max'],
    ['!225,100', [150, 100], '150,100'], // §4.2 example 6: "Returned image is 150,100 px"
    ['!1000,1000', [300, 200], 'max'], // never larger than the region without ^
    ['!1000,100', [150, 100], '150,100'],
    ['^max', [300, 200], 'max'], // no limits: nothing to scale up to
    ['^150,', [150, 100], '150,100'], // ^ that needs no upscaling is fine without upscaling support
    ['^!225,100', [150, 100], '150,100'],
  ])('%s on 300×200 → %j, canonical %s', (size, [width, height], canonicalSize) => {
    const resolved = resolve(3, `full/${size}/0/default.jpg`);
    expect(resolved.size).toEqual({ width, height });
    expect(resolved.canonical).toBe(`full/${canonicalSize}/0/default.jpg`);
  });

  describe('upscaling allowed, maxWidth 360 (so maxHeight 360, §5.2)', () => {
    const facts: ImageFacts = { ...SPEC, maxWidth: 360, allowUpscaling: true };
    it.each([
      ['^max', [360, 240], '^max'], // §4.2 example 1, maxWidth 360
      ['^360,', [360, 240], '^max'],
      ['^,240', [360, 240], '^max'],
      ['^pct:120', [360, 240], '^max'],
      ['^!360,360', [360, 240], '^max'], // §4.2 example 6: "Returned image is 360,240 px"
      ['^360,360', [360, 360], '^360,360'],
      ['^301,', [301, 201], '^301,201'],
      ['^300,201', [300, 201], '^300,201'],
      ['^150,', [150, 100], '150,100'],
      ['max', [300, 200], 'max'],
      ['!1000,1000', [300, 200], 'max'],
      ['^!1000,1000', [360, 240], '^max'], // inside the box and the limits
    ])('%s → %j, canonical %s', (size, [width, height], canonicalSize) => {
      const resolved = resolve(3, `full/${size}/0/default.jpg`, facts);
      expect(resolved.size).toEqual({ width, height });
      expect(resolved.canonical).toBe(`full/${canonicalSize}/0/default.jpg`);
    });
  });

  it('max fits inside maxWidth (§4.2 example 1: maxWidth 200 on 300×200 → 200×133)', () => {
    for (const allowUpscaling of [false, true]) {
      for (const size of ['max', '^max', '!1000,1000', '^!1000,1000']) {
        const resolved = resolve(3, `full/${size}/0/default.jpg`, { ...SPEC, maxWidth: 200, allowUpscaling });
        expect(resolved.size).toEqual({ width: 200, height: 133 });
        expect(resolved.canonical).toBe('full/max/0/default.jpg');
      }
    }
  });

  it('max fits inside maxArea, aspect ratio kept: 10000×7000 with maxArea 16777216 → 4895×3426', () => {
    // scale = √(16777216 / (10000 × 7000)) = √0.2396745 = 0.4895656…
    // width = ⌊10000 × 0.4895656⌋ = 4895, height = ⌊7000 × 0.4895656⌋ = ⌊3426.96⌋ = 3426
    // 4895 × 3426 = 16770270 ≤ 16777216, while 4896 × 3427 = 16778592 would not fit.
    const facts: ImageFacts = { width: 10_000, height: 7000, maxArea: 16_777_216, allowUpscaling: false };
    for (const size of ['max', '^max', '!5000,5000', '4895,3426']) {
      const resolved = resolve(3, `full/${size}/0/default.jpg`, facts);
      expect(resolved.size).toEqual({ width: 4895, height: 3426 });
      expect(resolved.canonical).toBe('full/max/0/default.jpg');
    }
    // 4896 wide: height round(7000 × 4896 / 10000) = round(3427.2) = 3427, area 16778592 > 16777216.
    const error = errorOf(() => resolve(3, 'full/4896,/0/default.jpg', facts));
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/4896×3427 exceeds this image's limits \(maxArea 16777216\)/);
    // A region within the limits is returned at its own size.
    expect(resolve(3, '0,0,4000,4000/max/0/default.jpg', facts).size).toEqual({ width: 4000, height: 4000 });
  });

  it.each([
    // Without ^, larger than the region is 400 (§4.2).
    ['301,', SPEC, 400, /301×201 is larger than the 300×200 region; prefix it with \^/],
    [',201', SPEC, 400, /larger than the 300×200 region/],
    ['pct:101', SPEC, 400, /larger than the 300×200 region/],
    ['pct:120', SPEC, 400, /larger than/], // the spec's un-prefixed `pct:120` example is a typo for `^pct:120`
    ['301,200', SPEC, 400, /larger than/],
    ['300,201', SPEC, 400, /larger than/],
    ['301,', { ...SPEC, maxWidth: 1000, allowUpscaling: true }, 400, /prefix it with \^/],
    // ^ that needs upscaling, where the service does not upscale: 501 (§4.2, "^pct:120 should result in a 501").
    ['^pct:120', SPEC, 501, /needs upscaling .* which this service does not do/],
    ['^301,', SPEC, 501, /needs upscaling/],
    ['^!360,360', SPEC, 501, /needs upscaling/],
    ['^360,360', { ...SPEC, maxWidth: 1000 }, 501, /needs upscaling/],
    ['^max', { ...SPEC, maxWidth: 1000 }, 501, /needs upscaling/],
    // Upscaling needs maxWidth or maxArea (§5.7); a flag alone does not unbound it.
    ['^pct:120', { ...SPEC, allowUpscaling: true }, 501, /needs upscaling/],
    ['^pct:120', { ...SPEC, maxHeight: 1000, allowUpscaling: true }, 501, /needs upscaling/],
    // Less than one pixel (§4.2).
    ['0,', SPEC, 400, /0×0 is less than one pixel/],
    [',0', SPEC, 400, /less than one pixel/],
    ['pct:0', SPEC, 400, /less than one pixel/],
    ['pct:0.1', SPEC, 400, /0×0 is less than one pixel/],
    ['0,10', SPEC, 400, /less than one pixel/],
    ['!0,10', SPEC, 400, /less than one pixel/],
    // Over the limits: 400 (§4.2), not the 404 of the §7.3 table.
    ['250,', { ...SPEC, maxWidth: 200 }, 400, /250×167 exceeds this image's limits \(maxWidth 200, maxHeight 200\); use max/],
    [',150', { ...SPEC, maxWidth: 1000, maxHeight: 100 }, 400, /maxHeight 100/],
    ['150,', { ...SPEC, maxArea: 10_000 }, 400, /150×100 exceeds .*maxArea 10000/],
    ['^1000,', { ...SPEC, maxWidth: 500, allowUpscaling: true }, 400, /exceeds/],
    ['^9007199254740991,', { ...SPEC, maxArea: 1_000_000, allowUpscaling: true }, 400, /exceeds/],
  ] as const)('%s with %j → %i', (size, facts, status, message) => {
    const error = errorOf(() => resolve(3, `full/${size}/0/default.jpg`, facts));
    expect(error.status).toBe(status);
    expect(error.message).toContain(`"${size}"`);
    expect(error.message).toMatch(message);
  });

  it('is 400 when a side rounds to zero (1000×1 image)', () => {
    const facts = { width: 1000, height: 1, allowUpscaling: false };
    for (const size of ['1,', '!10,10', 'pct:10']) {
      expect(errorOf(() => resolve(3, `full/${size}/0/default.jpg`, facts)).status).toBe(400);
    }
    expect(resolve(3, 'full/max/0/default.jpg', { ...facts, maxWidth: 100 }).size).toEqual({ width: 100, height: 1 });
  });

  it('scales the cropped region, not the requested one', () => {
    // 125,15,200,200 is cropped to 175×185, so 180, is larger than the region.
    expect(errorOf(() => resolve(3, '125,15,200,200/180,/0/default.jpg')).status).toBe(400);
    expect(resolve(3, '125,15,200,200/175,/0/default.jpg').canonical).toBe('125,15,175,185/max/0/default.jpg');
  });
});

describe('resolveImageRequest: size, Image API 2.1 (2.1 §4.2)', () => {
  it.each([
    ['full', [300, 200], 'full'],
    ['max', [300, 200], 'full'], // max equals full without limits
    ['150,', [150, 100], '150,'],
    [',150', [225, 150], '225,'],
    ['pct:50', [150, 100], '150,'],
    ['150,100', [150, 100], '150,'], // keeps the aspect ratio
    ['225,100', [225, 100], '225,100'], // changes it
    ['!225,100', [150, 100], '150,'],
    ['!1000,1000', [300, 200], 'full'], // the service does not upscale: best fit within the region
  ])('%s on 300×200 → %j, canonical %s', (size, [width, height], canonicalSize) => {
    const resolved = resolve(2, `full/${size}/0/default.jpg`);
    expect(resolved.size).toEqual({ width, height });
    expect(resolved.canonical).toBe(`full/${canonicalSize}/0/default.jpg`);
  });

  it('upscales without ^ when the service does (2.1 §4.2: "MAY support scaling above the full size")', () => {
    const facts: ImageFacts = { ...SPEC, maxWidth: 1000, allowUpscaling: true };
    expect(resolve(2, 'full/600,/0/default.jpg', facts)).toMatchObject({ size: { width: 600, height: 400 }, canonical: 'full/600,/0/default.jpg' });
    expect(resolve(2, 'full/pct:200/0/default.jpg', facts).size).toEqual({ width: 600, height: 400 });
    expect(resolve(2, 'full/!1000,1000/0/default.jpg', facts).size).toEqual({ width: 1000, height: 667 });
    expect(resolve(2, 'full/400,400/0/default.jpg', facts).canonical).toBe('full/400,400/0/default.jpg');
  });

  it('is 501 for sizes above the region when the service does not upscale', () => {
    for (const size of ['600,', ',201', 'pct:101', '301,200']) {
      const error = errorOf(() => resolve(2, `full/${size}/0/default.jpg`));
      expect(error.status).toBe(501);
      expect(error.message).toMatch(/needs upscaling/);
    }
  });

  it('max fits the limits; w, is its canonical form (2.1 §4.2 deprecation warning)', () => {
    const resolved = resolve(2, 'full/max/0/default.jpg', { ...SPEC, maxWidth: 200 });
    expect(resolved.size).toEqual({ width: 200, height: 133 });
    expect(resolved.canonical).toBe('full/200,/0/default.jpg');
  });

  it('is 404 over the limits (2.1 §7.2: "the requested size is greater than the limits specified")', () => {
    for (const size of ['full', '250,', 'pct:100', '250,167']) {
      const error = errorOf(() => resolve(2, `full/${size}/0/default.jpg`, { ...SPEC, maxWidth: 200 }));
      expect(error.status).toBe(404);
      expect(error.message).toMatch(/exceeds this image's limits/);
    }
    // !w,h is "best fit", so it fits inside the limits instead.
    expect(resolve(2, 'full/!250,250/0/default.jpg', { ...SPEC, maxWidth: 200 }).size).toEqual({ width: 200, height: 133 });
  });

  it('is 400 when the result is zero pixels (2.1 §4.2)', () => {
    for (const size of ['0,', ',0', 'pct:0', '0,0']) {
      expect(errorOf(() => resolve(2, `full/${size}/0/default.jpg`)).status).toBe(400);
    }
  });

  it('uses w,h when w, would not give the same height', () => {
    // 3×1000: ,500 → width round(1.5) = 2, but 2, → height round(666.7) = 667.
    const facts = { width: 3, height: 1000, allowUpscaling: false };
    const resolved = resolve(2, 'full/,500/0/default.jpg', facts);
    expect(resolved.size).toEqual({ width: 2, height: 500 });
    expect(resolved.canonical).toBe('full/2,500/0/default.jpg');
  });
});

describe('resolveImageRequest: canonical form', () => {
  it.each([
    // §4.8's link header example, and the §9 examples on the 300×200 image.
    [3, { width: 800, height: 600 }, 'full/400,/0/default.jpg', 'full/400,300/0/default.jpg'],
    [3, SPEC, '0,10,100,200/pct:50/90/default.png', '0,10,100,190/50,95/90/default.png'],
    [3, SPEC, 'pct:10,10,80,80/50,/22.5/color.jpg', '30,20,240,160/50,33/22.5/default.jpg'],
    [3, SPEC, 'full/max/270/gray.jpg', 'full/max/270/gray.jpg'],
    [3, SPEC, '125,15,120,140/90,/!345/gray.jpg', '125,15,120,140/90,105/!345/gray.jpg'], // §4.6 example
    [3, SPEC, 'square/max/0/bitonal.webp', '50,0,200,200/max/0/bitonal.webp'],
    [3, SPEC, 'full/max/!0/color.tif', 'full/max/!0/default.tif'],
    [3, SPEC, 'full/max/90.0/default.gif', 'full/max/90/default.gif'],
    [3, SPEC, 'full/max/090/default.jpg', 'full/max/90/default.jpg'],
    [3, SPEC, 'full/max/22.50/default.jpg', 'full/max/22.5/default.jpg'],
    [3, SPEC, 'full/max/.5/default.jpg', 'full/max/0.5/default.jpg'],
    [3, SPEC, 'full/max/!0.0000001/default.jpg', 'full/max/!0.0000001/default.jpg'],
    [3, SPEC, 'full/max/360/default.jpg', 'full/max/360/default.jpg'],
    // 2.1 §4.7's link header example, and 2.1's own canonical forms.
    [2, { width: 800, height: 600 }, 'full/400,300/0/default.jpg', 'full/400,/0/default.jpg'],
    [2, SPEC, 'full/full/0/default.jpg', 'full/full/0/default.jpg'],
    [2, SPEC, '0,0,300,200/max/0/color.jpg', 'full/full/0/default.jpg'],
    [2, SPEC, 'pct:10,10,80,80/50,/22.5/color.jpg', '30,20,240,160/50,/22.5/default.jpg'],
    [2, SPEC, '0,10,100,200/pct:50/90/default.png', '0,10,100,190/50,/90/default.png'],
    [2, SPEC, '125,15,120,140/full/!22.50/gray.jpg', '125,15,120,140/full/!22.5/gray.jpg'],
    [2, { width: 256, height: 256 }, 'square/full/0/default.jpg', 'full/full/0/default.jpg'],
  ] as const)('%s %j: %s → %s', (version, size, params, canonical) => {
    expect(resolve(version, params, { ...size, allowUpscaling: false }).canonical).toBe(canonical);
  });

  it.each([
    [1e-7, '0.0000001'],
    [1.5e-10, '0.00000000015'],
    [22.5, '22.5'],
    [90, '90'],
    [0, '0'],
    [1e21, '1000000000000000000000'],
    [1.25e22, '12500000000000000000000'],
  ])('decimalString(%d) = %s', (n, text) => {
    expect(decimalString(n)).toBe(text);
    expect(Number(decimalString(n))).toBe(n);
  });

  it('passes rotation, quality and format through', () => {
    expect(resolve(3, 'full/max/!22.5/gray.png')).toMatchObject({ rotation: { degrees: 22.5, mirror: true }, quality: 'gray', format: 'png' });
  });
});

describe('resolveImageRequest: requests built in code', () => {
  const base = request(3, 'full/max/0/default.jpg');
  it.each([
    [{ ...base, region: { kind: 'pixels', x: 1.5, y: 0, w: 10, h: 10 } }, /invalid region/],
    [{ ...base, region: { kind: 'percent', x: Number.NaN, y: 0, w: 10, h: 10 } }, /invalid region/],
    [{ ...base, size: { kind: 'width', w: -1, upscale: false } }, /invalid size/],
    [{ ...base, size: { kind: 'percent', n: Number.POSITIVE_INFINITY, upscale: true } }, /invalid size/],
    [{ ...base, rotation: { degrees: 400, mirror: false } }, /invalid rotation/],
    [{ ...base, rotation: { degrees: -1, mirror: false } }, /invalid rotation/],
  ] as [ImageRequest, RegExp][])('400 for %j', (req, message) => {
    const error = errorOf(() => resolveImageRequest(req, SPEC));
    expect(error.status).toBe(400);
    expect(error.message).toMatch(message);
  });

  it('refuses impossible image facts as a programming error', () => {
    expect(() => resolveImageRequest(base, { width: 0, height: 10, allowUpscaling: false })).toThrow(RangeError);
    expect(() => resolveImageRequest(base, { width: 10, height: 10, maxArea: 0.5, allowUpscaling: false })).toThrow(RangeError);
  });
});

describe('mediaTypeFor', () => {
  it.each([
    ['jpg', 'image/jpeg'],
    ['png', 'image/png'],
    ['webp', 'image/webp'],
    ['tif', 'image/tiff'],
    ['gif', 'image/gif'],
  ] as const)('%s → %s', (format, type) => {
    expect(mediaTypeFor(format)).toBe(type);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Properties

const factsArb: fc.Arbitrary<ImageFacts> = fc
  .record(
    {
      width: fc.integer({ min: 1, max: 20_000 }),
      height: fc.integer({ min: 1, max: 20_000 }),
      maxWidth: fc.integer({ min: 1, max: 10_000 }),
      maxHeight: fc.integer({ min: 1, max: 10_000 }),
      maxArea: fc.integer({ min: 1, max: 50_000_000 }),
      allowUpscaling: fc.boolean(),
    },
    { requiredKeys: ['width', 'height', 'allowUpscaling'] },
  )
  // Also small images, where rounding to zero and tiny regions are likely.
  .chain((facts) => fc.oneof(fc.constant(facts), fc.constant({ ...facts, width: 1 + (facts.width % 7), height: 1 + (facts.height % 5) })));

const whole = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 25_000 })).map(String);
const decimal = fc
  .tuple(fc.integer({ min: 0, max: 150 }), fc.option(fc.integer({ min: 0, max: 9999 }), { nil: undefined }))
  .map(([i, f]) => (f === undefined ? String(i) : `${i}.${f}`));

const regionArb = fc.oneof(
  fc.constantFrom('full', 'square'),
  fc.tuple(whole, whole, whole, whole).map((p) => p.join(',')),
  fc.tuple(decimal, decimal, decimal, decimal).map((p) => `pct:${p.join(',')}`),
);

function sizeArb(version: ApiVersion): fc.Arbitrary<string> {
  const body = fc.oneof(
    fc.constant('max'),
    whole.map((w) => `${w},`),
    whole.map((h) => `,${h}`),
    decimal.map((n) => `pct:${n}`),
    fc.tuple(whole, whole).map(([w, h]) => `${w},${h}`),
    fc.tuple(whole, whole).map(([w, h]) => `!${w},${h}`),
  );
  if (version === 2) return fc.oneof(fc.constant('full'), body);
  return fc.tuple(fc.boolean(), body).map(([up, s]) => (up ? `^${s}` : s));
}

const rotationArb = fc.oneof(
  fc.constantFrom('0', '90', '180', '270', '360', '!0', '!90'),
  fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 359 }), fc.integer({ min: 0, max: 999_999 })).map(([m, i, f]) => `${m ? '!' : ''}${i}.${f}`),
  fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 99 })).map(([m, f]) => `${m ? '!' : ''}0.0000000${f}`),
);

const qualityFormatArb = fc
  .tuple(fc.constantFrom('default', 'color', 'gray', 'bitonal'), fc.constantFrom('jpg', 'png', 'webp', 'tif', 'gif'))
  .map(([q, f]) => `${q}.${f}`);

const validPathArb: fc.Arbitrary<string> = fc.constantFrom<ApiVersion>(2, 3).chain((version) =>
  fc
    .tuple(
      fc.constantFrom(ID, 'ark:%2F12025%2F654xz321', 'a', 'mus%C3%A9e'),
      regionArb,
      sizeArb(version),
      rotationArb,
      qualityFormatArb,
    )
    .map(([id, ...params]) => `/iiif/${version}/${id}/${params.join('/')}`),
);

const editArb = fc.record({
  op: fc.constantFrom('insert', 'delete', 'replace'),
  at: fc.nat(),
  char: fc.oneof(
    fc.constantFrom('/', ',', '.', '%', '%2', '%2F', '%FF', '^', '!', ':', '-', '+', 'e', 'E', '0', '9', ' ', 'x', '\u0000', '\uD800', 'é', '..'),
    fc.string({ minLength: 1, maxLength: 1 }),
  ),
});

function mutate(original: string, edits: { op: string; at: number; char: string }[]): string {
  let text = original;
  for (const { op, at, char } of edits) {
    const i = text.length === 0 ? 0 : at % (text.length + 1);
    if (op === 'insert') text = text.slice(0, i) + char + text.slice(i);
    else if (op === 'delete') text = text.slice(0, i) + text.slice(i + 1);
    else text = text.slice(0, i) + char + text.slice(i + 1);
  }
  return text;
}

const anyPathArb: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.webPath(),
  fc.webPath().map((p) => `/iiif/3${p.startsWith('/') ? '' : '/'}${p}`),
  fc.array(fc.oneof(fc.string(), fc.constantFrom('full', 'max', '^max', '0', 'default.jpg', 'info.json', '')), { maxLength: 7 }).map(
    (segments) => `/iiif/${segments.join('/')}`,
  ),
  fc.tuple(validPathArb, fc.array(editArb, { minLength: 1, maxLength: 4 })).map(([p, edits]) => mutate(p, edits)),
  validPathArb,
);

function effectiveLimits(facts: ImageFacts) {
  return { maxWidth: facts.maxWidth, maxHeight: facts.maxHeight ?? facts.maxWidth, maxArea: facts.maxArea };
}

describe('properties', () => {
  it('never throws anything but ImageRequestError, whatever the path', () => {
    fc.assert(
      fc.property(anyPathArb, factsArb, (p, facts) => {
        try {
          const parsed = parseImagePath(p);
          if (parsed.kind === 'image') resolveImageRequest(parsed.request, facts);
        } catch (error) {
          if (!(error instanceof ImageRequestError)) throw error;
          expect([400, 404, 501]).toContain(error.status);
          expect(error.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('a request that resolves lies inside the image, is at least 1×1 and within the limits', () => {
    let resolvedCount = 0;
    fc.assert(
      fc.property(validPathArb, factsArb, (p, facts) => {
        const parsed = parseImagePath(p);
        if (parsed.kind !== 'image') throw new Error(`not an image request: ${p}`);
        let resolved: ResolvedImageRequest;
        try {
          resolved = resolveImageRequest(parsed.request, facts);
        } catch (error) {
          if (!(error instanceof ImageRequestError)) throw error;
          return;
        }
        resolvedCount++;
        const { region, size } = resolved;
        expect(region.x).toBeGreaterThanOrEqual(0);
        expect(region.y).toBeGreaterThanOrEqual(0);
        expect(region.w).toBeGreaterThanOrEqual(1);
        expect(region.h).toBeGreaterThanOrEqual(1);
        expect(region.x + region.w).toBeLessThanOrEqual(facts.width);
        expect(region.y + region.h).toBeLessThanOrEqual(facts.height);
        for (const n of [region.x, region.y, region.w, region.h, size.width, size.height]) expect(Number.isInteger(n)).toBe(true);
        expect(size.width).toBeGreaterThanOrEqual(1);
        expect(size.height).toBeGreaterThanOrEqual(1);
        expect(withinLimits(size, effectiveLimits(facts))).toBe(true);
        const upscaled = size.width > region.w || size.height > region.h;
        if (upscaled) {
          expect(facts.allowUpscaling).toBe(true);
          if (parsed.request.version === 3) expect('upscale' in parsed.request.size && parsed.request.size.upscale).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
    expect(resolvedCount).toBeGreaterThan(300);
  });

  it('the canonical form is a fixed point: it parses and resolves to the same image and the same canonical form', () => {
    fc.assert(
      fc.property(validPathArb, factsArb, (p, facts) => {
        const parsed = parseImagePath(p);
        if (parsed.kind !== 'image') throw new Error(`not an image request: ${p}`);
        let first: ResolvedImageRequest;
        try {
          first = resolveImageRequest(parsed.request, facts);
        } catch (error) {
          if (!(error instanceof ImageRequestError)) throw error;
          return;
        }
        const again = parseImagePath(`/iiif/${parsed.request.version}/id/${first.canonical}`);
        if (again.kind !== 'image') throw new Error(`canonical ${first.canonical} is not an image request`);
        const second = resolveImageRequest(again.request, facts);
        expect(second.canonical).toBe(first.canonical);
        expect(second.region).toEqual(first.region);
        expect(second.size).toEqual(first.size);
        expect(second.rotation).toEqual(first.rotation);
        expect(second.format).toBe(first.format);
      }),
      { numRuns: 3000 },
    );
  });
});
