/**
 * Headers the CDN and the Image API agree on. The CloudFront viewer-request function copies the viewer's Host
 * into this header (the origin itself sees its own host), and the origin request policy forwards it.
 */
// Our own name: CloudFront reserves some standard forwarding headers for itself.
export const FORWARDED_HOST = 'x-imagehub-viewer-host';
