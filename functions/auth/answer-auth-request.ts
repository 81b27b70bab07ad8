/**
 * One IIIF Authorization Flow 2.0 request, answered: the access service (staff login), the access token service,
 * the probe service and the logout service, all under `/iiif/auth/`. The Lambda handler and the one-machine router
 * both call this; the pure parts (signing, pages, service descriptions) are in functions/core/auth.ts.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import {
  ACCESS_COOKIE,
  AUTH_PATHS,
  DEFAULT_TOKEN_SECONDS,
  accessTokenError,
  accessTokenMessage,
  bearerToken,
  isPlainOrigin,
  issueAccessToken,
  loginPage,
  probeResult,
  problemPage,
  signAccessCookie,
  signedInPage,
  signedOutPage,
  tokenPage,
  verifyAccessToken,
  verifyRequestCookie,
  type AuthProbeResult2,
  type HtmlPage,
  type LanguageMap,
  type TokenErrorProfile,
} from '../core/auth.ts';
import { FORWARDED_HOST } from '../core/http-headers.ts';
import { isIdentifier, splitRevisionIdentifier } from '../core/identifier.ts';
import type { ImageItem } from '../core/image-item.ts';
import type { HttpAnswer } from '../image-api/answer-image-request.ts';

export interface AuthSecrets {
  /** The shared staff password of the access service. */
  password: string;
  /** Key material for the session cookie and access token signatures. */
  signingKey: string;
}

export interface AuthRequest {
  method: string;
  /** The raw (still percent-encoded) path, e.g. `/iiif/auth/probe/abc:1`. */
  path: string;
  query: Record<string, string | undefined>;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
  /** The request body (login POST), already decoded to text. */
  body?: string;
  /** API Gateway payload 2.0 delivers cookies here rather than in the Cookie header. */
  cookies?: string[];
}

export interface AuthDeps {
  items: { get(identifier: string, options?: { consistent?: boolean }): Promise<ImageItem | undefined> };
  secrets: () => Promise<AuthSecrets>;
  /** The public base URL; empty → the viewer's host the CDN forwards ({@link FORWARDED_HOST}). */
  publicUrl: string;
  /** How long a login lasts (the cookie's Max-Age). */
  sessionSeconds: number;
  /** How long an access token lasts, at most (never beyond the session); default one hour. */
  tokenSeconds?: number;
  now?: () => Date;
  /** `Secure; SameSite=None` cookies (default true; browsers treat http://localhost as secure too). */
  secureCookies?: boolean;
  /** The pause before answering a wrong password, to slow guessing (default 500 ms). */
  wrongPasswordDelayMs?: number;
}

/** Login form bodies are tiny: the one-machine router refuses more than this (413). */
export const MAX_AUTH_BODY_BYTES = 16 * 1024;

const HTML_TYPE = 'text/html; charset=utf-8';
/** Everything here depends on who asks and when: never stored by the CDN or the browser. */
const NO_STORE = 'no-store';
const PROBE_CORS: Record<string, string> = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, HEAD, OPTIONS',
  'access-control-allow-headers': 'Authorization, Content-Type',
};
const DEFAULT_WRONG_PASSWORD_DELAY_MS = 500;
const MAX_MESSAGE_ID_LENGTH = 1000;

