/**
 * The web app's pages (local only, `npm start`): `/` (institutions, their objects, search), `/object/{objectId}`
 * (metadata, Mirador or Universal Viewer, links), `/upload` (drag and drop into the ingest bucket) and `/activity`.
 * Plain HTML rendered here from the API's data (api.ts), a little vanilla JavaScript on the upload page, no external
 * URL anywhere: everything works offline. Every value put into HTML goes through {@link escapeHtml}.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { escapeHtml as e } from '../viewer-pages.ts';
import {
  activity,
  harvests,
  answerApi,
  BadRequest,
  decode,
  institutions,
  NotFound,
  objectPage,
  objectView,
  search,
  type ObjectCard,
  type WebDeps,
} from './api.ts';

const STYLE = `
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d232a;background:#f6f5f2}
header{display:flex;gap:1.5em;align-items:center;padding:.7em 1.5em;background:#1d232a;color:#fff}header a{color:#fff;text-decoration:none}
header .brand{font-weight:700;font-size:1.15em}header nav{display:flex;gap:1em;flex:1}header form{display:flex;gap:.3em}
main{padding:1.2em 1.5em;max-width:1400px;margin:auto}h1{font-size:1.4em;margin:.2em 0 .6em}
input[type=search],input[type=text]{padding:.35em .5em;border:1px solid #999;border-radius:4px;font:inherit}
button{font:inherit;padding:.35em .8em;border-radius:4px;border:1px solid #555;background:#fff;cursor:pointer}
.chips{display:flex;flex-wrap:wrap;gap:.5em;margin-bottom:1em}.chips a{padding:.25em .7em;border-radius:1em;background:#e3e0d8;color:#1d232a;text-decoration:none}
.chips a.on{background:#1d232a;color:#fff}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:1em}
.card{background:#fff;border-radius:6px;overflow:hidden;box-shadow:0 1px 3px #0002;text-decoration:none;color:inherit;display:flex;flex-direction:column}
.card img{width:100%;height:170px;object-fit:contain;background:#ddd}.card .no-image{height:170px;background:#ddd}
.card span{padding:.5em .6em;font-size:.92em}.card small{display:block;color:#666}
table{border-collapse:collapse;width:100%;background:#fff}td,th{text-align:left;vertical-align:top;padding:.35em .6em;border-bottom:1px solid #e5e2da}
th{width:14em;color:#555;font-weight:600}
.object{display:grid;grid-template-columns:minmax(0,3fr) minmax(18em,2fr);gap:1.2em}
.viewer iframe{width:100%;height:72vh;border:0;background:#000;display:block}.viewer p{margin:.4em 0}
.links li{margin:.2em 0;word-break:break-all}
#drop{border:3px dashed #999;border-radius:8px;padding:2.5em;text-align:center;background:#fff}#drop.over{border-color:#1d6fb8;background:#eef5fc}
.files li{display:grid;grid-template-columns:minmax(10em,2fr) 10em minmax(10em,3fr);gap:1em;align-items:center;padding:.3em 0;border-bottom:1px solid #e5e2da}
progress{width:100%}.ready{color:#17692b;font-weight:600}.failed,.refused{color:#a3161a;font-weight:600}.processing,.queued,.uploading{color:#8a5a00}
.muted{color:#666}.error{background:#fde8e8;padding:.8em;border-radius:4px}
@media (max-width:900px){.object{grid-template-columns:1fr}}
`;

/** An inline SVG favicon: no request for /favicon.ico. */
const ICON = 'data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22 viewBox=%220 0 16 16%22%3E%3Crect width=%2216%22 height=%2216%22 rx=%223%22 fill=%22%231d232a%22/%3E%3C/svg%3E';

