/**
 * IIIF Authorization Flow 2.0 for imagehub, the pure part: service descriptions, signed session cookies and access
 * tokens, probe results and the HTML pages of the access, token and logout services.
 *
 *   access service   /iiif/auth/login   staff login (a shared staff password) → the `imagehub-access` cookie
 *   token service    /iiif/auth/token   cookie → an opaque access token, posted to the viewer's window
 *   probe service    /iiif/auth/probe/{identifier}   bearer token → may this client see the image?
 *   logout service   /iiif/auth/logout  clears the cookie
 *
 * Cookie and token are HMAC-SHA256 signatures over `{iat, exp, nonce}` with keys derived from the one signing key
 * for separate domains, so a token never verifies as a cookie nor a cookie as a token. No AWS, no clock of its
 * own (`now` is passed in).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const AUTH2_CONTEXT = 'http://iiif.io/api/auth/2/context.json';
export const ACCESS_COOKIE = 'imagehub-access';
export const AUTH_PREFIX = '/iiif/auth/';
export const AUTH_PATHS = {
  login: '/iiif/auth/login',
  token: '/iiif/auth/token',
  logout: '/iiif/auth/logout',
  /** Followed by the (URL-encoded) image identifier. */
  probe: '/iiif/auth/probe/',
} as const;

export const DEFAULT_SESSION_HOURS = 8;
/** A token lives at most this long (and never beyond the session it was issued from). */
export const DEFAULT_TOKEN_SECONDS = 3600;

export type LanguageMap = Record<string, string[]>;

// ---------------------------------------------------------------------------------------------------------------
// Service descriptions (embedded in info.json and manifests)

export interface AuthLogoutService2 {
  id: string;
  type: 'AuthLogoutService2';
  label: LanguageMap;
}

export interface AuthAccessTokenService2 {
  id: string;
  type: 'AuthAccessTokenService2';
  errorHeading?: LanguageMap;
  errorNote?: LanguageMap;
}

export interface AuthAccessService2 {
  id: string;
  type: 'AuthAccessService2';
  profile: 'active';
  label: LanguageMap;
  heading?: LanguageMap;
  note?: LanguageMap;
  confirmLabel?: LanguageMap;
  service: [AuthAccessTokenService2, AuthLogoutService2];
}

/**
 * The probe service of one image, with its access, token and logout services. Embedded as is (no `@context`: the
 * embedding document puts {@link AUTH2_CONTEXT} first in its own `@context` array).
 */
export interface AuthProbeService2 {
  id: string;
  type: 'AuthProbeService2';
  service: [AuthAccessService2];
}

/** The user-facing texts of the services; each a language map (en and nl). */
export interface AuthServiceLabels {
  label: LanguageMap;
  heading: LanguageMap;
  note: LanguageMap;
  confirmLabel: LanguageMap;
  errorHeading: LanguageMap;
  errorNote: LanguageMap;
  logoutLabel: LanguageMap;
}

export const DEFAULT_AUTH_LABELS: AuthServiceLabels = {
  label: { en: ['Staff login — imagehub'], nl: ['Aanmelden voor medewerkers — imagehub'] },
  heading: { en: ['Museum staff can see this image in full'], nl: ['Museummedewerkers kunnen deze afbeelding volledig bekijken'] },
  note: {
    en: ['The public sees this image at a limited size or not at all. Staff can sign in with the staff password.'],
    nl: ['Het publiek ziet deze afbeelding beperkt of niet. Medewerkers kunnen zich aanmelden met het wachtwoord voor medewerkers.'],
  },
  confirmLabel: { en: ['Sign in'], nl: ['Aanmelden'] },
  errorHeading: { en: ['Sign-in did not work'], nl: ['Aanmelden is niet gelukt'] },
  errorNote: {
    en: ['Your session may have expired, or your browser blocks the cookie imagehub needs. Please sign in again.'],
    nl: ['Uw sessie is misschien verlopen, of uw browser blokkeert het cookie dat imagehub nodig heeft. Meld u opnieuw aan.'],
  },
  logoutLabel: { en: ['Sign out — imagehub'], nl: ['Afmelden — imagehub'] },
};

export interface AuthServiceUrls {
  login: string;
  token: string;
  logout: string;
  /** The probe service of one image. */
  probe(identifier: string): string;
}

export function authServiceUrls(publicUrl: string): AuthServiceUrls {
  const base = publicUrl.replace(/\/+$/, '');
  return {
    login: `${base}${AUTH_PATHS.login}`,
    token: `${base}${AUTH_PATHS.token}`,
    logout: `${base}${AUTH_PATHS.logout}`,
    probe: (identifier) => `${base}${AUTH_PATHS.probe}${encodeIdentifier(identifier)}`,
  };
}

