/**
 * The Presentation API: an HTTP API in front of the function that builds IIIF Presentation 3 (and 2.1) manifests
 * and collections from the metadata table. CloudFront sends `/iiif/presentation/*` to it (lib/cdn.ts).
 */
import { CfnOutput, Duration } from 'aws-cdk-lib';
import { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledgeApiFindings, acknowledgeFunctionFindings } from './grants.ts';
import { imagehubFunction } from './lambda-defaults.ts';

/**
 * A manifest is a handful of small reads and a JSON document: 1024 MB (about 0.6 vCPU) keeps the build in a few
 * milliseconds; a collection page of 500 objects is one query. 10 s bounds a slow table.
 */
export const PRESENTATION_API_DEFAULTS = { memoryMiB: 1024, timeout: Duration.seconds(10) } as const;

export interface PresentationApiProps {
  table: ITableV2;
  /** `https://{custom domain}` when there is one; otherwise the function uses the host CloudFront forwards. */
  publicUrl?: string;
  /** The harvest's metadataPrefix, for the GetRecord links in `seeAlso`. */
  metadataPrefix?: string;
  logRetention?: RetentionDays;
}

export class PresentationApi extends Construct {
  readonly api: HttpApi;
  readonly function: NodejsFunction;

  constructor(scope: Construct, id: string, props: PresentationApiProps) {
    super(scope, id);
    this.function = imagehubFunction(this, 'Function', {
      entry: 'functions/presentation/handler.ts',
      description: 'imagehub Presentation API: IIIF Presentation 3 and 2.1 manifests and collections from the mirror',
      memorySize: PRESENTATION_API_DEFAULTS.memoryMiB,
      timeout: PRESENTATION_API_DEFAULTS.timeout,
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      environment: {
        ...(props.publicUrl ? { IMAGEHUB_PUBLIC_URL: props.publicUrl } : {}),
        ...(props.metadataPrefix ? { OAI_METADATA_PREFIX: props.metadataPrefix } : {}),
        TABLE_NAME: props.table.tableName,
        POWERTOOLS_SERVICE_NAME: 'imagehub-presentation',
      },
    });
    props.table.grantReadData(this.function);
    acknowledgeFunctionFindings(this.function, { indexesOf: props.table });
    // Its only write: the read repair of an object summary (functions/store/objects.ts), items keyed OBJECT#….
    this.function.addToRolePolicy(new PolicyStatement({
      actions: ['dynamodb:PutItem'],
      resources: [props.table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['OBJECT#*'] } },
    }));

    this.api = new HttpApi(this, 'Api', {
      description: 'imagehub Presentation API (reached through CloudFront)',
      defaultIntegration: new HttpLambdaIntegration('Documents', this.function),
      createDefaultStage: true,
    });
    acknowledgeApiFindings(this.api);
    new CfnOutput(this, 'PresentationApiEndpoint', { value: this.api.apiEndpoint, description: 'Origin of the Presentation API (use the CDN URL)' });
  }
}