function layout(title: string, body: string, query = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(title)} · imagehub</title>
<link rel="icon" href="${ICON}">
<style>${STYLE}</style>
</head>
<body>
<header>
<a class="brand" href="/">imagehub</a>
<nav><a href="/">Collections</a><a href="/upload">Upload</a><a href="/activity">Activity</a><a href="/iiif/presentation/3/collection/top.json">IIIF collection</a></nav>
<form action="/" method="get" role="search"><input type="search" name="q" placeholder="Title, creator, object number" value="${e(query)}" aria-label="Search"><button>Search</button></form>
</header>
<main>
${body}
</main>
</body>
</html>
`;
}

function cards(objects: ObjectCard[]): string {
  return `<div class="grid">${objects
    .map((o) => `<a class="card" href="${e(o.page)}">${o.thumbnail ? `<img src="${e(o.thumbnail)}" alt="" loading="lazy">` : '<div class="no-image"></div>'}<span>${e(o.label)}<small>${e(o.objectId)}</small></span></a>`)
    .join('\n')}</div>`;
}

async function homePage(deps: WebDeps, query: URLSearchParams): Promise<string> {
  const q = (query.get('q') ?? '').trim();
  const found = await institutions(deps);
  if (q) {
    const results = await search(deps, q);
    return layout(`Search: ${q}`, `<h1>${results.length === 0 ? 'Nothing found' : `${results.length}${results.length >= 100 ? '+' : ''} found`} for “${e(q)}”</h1>${cards(results)}`, q);
  }
  if (found.length === 0) {
    return layout('Collections', `<h1>No objects yet</h1>
<p>An object appears here once its LIDO record is loaded and at least one of its images is ingested:</p>
<ol><li>load records: <code>npx imagehub harvest --file records.xml</code> (or <code>--oai URL</code>)</li>
<li>upload images on the <a href="/upload">upload page</a> (e.g. folder <code>mskgent.be</code>, file <code>1829-A.jpg</code> → object <code>mskgent.be:1829-A</code>), or drop them into the data folder's <code>inbox/</code>.</li></ol>`);
  }
  const chosen = found.find((i) => i.institutionKey === query.get('institution')) ?? found[0]!;
  const page = await objectPage(deps, chosen.institutionKey, query.get('from') ?? undefined);
  const chips = found
    .map((i) => `<a href="/?institution=${e(encodeURIComponent(i.institutionKey))}"${i === chosen ? ' class="on"' : ''}>${e(i.label)} (${i.objects})</a>`)
    .join('');
  const next = page.next ? `<p><a href="/?institution=${e(encodeURIComponent(chosen.institutionKey))}&amp;from=${e(encodeURIComponent(page.next))}">Next page →</a></p>` : '';
  return layout('Collections', `<div class="chips">${chips}</div><h1>${e(chosen.label)}</h1>${cards(page.objects)}${next}`);
}

async function objectPageHtml(deps: WebDeps, objectId: string, query: URLSearchParams): Promise<string> {
  const view = await objectView(deps, objectId);
  const uv = query.get('viewer') === 'uv';
  const lang = query.get('lang') === 'nl' ? 'nl' : 'en';
  const manifest = encodeURIComponent(view.manifest);
  const viewer = view.images === 0
    ? '<p class="error">No image of this object is ready yet: the viewer appears once one is ingested.</p>'
    : `<iframe id="viewer" title="${uv ? 'Universal Viewer' : 'Mirador'}" allowfullscreen src="${e(uv ? `/viewer/uv.html?manifest=${manifest}` : `/viewer/mirador.html?manifest=${manifest}&lang=${lang}`)}"></iframe>
<p>${uv ? `Universal Viewer · <a href="?viewer=mirador">Mirador</a>` : `Mirador (${lang === 'en' ? `English · <a href="?lang=nl">Nederlands</a>` : `Nederlands · <a href="?lang=en">English</a>`}) · <a href="?viewer=uv">Universal Viewer</a>`}</p>`;
  const rows = [
    ['Object id', view.objectId],
    ...view.metadata.map((m) => [m.label, m.value]),
  ].map(([label, value]) => `<tr><th>${e(label!)}</th><td>${e(value!)}</td></tr>`).join('\n');
  const links = [
    `<li><a href="${e(view.manifest)}">IIIF manifest (Presentation 3)</a></li>`,
    `<li><a href="${e(view.manifestV2)}">IIIF manifest (Presentation 2.1)</a></li>`,
    ...view.imageList.flatMap((image, n) => [
      `<li>Image ${n + 1} (${image.width} × ${image.height}): <a href="${e(image.info3)}">info.json (Image API 3)</a> · <a href="${e(image.info2)}">info.json (2.1)</a></li>`,
    ]),
    ...(view.lido ? [`<li><a href="${e(view.lido)}">LIDO record (OAI-PMH GetRecord)</a></li>`] : []),
    ...(view.lidoXml ? [`<li><a href="${e(view.lidoXml)}">LIDO record (as mirrored)</a></li>`] : []),
  ].join('\n');
  return layout(view.label, `<h1>${e(view.label)}</h1>
<div class="object"><section class="viewer">${viewer}</section>
<section><table id="metadata">${rows}</table><h2>Links</h2><ul class="links">${links}</ul></section></div>`);
}