/** The probe service (with access, token and logout services) for one image's stable identifier. */
export function probeServiceFor(publicUrl: string, identifier: string, labels: Partial<AuthServiceLabels> = {}): AuthProbeService2 {
  const l = { ...DEFAULT_AUTH_LABELS, ...labels };
  const urls = authServiceUrls(publicUrl);
  return {
    id: urls.probe(identifier),
    type: 'AuthProbeService2',
    service: [
      {
        id: urls.login,
        type: 'AuthAccessService2',
        profile: 'active',
        label: l.label,
        heading: l.heading,
        note: l.note,
        confirmLabel: l.confirmLabel,
        service: [
          { id: urls.token, type: 'AuthAccessTokenService2', errorHeading: l.errorHeading, errorNote: l.errorNote },
          { id: urls.logout, type: 'AuthLogoutService2', label: l.logoutLabel },
        ],
      },
    ],
  };
}

/** Identifiers are URL-safe by construction; `:` stays readable as in every other imagehub URL. */
function encodeIdentifier(identifier: string): string {
  return encodeURIComponent(identifier).replace(/%3A/gi, ':');
}

// ---------------------------------------------------------------------------------------------------------------
// Signed values: the session cookie and the access token

type Domain = 'cookie' | 'token';

export type VerifyFailure = 'missing' | 'malformed' | 'signature' | 'expired';
export type Verification = { valid: true; issuedAt: Date; expiresAt: Date } | { valid: false; reason: VerifyFailure };

/** Longer than anything we sign: a bound on the work an attacker's value can cause. */
const MAX_SIGNED_LENGTH = 512;
const SIGNED_VALUE = /^([A-Za-z0-9_-]{1,400})\.([A-Za-z0-9_-]{43})$/;

/** A per-domain key, so the same signing key never signs two kinds of value alike. */
function domainKey(signingKey: string, domain: Domain): Buffer {
  if (signingKey.length === 0) throw new Error('the auth signing key is empty');
  return createHmac('sha256', signingKey).update(`imagehub auth v1 ${domain}`).digest();
}

function sign(signingKey: string, domain: Domain, issuedAt: Date, expiresAt: Date): string {
  const payload = Buffer.from(
    JSON.stringify({ iat: Math.floor(issuedAt.getTime() / 1000), exp: Math.floor(expiresAt.getTime() / 1000), n: randomBytes(12).toString('base64url') }),
  ).toString('base64url');
  const mac = createHmac('sha256', domainKey(signingKey, domain)).update(payload).digest('base64url');
  return `${payload}.${mac}`;
}

function verify(signingKey: string, domain: Domain, value: string | undefined, now: Date): Verification {
  if (!value) return { valid: false, reason: 'missing' };
  const match = value.length <= MAX_SIGNED_LENGTH ? SIGNED_VALUE.exec(value) : null;
  if (!match) return { valid: false, reason: 'malformed' };
  const [, payload, mac] = match as unknown as [string, string, string];
  const expected = createHmac('sha256', domainKey(signingKey, domain)).update(payload).digest();
  const given = Buffer.from(mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { valid: false, reason: 'signature' };
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { valid: false, reason: 'malformed' };
  }
  if (typeof claims !== 'object' || claims === null) return { valid: false, reason: 'malformed' };
  const { iat, exp } = claims as { iat?: unknown; exp?: unknown };
  if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(exp)) return { valid: false, reason: 'malformed' };
  const expiresAt = new Date((exp as number) * 1000);
  if (expiresAt.getTime() <= now.getTime()) return { valid: false, reason: 'expired' };
  return { valid: true, issuedAt: new Date((iat as number) * 1000), expiresAt };
}

export function signAccessCookie(signingKey: string, times: { issuedAt: Date; expiresAt: Date }): string {
  return sign(signingKey, 'cookie', times.issuedAt, times.expiresAt);
}

export function verifyAccessCookie(signingKey: string, value: string | undefined, now: Date): Verification {
  return verify(signingKey, 'cookie', value, now);
}

export function issueAccessToken(signingKey: string, times: { expiresAt: Date; issuedAt?: Date }): string {
  return sign(signingKey, 'token', times.issuedAt ?? new Date(), times.expiresAt);
}

export function verifyAccessToken(signingKey: string, token: string | undefined, now: Date): Verification {
  return verify(signingKey, 'token', token, now);
}

