/**
 * The imaging layer: sharp's linux-arm64 binaries and the WebAssembly decoders, built from the npm registry by
 * layers/build-imaging-layer.ts (run by the CDK app before synthesis).
 */
import { Architecture, Code, LayerVersion, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export class ImagingLayer extends Construct {
  readonly layer: LayerVersion;

  constructor(scope: Construct, id: string, props: { directory: string }) {
    super(scope, id);
    if (!existsSync(join(props.directory, 'nodejs', 'node_modules', 'sharp'))) {
      throw new Error(`${props.directory} holds no built layer: run \`node --import tsx layers/build-imaging-layer.ts\``);
    }
    this.layer = new LayerVersion(this, 'Layer', {
      code: Code.fromAsset(props.directory),
      compatibleRuntimes: [Runtime.NODEJS_22_X],
      compatibleArchitectures: [Architecture.ARM_64],
      description: 'imagehub imaging: sharp (libvips) for linux-arm64, OpenJPEG and libheif WebAssembly decoders',
    });
  }
}