async function activityPage(deps: WebDeps): Promise<string> {
  const entries = await activity(deps, 100);
  const sources = await harvests(deps);
  const harvestRows = sources
    .map((h) => `<tr><td>${e(h.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'))}</td><td class="${e(h.status)}">${e(h.status)}</td><td>${e(h.source)}</td><td>${e(h.summary)}</td></tr>`)
    .join('\n');
  const rows = entries
    .map((a) => `<tr><td>${e(a.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'))}</td><td class="${e(a.status)}">${e(a.status)}</td><td>${e(a.sourceKey)}</td><td>${a.identifier ? `<a href="/iiif/3/${e(encodeURIComponent(a.identifier))}/info.json">${e(a.identifier)}</a>` : ''}</td><td>${e(a.reason ?? '')}</td></tr>`)
    .join('\n');
  return layout('Activity', `<h1>Recent ingests</h1>
${entries.length === 0 ? '<p class="muted">Nothing ingested yet.</p>' : `<table id="activity"><thead><tr><th>When (UTC)</th><th>Status</th><th>Uploaded as</th><th>Identifier</th><th>Reason</th></tr></thead><tbody>${rows}</tbody></table>`}
<h1>Harvests</h1>
${sources.length === 0 ? '<p class="muted">No harvest yet: load records with <code>npx imagehub harvest --file … | --oai URL</code>.</p>' : `<table id="harvests"><thead><tr><th>Latest (UTC)</th><th>Status</th><th>Source</th><th>Run</th></tr></thead><tbody>${harvestRows}</tbody></table>`}`);
}

const UPLOAD_SCRIPT = `
const drop = document.getElementById('drop');
const input = document.getElementById('files');
const folder = document.getElementById('folder');
const list = document.getElementById('list');
const access = document.getElementById('access');
const cell = (text, cls) => { const el = document.createElement('span'); el.textContent = text; if (cls) el.className = cls; return el; };
function keyFor(name) {
  const prefix = folder.value.trim().replace(/^\\/+|\\/+$/g, '');
  return (prefix ? prefix + '/' : '') + name;
}
function put(key, file, progress) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', '/api/upload/' + key.split('/').map(encodeURIComponent).join('/') + (access.value ? '?access=' + encodeURIComponent(access.value) : ''));
    xhr.upload.onprogress = (event) => { if (event.lengthComputable) { progress.max = event.total; progress.value = event.loaded; } };
    xhr.onload = () => { let body = {}; try { body = JSON.parse(xhr.responseText); } catch (error) { body = { error: xhr.responseText }; } resolve({ status: xhr.status, body }); };
    xhr.onerror = () => resolve({ status: 0, body: { error: 'the upload did not reach imagehub' } });
    if (file.type) xhr.setRequestHeader('Content-Type', file.type);
    xhr.send(file);
  });
}
async function poll(statusUrl, state) {
  const until = Date.now() + 15 * 60 * 1000;
  while (Date.now() < until) {
    try {
      const response = await fetch(statusUrl, { cache: 'no-store' });
      const body = await response.json();
      if (!response.ok) return { status: 'failed', reason: body.error || response.statusText };
      state.textContent = body.status;
      state.className = body.status;
      if (body.status === 'ready' || body.status === 'failed') return body;
    } catch (error) {
      state.textContent = 'waiting for imagehub';
    }
    await new Promise((r) => setTimeout(r, 700));
  }
  return { status: 'unknown', reason: 'still not ready after 15 minutes: see the activity page' };
}
async function upload(file) {
  const key = keyFor(file.name);
  const li = document.createElement('li');
  const progress = document.createElement('progress');
  progress.value = 0;
  const state = cell('uploading', 'uploading');
  const detail = cell('');
  const name = cell(key);
  li.append(name, progress, detail);
  li.dataset.key = key;
  detail.append(state);
  list.append(li);
  const answer = await put(key, file, progress);
  if (answer.status !== 202) {
    state.textContent = 'failed';
    state.className = 'failed';
    detail.append(cell(' — ' + (answer.body.error || 'HTTP ' + answer.status)));
    li.dataset.status = 'failed';
    return;
  }
  progress.value = progress.max;
  state.textContent = 'queued';
  state.className = 'queued';
  const result = await poll(answer.body.status, state);
  li.dataset.status = result.status;
  li.dataset.identifier = answer.body.identifier;
  if (result.status === 'ready') {
    const link = document.createElement('a');
    link.href = '/iiif/3/' + encodeURIComponent(answer.body.identifier) + '/info.json';
    link.textContent = ' ' + answer.body.identifier;
    detail.append(' ', link);
  } else {
    detail.append(cell(' — ' + (result.reason || 'no reason given')));
  }
}
function take(files) { for (const file of files) upload(file); }
input.addEventListener('change', () => { take(input.files); input.value = ''; });
drop.addEventListener('dragover', (event) => { event.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (event) => { event.preventDefault(); drop.classList.remove('over'); take(event.dataTransfer.files); });
`;

