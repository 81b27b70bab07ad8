/**
 * The pure parsers every request and every ingest key goes through, called directly with fast-check input: each
 * returns a value or throws its documented error class with a reason — never a TypeError, RangeError or URIError —
 * and what it returns keeps the invariants the storage layout relies on.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  accessCookiesFrom,
  bearerToken,
  isPlainOrigin,
  signAccessCookie,
  verifyAccessCookie,
  verifyAccessToken,
  verifyRequestCookie,
} from '../../functions/core/auth.ts';
import { identifierForKey, isIdentifier, MAX_IDENTIFIER_LENGTH, splitRevisionIdentifier } from '../../functions/core/identifier.ts';
import { ImageRequestError, parseImagePath, resolveImageRequest, type ImageFacts } from '../../functions/core/image-request.ts';
import { parseObjectId } from '../../functions/core/presentation.ts';
import { institutionKey, objectKey, pidKey } from '../../functions/core/record-keys.ts';
import { MalformedEventError, objectEventsFromMessage } from '../../functions/core/s3-events.ts';
import { splitImagePath, storedKeyForPath } from '../../functions/core/static-paths.ts';
import { encodeAll, runs } from './support.ts';

const FRAGMENTS = [
  '/', '//', '..', '.', '%', '%2F', '%252F', '%00', '\\', '\u0000', '~', ':', 'full', 'max', '^', '!', 'pct:', ',', '.', 'info.json',
  'default.jpg', '0', '360', '1e5', 'NaN', '-', '9'.repeat(30), 'é', '\ud800', '\u202e', '%E0%A4%A', '__proto__', 'iiif', '2', '3',
];

/** Strings built from fragments that matter to a parser, and arbitrary code points. */
const hostile = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.array(fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ unit: 'binary-ascii', maxLength: 6 })), { maxLength: 16 }).map((parts) => parts.join('')),
);

const imagePath = fc.oneof(
  hostile.map((s) => `/iiif/${s}`),
  fc.tuple(fc.constantFrom('2', '3'), fc.array(hostile, { minLength: 1, maxLength: 6 })).map(([v, parts]) => `/iiif/${v}/${parts.join('/')}`),
  hostile,
);

const STATUSES = [400, 401, 403, 404, 415, 501];

function expectDocumentedError(error: unknown, what: string): void {
  if (!(error instanceof ImageRequestError)) throw new Error(`${what} threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  expect(STATUSES).toContain(error.status);
  expect(error.message.length).toBeGreaterThan(0);
}

describe('Image API parsing', () => {
  it('parseImagePath returns a request or throws ImageRequestError with a status and a reason', () => {
    fc.assert(
      fc.property(imagePath, (path) => {
        try {
          const parsed = parseImagePath(path);
          expect(['base', 'info', 'image']).toContain(parsed.kind);
        } catch (error) {
          expectDocumentedError(error, `parseImagePath(${JSON.stringify(path)})`);
        }
      }),
      runs(5000, { shrink: true }),
    );
  });

  const facts: fc.Arbitrary<ImageFacts> = fc.record(
    {
      width: fc.integer({ min: 1, max: 100_000 }),
      height: fc.integer({ min: 1, max: 100_000 }),
      maxWidth: fc.integer({ min: 1, max: 100_000 }),
      maxHeight: fc.integer({ min: 1, max: 100_000 }),
      maxArea: fc.integer({ min: 1, max: 1e10 }),
      allowUpscaling: fc.boolean(),
    },
    { requiredKeys: ['width', 'height', 'allowUpscaling'] },
  );
  const parameter = (values: string[]) => fc.oneof(fc.constantFrom(...values), hostile.map(encodeAll));
  const requestPath = fc
    .tuple(
      fc.constantFrom('2', '3'),
      parameter(['full', 'square', '0,0,10,10', 'pct:0,0,100,100', '5,5,0,3', '99999999,0,1,1', 'pct:99.9999,0,0.00001,1', '0,0,9007199254740991,1']),
      parameter(['max', '^max', 'full', '10,', ',10', '^pct:1000', 'pct:0.0001', '!1,1', '^!100000,1', '0,0', '9007199254740991,', '^1,99999']),
      parameter(['0', '!90', '45.5', '360', '0.0000001']),
      parameter(['default.jpg', 'gray.png', 'bitonal.webp', 'color.tif', 'default.gif']),
    )
    .map(([v, r, s, rot, qf]) => `/iiif/${v}/id/${r}/${s}/${rot}/${qf}`);

  it('resolveImageRequest resolves within the image and limits, or throws ImageRequestError', () => {
    fc.assert(
      fc.property(requestPath, facts, (path, imageFacts) => {
        let parsed;
        try {
          parsed = parseImagePath(path);
        } catch (error) {
          expectDocumentedError(error, `parseImagePath(${path})`);
          return;
        }
        if (parsed.kind !== 'image') return;
        try {
          const resolved = resolveImageRequest(parsed.request, imageFacts);
          const { region, size } = resolved;
          // What the renderer is handed: a non-empty region inside the image, a positive whole-pixel size.
          expect(region.x >= 0 && region.y >= 0 && region.w >= 1 && region.h >= 1).toBe(true);
          expect(region.x + region.w <= imageFacts.width && region.y + region.h <= imageFacts.height).toBe(true);
          expect(Number.isSafeInteger(size.width) && Number.isSafeInteger(size.height) && size.width >= 1 && size.height >= 1).toBe(true);
        } catch (error) {
          expectDocumentedError(error, `resolveImageRequest(${path}, ${JSON.stringify(imageFacts)})`);
        }
      }),
      runs(5000, { shrink: true }),
    );
  });
});

describe('identifiers and storage keys', () => {
  const key = fc.oneof(
    hostile,
    fc.array(fc.oneof(hostile, fc.constantFrom('..', '.', '', 'a', 'mskgent.be', '1829-A.tif', '.hidden', 'x.jpg')), { minLength: 1, maxLength: 6 }).map((parts) => parts.join('/')),
    fc.string({ unit: 'grapheme', minLength: 150, maxLength: 400 }),
  );

  it('identifierForKey never throws; an identifier it gives is one the rest of the system accepts and cannot escape its prefix', () => {
    fc.assert(
      fc.property(key, (k) => {
        const result = identifierForKey(k);
        if (result.kind !== 'identifier') {
          expect(result.reason.length).toBeGreaterThan(0);
          return;
        }
        const id = result.identifier;
        expect(isIdentifier(id), id).toBe(true);
        expect(id.length).toBeLessThanOrEqual(MAX_IDENTIFIER_LENGTH);
        expect(id).toMatch(/^[A-Za-z0-9._-]+(:[A-Za-z0-9._-]+)*$/);
        expect(id.split(':')).not.toContain('..');
        expect(id.split(':')).not.toContain('.');
        expect(splitRevisionIdentifier(id)).toEqual({ identifier: id });
      }),
      runs(5000, { shrink: true }),
    );
  });

  it('isIdentifier, splitRevisionIdentifier and parseObjectId take any string', () => {
    fc.assert(
      fc.property(hostile, (value) => {
        expect(typeof isIdentifier(value)).toBe('boolean');
        const split = splitRevisionIdentifier(value);
        expect(value.startsWith(split.identifier)).toBe(true);
        const object = parseObjectId(value);
        if (object) expect(`${object.institution}:${object.objectNumber}`).toBe(value);
      }),
      runs(3000, { shrink: true }),
    );
  });

  it('storedKeyForPath maps a path whose identifier the router accepts only under iiif/{2,3}/{identifier}', () => {
    fc.assert(
      fc.property(imagePath, (path) => {
        const key = storedKeyForPath(path);
        if (key === undefined) return;
        expect(key).toMatch(/^iiif\/[23]\//);
        const parts = splitImagePath(path)!;
        const { identifier } = splitRevisionIdentifier(parts.identifier);
        if (!isIdentifier(identifier)) return; // the router asks the store nothing for these
        expect(key.startsWith(`iiif/${parts.version}/${parts.identifier}/`) || key.startsWith(`iiif/3/${parts.identifier}/`)).toBe(true);
        expect(key.split('/').slice(2)).not.toContain('..');
        expect(key).not.toMatch(/[\\\p{Cc}]/u);
      }),
      runs(5000, { shrink: true }),
    );
  });

  it('record lookup keys are bounded whatever a record or request says', () => {
    fc.assert(
      fc.property(fc.oneof(hostile, fc.tuple(fc.constantFrom('€', '\u{1F600}', 'a', 'é'), fc.integer({ min: 300, max: 2100 })).map(([c, n]) => `https://${c.repeat(n)}/${c.repeat(n)}`)), hostile, (a, b) => {
        // DynamoDB refuses an index partition key over 2048 bytes: the write of the whole record would fail.
        for (const k of [pidKey(a), institutionKey(a), objectKey(a, b), objectKey(b, a)]) if (k !== undefined) expect(Buffer.byteLength(k)).toBeLessThanOrEqual(2048);
      }),
      runs(2000, { shrink: true }),
    );
  });
});

