/** Synthesizes the stack the way `cdk synth` does, into a folder inside the project (so bundles resolve packages). */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureImagingLayer } from '../../layers/build-imaging-layer.ts';
import { ContextError, stackPropsFromContext } from '../../lib/config.ts';
import { ImagehubStack, type ImagehubStackProps } from '../../lib/imagehub-stack.ts';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface Synthesized {
  stack: ImagehubStack;
  template: Template;
  outdir: string;
}

/** `configure` runs on the app before synthesis (e.g. to add cdk-nag's validation plugin). */
export function synthesize(props: ImagehubStackProps = {}, configure?: (app: App) => void): Synthesized {
  ensureImagingLayer();
  const cache = join(PROJECT_ROOT, 'node_modules/.cache');
  mkdirSync(cache, { recursive: true }); // absent in a fresh clone
  const outdir = mkdtempSync(join(cache, 'imagehub-cdk-'));
  const app = new App({ outdir });
  const stack = new ImagehubStack(app, 'Test', { env: { account: '123456789012', region: 'eu-west-1' }, ...props });
  configure?.(app);
  app.synth();
  return { stack, template: Template.fromStack(stack), outdir };
}

/** stackPropsFromContext over a plain object, the way the CDK app hands it the context. */
export const fromContext = (context: Record<string, unknown>) => stackPropsFromContext((key) => context[key], Object.keys(context));

/** The problems lib/config.ts reports for a context; none for a valid one. */
export function contextProblems(context: Record<string, unknown>): readonly string[] {
  try {
    fromContext(context);
  } catch (error) {
    if (error instanceof ContextError) return error.problems;
    throw error;
  }
  return [];
}
