/**
 * The IIIF Authorization Flow 2.0 services (issue 8): an HTTP API in front of the function that answers everything
 * under `/iiif/auth/` — the staff login (access service), the access token service, the probe and logout.
 * CloudFront sends `/iiif/auth/*` to it uncached, with the access cookie and the Authorization header (lib/cdn.ts).
 *
 * Secrets. The design wants a staff password and an HMAC signing key, both random and generated at deploy time.
 * CloudFormation's GenerateSecretString generates exactly one key per secret (the rest of the JSON is a fixed
 * template), and a signing key written into a template would not be secret; so there are two generated secrets:
 *
 *   StaffPassword  {"password": "<24 letters and digits>"}   env IMAGEHUB_AUTH_PASSWORD_SECRET_ARN
 *   SigningKey     {"signingKey": "<64 letters and digits>"} env IMAGEHUB_AUTH_SIGNING_SECRET_ARN
 *
 * Reading both and merging the two objects gives the `{password, signingKey}` the functions expect. The split is also
 * least privilege: the Image API, which only verifies cookies, may read the signing key and never the password, and
 * ops can read (or hand out) the password without the key that mints sessions. Neither rotates by itself: ops set a
 * new password with `aws secretsmanager put-secret-value --secret-id <StaffPasswordSecretArn> --secret-string
 * '{"password":"…"}'`; a new signing key (same command on the other secret) ends every session and token at once.
 * The functions cache what they read, so a change is in force within their cache lifetime / next cold start.
 */
import { CfnOutput, Duration, Validations } from 'aws-cdk-lib';
import { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledgeFunctionFindings } from './grants.ts';
import { imagehubFunction } from './lambda-defaults.ts';

/** The environment variables naming the two secrets (see the module comment). */
export const AUTH_SECRET_ENV = {
  password: 'IMAGEHUB_AUTH_PASSWORD_SECRET_ARN',
  signingKey: 'IMAGEHUB_AUTH_SIGNING_SECRET_ARN',
} as const;

/** A login, a token, a probe: one small item read and an HMAC. 512 MB keeps cold starts short; 10 s bounds a slow table. */
export const AUTH_API_DEFAULTS = { memoryMiB: 512, timeout: Duration.seconds(10) } as const;

export interface AuthApiProps {
  table: ITableV2;
  /** `https://{custom domain}` when there is one; otherwise the function uses the host CloudFront forwards. */
  publicUrl?: string;
  /** IMAGEHUB_ACCESS_* and IMAGEHUB_AUTH_* settings (IMAGEHUB_AUTH_SESSION_HOURS: how long a login lasts). */
  settings?: Record<string, string>;
  logRetention?: RetentionDays;
}

export class AuthApi extends Construct {
  readonly api: HttpApi;
  readonly function: NodejsFunction;
  /** `{"password": …}`: the shared staff password of the login service. */
  readonly passwordSecret: Secret;
  /** `{"signingKey": …}`: signs access cookies and tokens (each in its own key domain). */
  readonly signingKeySecret: Secret;

  constructor(scope: Construct, id: string, props: AuthApiProps) {
    super(scope, id);
    this.passwordSecret = new Secret(this, 'StaffPassword', {
      description: 'imagehub: the staff password of the IIIF login service ({"password": …}); change it with put-secret-value',
      generateSecretString: {
        secretStringTemplate: '{}',
        generateStringKey: 'password',
        passwordLength: 24,
        // Typed by people and posted in a form: letters and digits (24 of them: about 143 bits).
        excludePunctuation: true,
        includeSpace: false,
      },
    });
    this.signingKeySecret = new Secret(this, 'SigningKey', {
      description: 'imagehub: HMAC key of access cookies and tokens ({"signingKey": …}); a new value ends every session',
      generateSecretString: {
        secretStringTemplate: '{}',
        generateStringKey: 'signingKey',
        // About 381 bits: more than SHA-256's block needs to be a full-strength HMAC key.
        passwordLength: 64,
        excludePunctuation: true,
        includeSpace: false,
      },
    });
    for (const secret of [this.passwordSecret, this.signingKeySecret]) {
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: 'Generated at deploy and changed by ops with put-secret-value when staff changes (see lib/auth-api.ts and the README); a rotation Lambda would change the shared staff password behind the staff\'s back',
      });
    }

    this.function = imagehubFunction(this, 'Function', {
      entry: 'functions/auth/handler.ts',
      description: 'imagehub auth: IIIF Authorization Flow 2.0 login, token, probe and logout services',
      memorySize: AUTH_API_DEFAULTS.memoryMiB,
      timeout: AUTH_API_DEFAULTS.timeout,
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      environment: {
        ...props.settings,
        ...(props.publicUrl ? { IMAGEHUB_PUBLIC_URL: props.publicUrl } : {}),
        TABLE_NAME: props.table.tableName,
        [AUTH_SECRET_ENV.password]: this.passwordSecret.secretArn,
        [AUTH_SECRET_ENV.signingKey]: this.signingKeySecret.secretArn,
        POWERTOOLS_SERVICE_NAME: 'imagehub-auth',
      },
    });
    // The probe reads the image item (policy, substitute); nothing is written.
    props.table.grantReadData(this.function);
    grantSecretRead(this.function, this.passwordSecret);
    grantSecretRead(this.function, this.signingKeySecret);
    acknowledgeFunctionFindings(this.function, { indexesOf: props.table });

    this.api = new HttpApi(this, 'Api', {
      description: 'imagehub IIIF Auth 2.0 services (reached through CloudFront)',
      defaultIntegration: new HttpLambdaIntegration('Auth', this.function),
      createDefaultStage: true,
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason: 'These are the IIIF Auth 2.0 services themselves: the login page must be reachable by anyone, the function checks the staff password (constant time), the probe checks its bearer token, every answer is per request and uncached',
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG1',
      reason: 'Every request is logged by its function (Powertools JSON logs with path and outcome, never the password, cookie or token) and counted by CloudFront; API Gateway access logs would log each request a third time',
    });

    new CfnOutput(this, 'AuthApiEndpoint', { value: this.api.apiEndpoint, description: 'Origin of the IIIF Auth services (use the CDN URL)' });
    new CfnOutput(this, 'StaffPasswordSecretArn', {
      value: this.passwordSecret.secretArn,
      description: 'The staff login password: aws secretsmanager get-secret-value --secret-id <this> --query SecretString',
    });
    new CfnOutput(this, 'SigningKeySecretArn', {
      value: this.signingKeySecret.secretArn,
      description: 'HMAC key of access cookies and tokens (put a new random value to end every session)',
    });
  }
}

/** secretsmanager:GetSecretValue on exactly this secret, nothing else (CDK's grantRead adds DescribeSecret). */
export function grantSecretRead(grantee: IGrantable, secret: ISecret): void {
  grantee.grantPrincipal.addToPrincipalPolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }));
}
