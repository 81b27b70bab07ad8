/**
 * The viewer pages of `npm start`: `/viewer/mirador.html?manifest=URL[&lang=nl|en]` and
 * `/viewer/uv.html?manifest=URL`, each a small HTML page loading its viewer from `/viewers/…` (served from the
 * pinned bundles of viewer-assets.ts, never a CDN) and opening the manifest.
 */

export type ViewerLanguage = 'nl' | 'en';

export type ViewerPage = { status: 200; html: string } | { status: 400; message: string };

/** Text for HTML element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A value as a JavaScript literal inside an inline `<script>`: JSON, with `<`, `>`, `&` and the line separators
 * escaped so that no `</script>` or `<!--` can end or change the script element.
 */
export function scriptLiteral(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The `manifest` parameter, which must be an absolute http(s) URL. */
function manifestUrl(query: URLSearchParams): string | undefined {
  const value = query.get('manifest');
  if (!value) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

const USAGE = 'give the manifest as an absolute http(s) URL: ?manifest=https://…/manifest.json';

function page(title: string, head: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<style>html, body { margin: 0; height: 100%; overflow: hidden; } #viewer { position: absolute; inset: 0; }</style>
${head}
</head>
<body>
${body}
</body>
</html>
`;
}

export function miradorPage(query: URLSearchParams): ViewerPage {
  const manifest = manifestUrl(query);
  if (!manifest) return { status: 400, message: USAGE };
  const language: ViewerLanguage = query.get('lang') === 'en' ? 'en' : 'nl';
  const config = {
    id: 'viewer',
    language,
    availableLanguages: { nl: 'Nederlands', en: 'English' },
    windows: [{ manifestId: manifest }],
    window: { allowClose: false, allowMaximize: false },
    workspaceControlPanel: { enabled: false },
  };
  return {
    status: 200,
    html: page(
      `Mirador · ${manifest}`,
      '<script src="/viewers/mirador/mirador.min.js"></script>',
      `<div id="viewer"></div>
<script>window.viewer = Mirador.viewer(${scriptLiteral(config)});</script>`,
    ),
  };
}

export function uvPage(query: URLSearchParams): ViewerPage {
  const manifest = manifestUrl(query);
  if (!manifest) return { status: 400, message: USAGE };
  // UV.js loads its chunks, configs and locales from the folder it came from, /viewers/uv/umd/.
  return {
    status: 200,
    html: page(
      `Universal Viewer · ${manifest}`,
      '<link rel="stylesheet" href="/viewers/uv/uv.css">\n<script src="/viewers/uv/umd/UV.js"></script>',
      `<div id="viewer" class="uv"></div>
<script>window.viewer = UV.init('viewer', { manifest: ${scriptLiteral(manifest)}, embedded: true });</script>`,
    ),
  };
}
