/**
 * Bundles the viewer-request function into the single-file script CloudFront Functions run: no modules, a global
 * `handler`. Used by the CDK stack at synth time and by the unit test, so what is tested is what is deployed.
 */
import { buildSync } from 'esbuild';
import { fileURLToPath } from 'node:url';

/** CloudFront Functions reject code above 10 KB. */
export const CLOUDFRONT_FUNCTION_MAX_BYTES = 10_240;

export function buildViewerRequestFunction(): string {
  const result = buildSync({
    entryPoints: [fileURLToPath(new URL('./viewer-request.ts', import.meta.url))],
    bundle: true,
    write: false,
    format: 'iife',
    globalName: 'imagehubEdge',
    target: 'es2015',
    minify: true,
    legalComments: 'none',
  });
  const code = `${result.outputFiles[0]!.text}\nfunction handler(event) { return imagehubEdge.handler(event); }\n`;
  if (Buffer.byteLength(code) > CLOUDFRONT_FUNCTION_MAX_BYTES) {
    throw new Error(`viewer-request function is ${Buffer.byteLength(code)} bytes, above CloudFront's limit`);
  }
  return code;
}
