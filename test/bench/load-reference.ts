/**
 * The load benchmark's reference (test/bench/load.bench.ts): a bare node:http server, in a process of its own, that
 * answers exactly the static URLs imagehub served (info.json documents and tiles, fetched from it beforehand) with
 * the same bytes and headers, from memory. No S3, no routing, no mapping: the floor of what a Node HTTP server on
 * this machine can do with those requests. Anything else is 404 (which the viewers count as an error).
 *
 * Usage: node --import tsx test/bench/load-reference.ts INDEX.json BLOB; prints `{"port":N}` once listening.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReferenceEntry {
  path: string;
  offset: number;
  length: number;
  headers: Record<string, string>;
}

const [indexFile, blobFile] = process.argv.slice(2);
if (!indexFile || !blobFile) throw new Error('usage: load-reference.ts INDEX.json BLOB');
const blob = readFileSync(blobFile);
const files = new Map<string, { headers: Record<string, string>; body: Buffer }>();
for (const entry of JSON.parse(readFileSync(indexFile, 'utf8')) as ReferenceEntry[]) {
  files.set(entry.path, { headers: { ...entry.headers, 'content-length': String(entry.length) }, body: blob.subarray(entry.offset, entry.offset + entry.length) });
}

const server = createServer((req, res) => {
  const file = files.get(new URL(req.url ?? '/', 'http://localhost').pathname);
  if (!file) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  if (file.headers.etag && req.headers['if-none-match'] === file.headers.etag) {
    res.writeHead(304, { etag: file.headers.etag }).end();
    return;
  }
  res.writeHead(200, file.headers).end(file.body);
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: (server.address() as AddressInfo).port })));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