// ---------------------------------------------------------------------------------------------------------------
// Reading requests

/**
 * Every `imagehub-access` value in Cookie headers (a browser may send several, e.g. for different paths), in
 * order. Tolerates spaces, empty pairs, quoted values and other cookies' odd contents.
 */
export function accessCookiesFrom(cookieHeader: string | readonly string[] | undefined): string[] {
  if (cookieHeader === undefined) return [];
  const headers = typeof cookieHeader === 'string' ? [cookieHeader] : cookieHeader;
  const values: string[] = [];
  for (const header of headers) {
    for (const pair of header.split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0 || pair.slice(0, eq).trim() !== ACCESS_COOKIE) continue;
      let value = pair.slice(eq + 1).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      if (value) values.push(value);
    }
  }
  return values;
}

/** The first `imagehub-access` value of a Cookie header, if any. */
export function accessCookieFrom(cookieHeader: string | readonly string[] | undefined): string | undefined {
  return accessCookiesFrom(cookieHeader)[0];
}

/**
 * The session cookie's verdict for a request: valid if any `imagehub-access` cookie verifies; otherwise the reason
 * of the first one (`missing` when there is none). `cookies` is API Gateway payload 2.0's `event.cookies`, which
 * carries the cookies there instead of the Cookie header.
 */
export function verifyRequestCookie(
  headers: Record<string, string | undefined>,
  signingKey: string,
  now: Date,
  cookies: readonly string[] = [],
): Verification {
  const values = [...accessCookiesFrom(headers.cookie), ...accessCookiesFrom(cookies)];
  let first: Verification | undefined;
  for (const value of values) {
    const result = verifyAccessCookie(signingKey, value, now);
    if (result.valid) return result;
    first ??= result;
  }
  return first ?? { valid: false, reason: 'missing' };
}

/**
 * True when the request carries a valid session cookie: what the Image API asks before answering beyond the
 * public limit. Header names are lower case; pass API Gateway's `event.cookies` as `cookies`.
 */
export function isAuthorised(headers: Record<string, string | undefined>, signingKey: string, now: Date, cookies?: readonly string[]): boolean {
  return verifyRequestCookie(headers, signingKey, now, cookies).valid;
}

/** The token of an `Authorization: Bearer …` header, if any. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = authorization ? /^\s*Bearer\s+([^\s]+)\s*$/i.exec(authorization) : null;
  return match?.[1];
}

/**
 * True for a plain http(s) origin (`https://example.org`, `http://localhost:8080`): what postMessage may target.
 * No path, query, fragment, credentials or trailing slash; `null` and other schemes are refused.
 */
export function isPlainOrigin(value: string | undefined): value is string {
  if (!value || value.length > 300) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
}

export function parseSessionSeconds(hours: string | undefined): number {
  const value = hours?.trim() ? Number(hours) : DEFAULT_SESSION_HOURS;
  if (!Number.isFinite(value) || value <= 0 || value > 24 * 30) {
    throw new Error(`invalid configuration: IMAGEHUB_AUTH_SESSION_HOURS must be a number of hours between 0 and 720, got "${hours}"`);
  }
  return Math.round(value * 3600);
}

// ---------------------------------------------------------------------------------------------------------------
// Probe results and token messages

export interface ProbeSubstitute {
  id: string;
  type: 'Image';
  format: string;
  width: number;
  height: number;
  label?: LanguageMap;
  service?: { id: string; type: 'ImageService3'; profile: 'level2' }[];
}

export interface AuthProbeResult2 {
  '@context': typeof AUTH2_CONTEXT;
  type: 'AuthProbeResult2';
  status: 200 | 401 | 404;
  substitute?: ProbeSubstitute[];
  heading?: LanguageMap;
  note?: LanguageMap;
}

export function probeResult(result: { status: 200 | 401 | 404; substitute?: ProbeSubstitute[]; heading?: LanguageMap; note?: LanguageMap }): AuthProbeResult2 {
  return {
    '@context': AUTH2_CONTEXT,
    type: 'AuthProbeResult2',
    status: result.status,
    // A substitute only stands in for what is denied.
    ...(result.status === 401 && result.substitute?.length ? { substitute: result.substitute } : {}),
    ...(result.heading ? { heading: result.heading } : {}),
    ...(result.note ? { note: result.note } : {}),
  };
}

export type TokenErrorProfile = 'invalidRequest' | 'invalidOrigin' | 'missingAspect' | 'invalidAspect' | 'expiredAspect' | 'unavailable';

