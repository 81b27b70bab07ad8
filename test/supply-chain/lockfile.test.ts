/**
 * The supply chain, as far as it can be proven offline: the lockfile is committed and is what `npm ci` installs;
 * every dependency is a registry package on a semver range (no git URLs, tarballs, `*` or `latest`); every locked
 * package carries a sha512 integrity hash, so a tampered tarball fails the install; the installed tree satisfies
 * every declared range (`npm ls`). Advisories are `npm run audit` (test/supply-chain/audit.ts), in CI.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/processes.ts';

interface Manifest {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}
interface LockEntry extends Manifest {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  inBundle?: boolean;
}

const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Manifest;
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { lockfileVersion: number; packages: Record<string, LockEntry> };
const declared = { ...manifest.dependencies, ...manifest.devDependencies };

describe('supply chain', () => {
  it('commits the lockfile, in step with package.json', () => {
    expect(execFileSync('git', ['ls-files', '--error-unmatch', 'package-lock.json'], { cwd: ROOT, encoding: 'utf8' }).trim()).toBe('package-lock.json');
    expect(lock.lockfileVersion).toBeGreaterThanOrEqual(3);
    expect(lock.packages['']?.dependencies).toEqual(manifest.dependencies);
    expect(lock.packages['']?.devDependencies).toEqual(manifest.devDependencies);
  });

  it('declares every dependency as a registry package on a bounded semver range', () => {
    // ^1.2.3, ~1.2.3 or 1.2.3 (and ~5.9): a range `npm ci` resolves from the lockfile and `npm install` cannot widen
    // past a major version.
    const bounded = /^[\^~]?\d+(\.\d+){0,2}(-[\w.]+)?$/;
    const loose = Object.entries(declared).filter(([, range]) => !bounded.test(range));
    expect(loose).toEqual([]);
  });

  it('locks every package with a sha512 integrity hash, from the npm registry', () => {
    const entries = Object.entries(lock.packages).filter(([path, entry]) => path !== '' && !entry.link && !entry.inBundle);
    expect(entries.length).toBeGreaterThan(100);
    const unhashed = entries.filter(([, entry]) => !entry.integrity?.startsWith('sha512-')).map(([path]) => path);
    expect(unhashed).toEqual([]);
    const elsewhere = entries.filter(([, entry]) => entry.resolved !== undefined && !entry.resolved.startsWith('https://registry.npmjs.org/')).map(([path]) => path);
    expect(elsewhere).toEqual([]);
  });

  it('has installed exactly a tree that satisfies every declared range (npm ls: nothing missing, invalid or extraneous)', () => {
    const ls = spawnSync('npm', ['ls', '--all', '--json'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const tree = JSON.parse(ls.stdout) as { problems?: string[]; dependencies?: Record<string, { version: string }> };
    expect(tree.problems ?? []).toEqual([]);
    expect(ls.status).toBe(0);
    for (const name of Object.keys(declared)) expect(tree.dependencies?.[name]?.version, name).toBe(lock.packages[`node_modules/${name}`]?.version);
  });
});