function uploadPage(query: URLSearchParams): string {
  const folder = query.get('folder') ?? '';
  return layout('Upload', `<h1>Upload images</h1>
<p>Files go into the ingest bucket under <code>{folder}/{file name}</code>; the folder is conventionally the institution's domain, so
<code>mskgent.be</code> + <code>1829-A.jpg</code> becomes image <code>mskgent.be:1829-A</code>, the image of object <code>mskgent.be:1829-A</code> once its record is loaded.</p>
<p><label>Folder (institution) <input type="text" id="folder" value="${e(folder)}" placeholder="e.g. mskgent.be"></label></p>
<p><label>Access <select id="access">
<option value="">decided by the record's rights and the institution's default</option>
<option value="open">open: full resolution for everyone</option>
<option value="restricted-size">restricted-size: in copyright, limited size without a login</option>
<option value="private">private: not cleared for public use</option>
</select></label></p>
<div id="drop"><p>Drop image files here, or</p><input type="file" id="files" multiple accept="image/*,.tif,.tiff,.jp2,.jpf,.jpx,.heic,.heif"></div>
<ul class="files" id="list"></ul>
<script>${UPLOAD_SCRIPT}</script>`);
}

/** Answers `/`, `/object/…`, `/upload`, `/activity` and `/api/…`; false for any other path. */
export async function answerWeb(req: IncomingMessage, res: ServerResponse, url: URL, deps: WebDeps): Promise<boolean> {
  if (url.pathname.startsWith('/api/')) {
    await answerApi(req, res, url, deps);
    return true;
  }
  const object = /^\/object\/([^/]+)$/.exec(url.pathname);
  if (!object && !['/', '/upload', '/activity'].includes(url.pathname)) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
    return true;
  }
  let status = 200;
  let html: string;
  try {
    if (object) html = await objectPageHtml(deps, decode(object[1]!), url.searchParams);
    else if (url.pathname === '/upload') html = uploadPage(url.searchParams);
    else if (url.pathname === '/activity') html = await activityPage(deps);
    else html = await homePage(deps, url.searchParams);
  } catch (error) {
    if (!(error instanceof BadRequest || error instanceof NotFound)) throw error;
    status = error instanceof BadRequest ? 400 : 404;
    html = layout(status === 400 ? 'Bad request' : 'Not found', `<h1>${status === 400 ? 'Bad request' : 'Not found'}</h1><p class="error">${e(error.message)}</p>`);
  }
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': String(Buffer.byteLength(html)) });
  res.end(req.method === 'HEAD' ? undefined : html);
  return true;
}