export async function answerAuthRequest(request: AuthRequest, deps: AuthDeps): Promise<HttpAnswer> {
  const path = request.path;
  const method = request.method.toUpperCase();
  if (path.startsWith(AUTH_PATHS.probe)) {
    if (method === 'OPTIONS') return { status: 204, headers: { ...PROBE_CORS, 'access-control-max-age': '86400', 'cache-control': NO_STORE } };
    if (method !== 'GET' && method !== 'HEAD') return notAllowed(method, 'GET, HEAD, OPTIONS', PROBE_CORS);
    return headless(method, await answerProbe(request, deps));
  }
  switch (path) {
    case AUTH_PATHS.login:
      if (method === 'POST') return answerLogin(request, deps);
      if (method !== 'GET' && method !== 'HEAD') return notAllowed(method, 'GET, HEAD, POST');
      return headless(method, await answerLoginForm(request, deps));
    case AUTH_PATHS.token:
      if (method !== 'GET' && method !== 'HEAD') return notAllowed(method, 'GET, HEAD');
      return headless(method, await answerToken(request, deps));
    case AUTH_PATHS.logout:
      if (method !== 'GET' && method !== 'HEAD') return notAllowed(method, 'GET, HEAD');
      return headless(method, withCookie(html(200, signedOutPage()), clearCookie(deps)));
    default:
      return plain(404, `not found: ${path}; the authorization services are ${AUTH_PATHS.login}, ${AUTH_PATHS.token}, ${AUTH_PATHS.probe}{identifier} and ${AUTH_PATHS.logout}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Access service

async function answerLoginForm(request: AuthRequest, deps: AuthDeps): Promise<HttpAnswer> {
  const { signingKey } = await deps.secrets();
  // Already signed in: nothing to ask, the tab closes itself as after a login.
  if (verifyRequestCookie(request.headers, signingKey, now(deps), request.cookies).valid) return html(200, signedInPage());
  return html(200, loginPage(originOption(request.query.origin)));
}

async function answerLogin(request: AuthRequest, deps: AuthDeps): Promise<HttpAnswer> {
  const form = new URLSearchParams(request.body ?? '');
  const origin = originOption(form.get('origin') ?? undefined);
  const { password, signingKey } = await deps.secrets();
  if (!samePassword(form.get('password') ?? '', password)) {
    // A fixed pause on every wrong password makes guessing slow; the comparison itself takes constant time.
    await sleep(deps.wrongPasswordDelayMs ?? DEFAULT_WRONG_PASSWORD_DELAY_MS);
    return html(401, loginPage({ ...origin, error: { en: 'That password is not right. Please try again.', nl: 'Dat wachtwoord klopt niet. Probeer het opnieuw.' } }));
  }
  const issuedAt = now(deps);
  const expiresAt = new Date(issuedAt.getTime() + deps.sessionSeconds * 1000);
  const value = signAccessCookie(signingKey, { issuedAt, expiresAt });
  return withCookie(html(200, signedInPage()), `${ACCESS_COOKIE}=${value}; ${cookieAttributes(deps)}; Max-Age=${deps.sessionSeconds}`);
}

/** Equal passwords, in time independent of where they differ (both hashed to a fixed length first). */
function samePassword(given: string, expected: string): boolean {
  if (!expected) return false; // no password configured: nobody signs in
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

function cookieAttributes(deps: AuthDeps): string {
  // SameSite=None: the token service reads the cookie inside a viewer's iframe on another site. It requires Secure.
  return deps.secureCookies === false ? 'Path=/; HttpOnly; SameSite=Lax' : 'Path=/; HttpOnly; Secure; SameSite=None';
}

function withCookie(answer: HttpAnswer, setCookie: string): HttpAnswer {
  return { ...answer, headers: { ...answer.headers, 'set-cookie': setCookie } };
}

function clearCookie(deps: AuthDeps): string {
  return `${ACCESS_COOKIE}=; ${cookieAttributes(deps)}; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT`;
}

function originOption(value: string | undefined): { origin?: string } {
  return isPlainOrigin(value) ? { origin: value } : {};
}

// ---------------------------------------------------------------------------------------------------------------
// Access token service

async function answerToken(request: AuthRequest, deps: AuthDeps): Promise<HttpAnswer> {
  const origin = request.query.origin;
  const messageId = request.query.messageId;
  if (!isPlainOrigin(origin)) {
    // Nowhere safe to post to (never '*'): the page only says what went wrong.
    return html(
      400,
      problemPage(
        { en: 'Invalid origin (invalidOrigin)', nl: 'Ongeldige herkomst (invalidOrigin)' },
        { en: 'The access token service needs an origin parameter such as https://viewer.example.org.', nl: 'De tokendienst heeft een origin-parameter nodig, zoals https://viewer.example.org.' },
      ),
    );
  }
  if (!messageId || messageId.length > MAX_MESSAGE_ID_LENGTH) return tokenError('invalidRequest', messageId?.slice(0, MAX_MESSAGE_ID_LENGTH) ?? '', origin);

  let secrets: AuthSecrets;
  try {
    secrets = await deps.secrets();
  } catch {
    // The viewer shows "unavailable" rather than a broken frame; the handler's logs show the cause elsewhere.
    return tokenError('unavailable', messageId, origin);
  }
  const at = now(deps);
  const cookie = verifyRequestCookie(request.headers, secrets.signingKey, at, request.cookies);
  if (!cookie.valid) {
    const profile: TokenErrorProfile = cookie.reason === 'missing' ? 'missingAspect' : cookie.reason === 'expired' ? 'expiredAspect' : 'invalidAspect';
    return tokenError(profile, messageId, origin);
  }
  // A token never outlives the session it comes from.
  const expiresAt = new Date(Math.min(at.getTime() + (deps.tokenSeconds ?? DEFAULT_TOKEN_SECONDS) * 1000, cookie.expiresAt.getTime()));
  const token = issueAccessToken(secrets.signingKey, { issuedAt: at, expiresAt });
  const expiresIn = Math.max(1, Math.floor((expiresAt.getTime() - at.getTime()) / 1000));
  return html(200, tokenPage(accessTokenMessage(token, expiresIn, messageId), origin));
}

function tokenError(profile: TokenErrorProfile, messageId: string, origin: string): HttpAnswer {
  // HTTP 200 even for errors: the message, not the status, is what the viewer reads.
  return html(200, tokenPage(accessTokenError(profile, messageId), origin));
}

// ---------------------------------------------------------------------------------------------------------------
// Probe service

const LIMITED_HEADING: LanguageMap = { en: ['Shown at a limited size'], nl: ['Beperkt formaat getoond'] };
const PRIVATE_HEADING: LanguageMap = { en: ['Not available to the public'], nl: ['Niet publiek beschikbaar'] };
const NOT_FOUND_HEADING: LanguageMap = { en: ['Image not found'], nl: ['Afbeelding niet gevonden'] };

async function answerProbe(request: AuthRequest, deps: AuthDeps): Promise<HttpAnswer> {
  let requested: string;
  try {
    requested = decodeURIComponent(request.path.slice(AUTH_PATHS.probe.length));
  } catch {
    return plain(400, 'the identifier in the probe URL is not valid percent-encoding', PROBE_CORS);
  }
  // A revision or substitute identifier probes its image: the probe is about the image, not one file of it.
  const { identifier, substitute } = splitRevisionIdentifier(requested);
  if (!isIdentifier(identifier)) return plain(400, `"${requested.slice(0, 300)}" is not an imagehub image identifier`, PROBE_CORS);
  const base = publicBaseUrl(request, deps.publicUrl);
  if (base === undefined) return plain(400, 'this endpoint serves requests through the CDN only: use the public IIIF URL', PROBE_CORS);

  const item = await deps.items.get(identifier, { consistent: false });
  const published = item && item.status !== 'deleted' ? item.published : undefined;
  if (!published) return probe(probeResult({ status: 404, heading: NOT_FOUND_HEADING }));
  const access = published.access;
  // Substitutes are public by design; so are images published before access policies existed.
  if (substitute !== undefined || !access || access.policy === 'open') return probe(probeResult({ status: 200 }));

  const token = bearerToken(request.headers.authorization);
  if (token) {
    const { signingKey } = await deps.secrets();
    if (verifyAccessToken(signingKey, token, now(deps)).valid) return probe(probeResult({ status: 200 }));
  }
  const note: LanguageMap = { en: [access.reason], nl: [access.reasonNl] };
  if (access.policy === 'private') return probe(probeResult({ status: 401, heading: PRIVATE_HEADING, note }));
  const sub = published.substitute;
  return probe(
    probeResult({
      status: 401,
      heading: LIMITED_HEADING,
      note,
      ...(sub
        ? {
            substitute: [
              {
                id: `${base}/iiif/3/${encodeIdentifier(sub.identifier)}/full/max/0/default.jpg`,
                type: 'Image',
                format: 'image/jpeg',
                width: sub.width,
                height: sub.height,
                label: { en: [`Limited size (${sub.width} × ${sub.height} pixels)`], nl: [`Beperkt formaat (${sub.width} × ${sub.height} pixels)`] },
                service: [{ id: `${base}/iiif/3/${encodeIdentifier(sub.identifier)}`, type: 'ImageService3', profile: 'level2' }],
              },
            ],
          }
        : {}),
    }),
  );
}

function probe(result: AuthProbeResult2): HttpAnswer {
  // Always HTTP 200: the probe's own status is in the body.
  return { status: 200, headers: { ...PROBE_CORS, 'content-type': 'application/json', 'cache-control': NO_STORE }, body: JSON.stringify(result) };
}

function publicBaseUrl(request: AuthRequest, configured: string): string | undefined {
  if (configured) return configured.replace(/\/+$/, '');
  const host = request.headers[FORWARDED_HOST];
  if (host && /^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(host)) return `https://${host}`;
  return undefined;
}

/** Identifiers are URL-safe by construction; `:` stays readable as in every other imagehub URL. */
function encodeIdentifier(identifier: string): string {
  return encodeURIComponent(identifier).replace(/%3A/gi, ':');
}

// ---------------------------------------------------------------------------------------------------------------
// Answers

function html(status: number, page: HtmlPage): HttpAnswer {
  return {
    status,
    headers: {
      'content-type': HTML_TYPE,
      'cache-control': NO_STORE,
      'content-security-policy': page.contentSecurityPolicy,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    },
    body: page.html,
  };
}

function plain(status: number, message: string, extra: Record<string, string> = {}): HttpAnswer {
  return { status, headers: { ...extra, 'content-type': 'text/plain; charset=utf-8', 'cache-control': NO_STORE }, body: `${message}\n` };
}

function notAllowed(method: string, allow: string, extra: Record<string, string> = {}): HttpAnswer {
  return plain(405, `method ${method} is not allowed here (${allow})`, { ...extra, allow });
}

function headless(method: string, answer: HttpAnswer): HttpAnswer {
  return method === 'HEAD' ? { ...answer, body: undefined } : answer;
}

function now(deps: AuthDeps): Date {
  return deps.now ? deps.now() : new Date();
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

/**
 * A request body as text, or undefined when it exceeds `limit` bytes (the caller answers 413). For servers that
 * hand over a stream (the one-machine router); API Gateway delivers the body whole.
 */
export async function readBoundedBody(stream: AsyncIterable<Uint8Array | string>, limit = MAX_AUTH_BODY_BYTES): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    size += buffer.length;
    if (size > limit) return undefined;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
