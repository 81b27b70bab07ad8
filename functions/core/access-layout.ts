/**
 * Where an image's published files go under its access decision. The public derivative store (which the CDN
 * serves) holds only what anyone may see; everything else goes to the protected store, which nothing public can
 * read and the Image API serves to authorised users only:
 *
 *   open             every file public
 *   restricted-size  a tile or size is public when its pixels stay within the limit (see withinSizeLimit);
 *                    info.json public (it carries the probe service); the substitute public
 *   private          nothing public, info.json included (dimensions are not public either)
 *
 * Deciding per file from its own IIIF path means the rule that guards dynamic requests (the Image API) and the
 * rule that places static files are one and the same.
 */
import type { AccessDecision } from './access-policy.ts';
import type { Region, Size } from './pyramid.ts';

export type AccessPlacement = 'public' | 'protected';

export function policyOf(access: AccessDecision | undefined): AccessDecision['policy'] {
  return access?.policy ?? 'open';
}

/** Whether this revision's info.json documents are public (they are for every policy but private). */
export function infoJsonPlacement(access: AccessDecision | undefined): AccessPlacement {
  return policyOf(access) === 'private' ? 'protected' : 'public';
}

/**
 * Where one pyramid file goes. `path` is its IIIF 3 path within the revision: `{region}/{w},{h}/0/default.jpg`
 * (tiles, aliases, sizes) or `full/max/0/default.jpg`; `maxSize` is what `max` is for this image.
 */
export function pyramidFilePlacement(path: string, image: Size, maxSize: Size, access: AccessDecision | undefined): AccessPlacement {
  const policy = policyOf(access);
  if (policy === 'open') return 'public';
  if (policy === 'private') return 'protected';
  const match = /^(full|(\d+),(\d+),(\d+),(\d+))\/(max|(\d+),(\d+))\/0\/default\.jpg$/.exec(path);
  // A name this module cannot read is not published where anyone can reach it.
  if (!match) return 'protected';
  const region = match[1] === 'full' ? { x: 0, y: 0, w: image.width, h: image.height } : { x: Number(match[2]), y: Number(match[3]), w: Number(match[4]), h: Number(match[5]) };
  const size = match[6] === 'max' ? maxSize : { width: Number(match[7]), height: Number(match[8]) };
  return withinSizeLimit(region, size, image, access!.maxLongSide ?? 0) ? 'public' : 'protected';
}

/**
 * Whether a request's pixels stay within a restricted-size image's limit: at most what the whole image scaled to
 * `maxLongSide` on its long side shows, i.e. a scale of k = maxLongSide / max(W, H) on both axes.
 *
 * Per axis, the output may be `floor(length × k)`; one pixel more (`ceil`) only where the region reaches the image's
 * far edge, which is where pyramids and whole-image sizes round up (a tile at scale factor s is `ceil(w / s)` wide,
 * interior tiles exactly `w / s`). Rounding up anywhere else would let crafted small regions (1×1 at size 1×1)
 * gather full-resolution pixels one request at a time; at the edges it gives at most one source column or row.
 */
export function withinSizeLimit(region: Region, size: Size, image: Size, maxLongSide: number): boolean {
  const long = Math.max(image.width, image.height);
  if (maxLongSide >= long) return true;
  // In integers (length × limit / long side): 1093 × (800 / 1093) is 800.0000000000001 in floating point.
  const axis = (position: number, length: number, full: number, output: number): boolean => {
    const scaled = length * maxLongSide;
    if (output <= Math.floor(scaled / long)) return true;
    return position + length >= full && output <= Math.ceil(scaled / long);
  };
  return axis(region.x, region.w, image.width, size.width) && axis(region.y, region.h, image.height, size.height);
}

/** The size-limited version of a w×h image: the whole image scaled to fit `maxLongSide`, never enlarged. */
export function substituteSize(image: Size, maxLongSide: number): Size {
  const long = Math.max(image.width, image.height);
  if (long <= maxLongSide) return { width: image.width, height: image.height };
  // Rounded down, in integers, so the substitute is itself within the limit (withinSizeLimit).
  return { width: Math.max(1, Math.floor((image.width * maxLongSide) / long)), height: Math.max(1, Math.floor((image.height * maxLongSide) / long)) };
}

/** Whether a decision needs a substitute: restricted-size images larger than their limit. */
export function needsSubstitute(access: AccessDecision | undefined, image: Size): access is AccessDecision & { maxLongSide: number } {
  return policyOf(access) === 'restricted-size' && access!.maxLongSide !== undefined && Math.max(image.width, image.height) > access!.maxLongSide;
}

/**
 * How restrictive a policy is, for telling a tightening from a loosening: a tightening must withdraw what was
 * public at once (the superseded revision is not kept, the CDN's copies are invalidated).
 */
export function isTightening(before: AccessDecision | undefined, after: AccessDecision | undefined): boolean {
  const rank = (a: AccessDecision | undefined) => {
    const policy = policyOf(a);
    return policy === 'open' ? Number.POSITIVE_INFINITY : policy === 'private' ? 0 : (a!.maxLongSide ?? 0);
  };
  return rank(after) < rank(before);
}
