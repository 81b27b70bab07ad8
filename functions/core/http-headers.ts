/**
 * Headers the CDN and the Image API agree on. The CloudFront viewer-request function copies the viewer's Host
 * into this header (the origin itself sees its own host), and the origin request policy forwards it.
 */
// Our own name: CloudFront reserves some standard forwarding headers for itself.
export const FORWARDED_HOST = 'x-imagehub-viewer-host';

/**
 * CORS on every Image API answer, stored file or rendered: IIIF is read cross-origin by design (viewers on other
 * sites), without credentials. The CDN's response-headers policy says the same (lib/cdn.ts).
 */
export const CORS_HEADERS: Readonly<Record<string, string>> = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, HEAD, OPTIONS',
  'access-control-allow-headers': '*',
  'access-control-expose-headers': 'ETag, Last-Modified, Link, Content-Length',
};