export interface AuthAccessToken2 {
  '@context': typeof AUTH2_CONTEXT;
  type: 'AuthAccessToken2';
  accessToken: string;
  expiresIn: number;
  messageId: string;
}

export interface AuthAccessTokenError2 {
  '@context': typeof AUTH2_CONTEXT;
  type: 'AuthAccessTokenError2';
  profile: TokenErrorProfile;
  heading?: LanguageMap;
  note?: LanguageMap;
  messageId: string;
}

export type TokenMessage = AuthAccessToken2 | AuthAccessTokenError2;

export function accessTokenMessage(accessToken: string, expiresIn: number, messageId: string): AuthAccessToken2 {
  return { '@context': AUTH2_CONTEXT, type: 'AuthAccessToken2', accessToken, expiresIn, messageId };
}

export const TOKEN_ERROR_TEXTS: Record<TokenErrorProfile, { heading: LanguageMap; note: LanguageMap }> = {
  invalidRequest: {
    heading: { en: ['Invalid request'], nl: ['Ongeldig verzoek'] },
    note: { en: ['The viewer asked for a token without a message id.'], nl: ['De viewer vroeg een token zonder berichtnummer.'] },
  },
  invalidOrigin: {
    heading: { en: ['Invalid origin'], nl: ['Ongeldige herkomst'] },
    note: { en: ['The viewer did not give a valid web origin.'], nl: ['De viewer gaf geen geldige webherkomst op.'] },
  },
  missingAspect: {
    heading: { en: ['Not signed in'], nl: ['Niet aangemeld'] },
    // Also what a browser that blocks third-party cookies shows after a successful sign-in: say so, or staff loop.
    note: {
      en: ['Sign in with the staff password to see this image in full. Signed in already? Then this browser blocks the sign-in cookie for this site inside the viewer (third-party cookies): allow cookies for it, or open the image on its own site.'],
      nl: ['Meld u aan met het wachtwoord voor medewerkers om deze afbeelding volledig te zien. Al aangemeld? Dan blokkeert deze browser het aanmeldcookie van deze site in de viewer (cookies van derden): sta cookies voor die site toe, of open de afbeelding op haar eigen site.'],
    },
  },
  invalidAspect: {
    heading: { en: ['Sign-in not recognised'], nl: ['Aanmelding niet herkend'] },
    note: { en: ['Your sign-in is no longer valid. Please sign in again.'], nl: ['Uw aanmelding is niet meer geldig. Meld u opnieuw aan.'] },
  },
  expiredAspect: {
    heading: { en: ['Session expired'], nl: ['Sessie verlopen'] },
    note: { en: ['Your session has expired. Please sign in again.'], nl: ['Uw sessie is verlopen. Meld u opnieuw aan.'] },
  },
  unavailable: {
    heading: { en: ['Sign-in unavailable'], nl: ['Aanmelden niet beschikbaar'] },
    note: { en: ['Signing in is not possible right now. Please try again later.'], nl: ['Aanmelden is nu niet mogelijk. Probeer het later opnieuw.'] },
  },
};

export function accessTokenError(profile: TokenErrorProfile, messageId: string): AuthAccessTokenError2 {
  return { '@context': AUTH2_CONTEXT, type: 'AuthAccessTokenError2', profile, ...TOKEN_ERROR_TEXTS[profile], messageId };
}

// ---------------------------------------------------------------------------------------------------------------
// HTML pages: self-contained (no external assets), every value escaped, scripts and styles allowed by hash only

