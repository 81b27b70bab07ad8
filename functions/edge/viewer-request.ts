/**
 * CloudFront viewer-request function (cloudfront-js-2.0): maps public Image API URLs onto the stored files with
 * the very code the one-machine router runs (core/static-paths.ts), and answers a bare image base URI with a 303
 * to its info.json. Rewriting in viewer-request also makes the CDN cache key the stored file, so 2.1 and 3.0 URLs
 * of one tile share a cache entry.
 */
import { FORWARDED_HOST } from '../core/http-headers.ts';
import { splitImagePath, storedKeyForPath } from '../core/static-paths.ts';

interface CloudFrontRequest {
  uri: string;
  headers?: Record<string, { value: string }>;
  [key: string]: unknown;
}

interface CloudFrontResponse {
  statusCode: number;
  statusDescription: string;
  headers: Record<string, { value: string }>;
}

export function handler(event: { request: CloudFrontRequest }): CloudFrontRequest | CloudFrontResponse {
  const request = event.request;
  let path: string;
  try {
    path = decodeURIComponent(request.uri);
  } catch {
    return request; // let the origin answer malformed encodings
  }
  const parts = splitImagePath(path.replace(/\/$/, ''));
  if (parts && parts.rest === '') {
    return {
      statusCode: 303,
      statusDescription: 'See Other',
      headers: {
        location: { value: `/iiif/${parts.version}/${encodeURIComponent(parts.identifier).replace(/%3A/gi, ':')}/info.json` },
        'access-control-allow-origin': { value: '*' },
        'cache-control': { value: 'public, max-age=3600' },
      },
    };
  }
  const key = storedKeyForPath(path);
  if (key) request.uri = `/${key}`;
  // The Image API origin sees its own host; it builds public URLs from the host the viewer used.
  const host = request.headers?.host?.value;
  if (host && request.headers) request.headers[FORWARDED_HOST] = { value: host };
  return request;
}
