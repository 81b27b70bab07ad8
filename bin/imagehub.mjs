#!/usr/bin/env node
/* global process */
// The `imagehub` CLI (package.json "bin"): runs the TypeScript sources through tsx, as `npm start` does.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../functions/cli/main.ts');
const io = { stdout: process.stdout, stderr: process.stderr, env: process.env };
process.exitCode = await runCli(process.argv.slice(2), io);