export interface HtmlPage {
  html: string;
  /** The page's Content-Security-Policy: its own inline style and script by SHA-256 hash, nothing else. */
  contentSecurityPolicy: string;
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON safe inside a `<script>` element: no `</script>`, no `<!--`, no line separators. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const STYLE = [
  'body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}',
  'h1{font-size:1.4rem}p.nl,span.nl{color:#444}label{display:block;font-weight:600;margin-top:1rem}',
  'input[type=password]{font-size:1rem;padding:.4rem;width:100%;max-width:20rem;box-sizing:border-box}',
  'button{font-size:1rem;padding:.4rem 1rem;margin-top:1rem}',
  '.error{border-left:4px solid #b00020;padding:.2rem .8rem;background:#fdecee}',
].join('');

function hash(source: string): string {
  return `'sha256-${createHash('sha256').update(source, 'utf8').digest('base64')}'`;
}

function page(options: { title: string; main: string; script?: string; framable?: boolean }): HtmlPage {
  const csp = [
    "default-src 'none'",
    `style-src ${hash(STYLE)}`,
    options.script ? `script-src ${hash(options.script)}` : "script-src 'none'",
    "form-action 'self'",
    "base-uri 'none'",
    // The token page lives in the viewer's hidden iframe; every other page refuses framing (clickjacking).
    ...(options.framable ? [] : ["frame-ancestors 'none'"]),
  ].join('; ');
  const html = [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>${escapeHtml(options.title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    options.main,
    options.script ? `<script>${options.script}</script>` : '',
    '</body>',
    '</html>',
    '',
  ].join('\n');
  return { html, contentSecurityPolicy: csp };
}

/** Both languages of one text: English first, Dutch after it (marked `lang="nl"`). */
function bilingual(tag: 'h1' | 'p', en: string, nl: string, className?: string): string {
  const cls = className ? ` class="${className}"` : '';
  return `<${tag}${cls}>${escapeHtml(en)}</${tag}>\n<${tag} lang="nl" class="nl${className ? ` ${className}` : ''}">${escapeHtml(nl)}</${tag}>`;
}

/** The access service: a form asking for the staff password. */
export function loginPage(options: { origin?: string; error?: { en: string; nl: string } } = {}): HtmlPage {
  const origin = isPlainOrigin(options.origin) ? options.origin : undefined;
  const main = [
    '<main>',
    bilingual('h1', 'Staff login — imagehub', 'Aanmelden voor medewerkers — imagehub'),
    origin
      ? bilingual('p', `The viewer at ${origin} asks you to sign in to see images in full.`, `De viewer op ${origin} vraagt u zich aan te melden om afbeeldingen volledig te zien.`)
      : bilingual('p', 'Sign in to see images in full.', 'Meld u aan om afbeeldingen volledig te zien.'),
    options.error ? `<div class="error" role="alert">\n${bilingual('p', options.error.en, options.error.nl)}\n</div>` : '',
    '<form method="post" action="login">',
    origin ? `<input type="hidden" name="origin" value="${escapeHtml(origin)}">` : '',
    '<label for="password">Staff password <span lang="nl" class="nl">/ Wachtwoord voor medewerkers</span></label>',
    `<input type="password" id="password" name="password" autocomplete="current-password" required autofocus${options.error ? ' aria-invalid="true"' : ''}>`,
    '<button type="submit">Sign in / Aanmelden</button>',
    '</form>',
    '</main>',
  ].join('\n');
  return page({ title: 'Staff login — imagehub', main });
}

/**
 * After a successful login: closes itself (the viewer waits for this tab to close), with a button as a fallback
 * for browsers that only let a user's click close a tab.
 */
export function signedInPage(): HtmlPage {
  const script = "document.getElementById('close').addEventListener('click',function(){window.close();});window.close();";
  const main = [
    '<main>',
    bilingual('h1', 'You are signed in', 'U bent aangemeld'),
    bilingual('p', 'You can close this tab and return to the viewer.', 'U kunt dit tabblad sluiten en teruggaan naar de viewer.'),
    '<button type="button" id="close">Close this tab / Sluit dit tabblad</button>',
    '</main>',
  ].join('\n');
  return page({ title: 'Signed in — imagehub', main, script });
}

/** The logout service's page: the cookie is cleared by the response that carries it. */
export function signedOutPage(): HtmlPage {
  const script = "document.getElementById('close').addEventListener('click',function(){window.close();});";
  const main = [
    '<main>',
    bilingual('h1', 'You are signed out', 'U bent afgemeld'),
    bilingual('p', 'Images are shown as to the public again. You can close this tab.', 'Afbeeldingen worden weer getoond zoals aan het publiek. U kunt dit tabblad sluiten.'),
    '<button type="button" id="close">Close this tab / Sluit dit tabblad</button>',
    '</main>',
  ].join('\n');
  return page({ title: 'Signed out — imagehub', main, script });
}

/** The access token service's answer: posts the message to the parent window, only ever to `origin`. */
export function tokenPage(message: TokenMessage, origin: string): HtmlPage {
  if (!isPlainOrigin(origin)) throw new Error(`not a plain http(s) origin: ${origin}`);
  const script = `window.parent.postMessage(${scriptJson(message)}, ${scriptJson(origin)});`;
  return page({ title: 'imagehub access token', main: '', script, framable: true });
}

/** A request the services cannot answer at all (no usable origin to post to): shown, never posted. */
export function problemPage(heading: { en: string; nl: string }, note: { en: string; nl: string }): HtmlPage {
  const main = ['<main>', bilingual('h1', heading.en, heading.nl), bilingual('p', note.en, note.nl), '</main>'].join('\n');
  return page({ title: `${heading.en} — imagehub`, main });
}
