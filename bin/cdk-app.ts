/**
 * The CDK app (`npx cdk synth`, `npx cdk deploy`). Configuration is CDK context (`-c key=value` or cdk.json),
 * validated by lib/config.ts, which fails the synth with every problem listed; each key is in the README, "Deploy
 * to AWS". `-c stage=dev` deploys a stack built to be torn down.
 */
import { App } from 'aws-cdk-lib';
import { ensureImagingLayer } from '../layers/build-imaging-layer.ts';
import { ContextError, stackPropsFromContext } from '../lib/config.ts';
import { ImagehubStack } from '../lib/imagehub-stack.ts';

const app = new App();
let props: ReturnType<typeof stackPropsFromContext>;
try {
  props = stackPropsFromContext((key) => app.node.tryGetContext(key), Object.keys(app.node.getAllContext()));
} catch (error) {
  if (!(error instanceof ContextError)) throw error;
  // The message is the whole story: no stack trace into the CDK app.
  console.error(error.message);
  process.exit(1);
}

ensureImagingLayer();

new ImagehubStack(app, props.stackName, {
  ...props,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  description: `imagehub: serverless IIIF for museum collections (${props.stage ?? 'prod'})`,
});