describe('S3 event messages', () => {
  const eventKey = fc.oneof(hostile, hostile.map(encodeAll));
  it('objectEventsFromMessage gives events or throws MalformedEventError, whatever the key and body', () => {
    fc.assert(
      fc.property(eventKey, fc.constantFrom('ObjectCreated:Put', 'ObjectRemoved:Delete', 'Weird'), fc.oneof(fc.constant(undefined), hostile), (key, eventName, junk) => {
        const body = junk ?? JSON.stringify({ Records: [{ eventName, s3: { bucket: { name: 'b' }, object: { key, size: 1 } } }] });
        try {
          for (const event of objectEventsFromMessage(body)) expect(typeof event.key).toBe('string');
        } catch (error) {
          if (!(error instanceof MalformedEventError)) throw new Error(`threw ${String(error)} for ${body}`);
          expect(error.message.length).toBeGreaterThan(0);
        }
      }),
      runs(3000, { shrink: true }),
    );
  });
});

describe('Auth 2.0 request parsing', () => {
  const KEY = 'k'.repeat(32);
  const now = new Date('2026-06-01T00:00:00Z');
  const valid = signAccessCookie(KEY, { issuedAt: now, expiresAt: new Date(now.getTime() + 3600_000) });
  const cookieish = fc.oneof(hostile, fc.constantFrom(valid, `${valid}x`, valid.replace(/\./g, ''), valid.split('.').reverse().join('.'), `"${valid}"`, '..', 'a.b', 'a.b.c.d'));

  it('cookies, bearer tokens and origins: any text is read without throwing, and only a genuine cookie verifies', () => {
    fc.assert(
      fc.property(cookieish, hostile, (value, other) => {
        const header = `${other}; imagehub-access=${value}; ${other}`;
        expect(Array.isArray(accessCookiesFrom(header))).toBe(true);
        const verdict = verifyRequestCookie({ cookie: header }, KEY, now);
        const genuine = accessCookiesFrom(header).includes(valid);
        expect(verdict.valid).toBe(genuine);
        expect(verifyAccessCookie(KEY, value, now).valid).toBe(value === valid);
        expect(verifyAccessToken(KEY, value, now).valid).toBe(false); // a cookie is not a token
        bearerToken(`Bearer ${value}`);
        bearerToken(other);
        expect(typeof isPlainOrigin(other)).toBe('boolean');
      }),
      runs(3000, { shrink: true }),
    );
  });
});
