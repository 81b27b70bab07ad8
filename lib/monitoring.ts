/**
 * Monitoring: the alarms that say something is wrong, one SNS topic they all notify (by email when `alarmEmail` is
 * set; subscribe anything else to the topic), and a small dashboard. What each function did and why is in its
 * structured JSON logs (Powertools, functions/*\/handler.ts); this is the part that wakes someone up.
 *
 * CloudFront publishes its metrics in us-east-1 only, and a CloudWatch alarm can only watch metrics of its own
 * region: the CDN 5xx-rate alarm exists when the stack itself is deployed to us-east-1. Elsewhere the rate is on the
 * dashboard (read from us-east-1), and the HTTP APIs' 5xx alarms, in the stack's region, catch the origin failures
 * CloudFront passes on; a S3 or CloudFront-side failure is then only seen on the dashboard (or by an alarm a museum
 * adds in us-east-1).
 */
import { Annotations, Aws, CfnOutput, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import type { Distribution } from 'aws-cdk-lib/aws-cloudfront';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  type Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Where CloudFront publishes its metrics. */
export const CLOUDFRONT_METRICS_REGION = 'us-east-1';

/** Thresholds, in one place (and in the README's "Deploy to AWS"). */
export const ALARM_THRESHOLDS = {
  /** Ingest errors are failed invocations (a whole batch); refused masters are outcomes, not errors. */
  ingestErrors: { count: 1, period: Duration.minutes(15) },
  /** A few errors of the request-serving functions in five minutes: a deployment or dependency gone wrong. */
  apiErrors: { count: 5, period: Duration.minutes(5) },
  harvestErrors: { count: 1, period: Duration.minutes(15) },
  /** The daily access review: any failed run (EventBridge retries it twice; the next day's run catches up). */
  accessReviewErrors: { count: 1, period: Duration.minutes(15) },
  throttles: { count: 1, period: Duration.minutes(5) },
  /** 5xx answers of an HTTP API (function errors, timeouts, throttles as CloudFront sees them from its origin). */
  api5xx: { count: 5, period: Duration.minutes(5) },
  /** Share of CDN requests answered 5xx, in percent, sustained for three five-minute periods. */
  cdn5xxRatePercent: { rate: 2, period: Duration.minutes(5), periods: 3 },
} as const;

export interface MonitoredFunction {
  function: IFunction;
}
export interface MonitoredApi extends MonitoredFunction {
  api: HttpApi;
}

export interface MonitoringProps {
  ingest: MonitoredFunction & { queue: IQueue; deadLetterQueue: IQueue; deadLetterAlarm: Alarm };
  imageApi: MonitoredApi;
  presentationApi: MonitoredApi;
  /** The IIIF Auth 2.0 services (lib/auth-api.ts). */
  authApi: MonitoredApi;
  /** The daily access review (lib/access-review.ts). */
  accessReview: MonitoredFunction;
  harvest?: MonitoredFunction;
  distribution: Distribution;
  /** Subscribed to the alarm topic by email (AWS sends a confirmation message first). */
  alarmEmail?: string;
}

export class Monitoring extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;
  /** Present when the stack is in us-east-1 (see the module comment). */
  readonly cdnErrorRateAlarm?: Alarm;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const stack = Stack.of(this);

    // An encrypted topic needs a customer managed key: CloudWatch may not use the AWS managed key of SNS. The key
    // serves this topic only, so its policy names CloudWatch without further conditions; the topic policy below
    // restricts publishing to this account's alarms.
    const key = new Key(this, 'AlarmTopicKey', {
      description: 'imagehub: encrypts the alarm notification topic',
      enableKeyRotation: true,
      // Nothing lasting is encrypted with it (notifications are delivered and gone).
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    key.addToResourcePolicy(new PolicyStatement({
      principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
    }));
    this.topic = new Topic(this, 'AlarmTopic', { displayName: 'imagehub alarms', masterKey: key, enforceSSL: true });
    this.topic.addToResourcePolicy(new PolicyStatement({
      sid: 'CloudWatchAlarmsOfThisAccount',
      principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [this.topic.topicArn],
      conditions: {
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*` },
      },
    }));
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    const action = new SnsAction(this.topic);
    const notify = (alarm: Alarm) => {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      this.alarms.push(alarm);
      return alarm;
    };
    const atLeast = (alarmId: string, description: string, metric: IMetric, threshold: number, periods = 1) =>
      notify(new Alarm(this, alarmId, {
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods: periods,
        datapointsToAlarm: periods,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }));

    const { ingest, imageApi, presentationApi, authApi, accessReview, harvest } = props;
    const t = ALARM_THRESHOLDS;
    const sum = (metric: Metric) => metric.with({ statistic: 'Sum' });

    // Functions: errors and throttles.
    atLeast('IngestErrors', 'imagehub ingest: failed invocations (the batch is retried; see the function\'s logs)',
      sum(ingest.function.metricErrors({ period: t.ingestErrors.period })), t.ingestErrors.count);
    atLeast('ImageApiErrors', `imagehub Image API: ${t.apiErrors.count} or more failed invocations in ${t.apiErrors.period.toMinutes()} minutes`,
      sum(imageApi.function.metricErrors({ period: t.apiErrors.period })), t.apiErrors.count);
    atLeast('PresentationApiErrors', `imagehub Presentation API: ${t.apiErrors.count} or more failed invocations in ${t.apiErrors.period.toMinutes()} minutes`,
      sum(presentationApi.function.metricErrors({ period: t.apiErrors.period })), t.apiErrors.count);
    atLeast('AuthApiErrors', `imagehub Auth API: ${t.apiErrors.count} or more failed invocations in ${t.apiErrors.period.toMinutes()} minutes`,
      sum(authApi.function.metricErrors({ period: t.apiErrors.period })), t.apiErrors.count);
    atLeast('AccessReviewErrors', 'imagehub access review: a daily run failed (images whose access changed are not yet republished; see the logs)',
      sum(accessReview.function.metricErrors({ period: t.accessReviewErrors.period })), t.accessReviewErrors.count);
    if (harvest) {
      atLeast('HarvestErrors', 'imagehub harvest: a run failed (the next scheduled run resumes from the checkpoint; see the logs)',
        sum(harvest.function.metricErrors({ period: t.harvestErrors.period })), t.harvestErrors.count);
    }
    // Throttles of the functions that serve or ingest. Not the harvest's: its reserved concurrency of 1 exists to
    // throttle an overlapping run (Lambda retries it later), so its throttles are by design; they are on the dashboard.
    for (const [name, label, fn] of [
      ['Ingest', 'ingest', ingest.function],
      ['ImageApi', 'Image API', imageApi.function],
      ['PresentationApi', 'Presentation API', presentationApi.function],
      ['AuthApi', 'Auth API', authApi.function],
    ] as const) {
      atLeast(`${name}Throttles`, `imagehub ${label}: throttled invocations (the account's concurrency is exhausted)`,
        sum(fn.metricThrottles({ period: t.throttles.period })), t.throttles.count);
    }
    // The dead-letter queue's alarm is the ingest pipeline's own; it notifies the same topic.
    notify(ingest.deadLetterAlarm);

    // The HTTP APIs' 5xx in the stack's region: the origin failures CloudFront passes on to viewers.
    atLeast('ImageApi5xx', `imagehub Image API: ${t.api5xx.count} or more 5xx answers in ${t.api5xx.period.toMinutes()} minutes`,
      sum(imageApi.api.metricServerError({ period: t.api5xx.period })), t.api5xx.count);
    atLeast('PresentationApi5xx', `imagehub Presentation API: ${t.api5xx.count} or more 5xx answers in ${t.api5xx.period.toMinutes()} minutes`,
      sum(presentationApi.api.metricServerError({ period: t.api5xx.period })), t.api5xx.count);
    atLeast('AuthApi5xx', `imagehub Auth API: ${t.api5xx.count} or more 5xx answers in ${t.api5xx.period.toMinutes()} minutes`,
      sum(authApi.api.metricServerError({ period: t.api5xx.period })), t.api5xx.count);

    // The CDN: its metrics carry the dimensions DistributionId and Region=Global (CDK's own metric methods leave
    // out Region, which matches no data) and exist in us-east-1 only.
    const cdnMetric = (name: 'Requests' | '5xxErrorRate' | '4xxErrorRate', statistic: string) =>
      props.distribution.metric(name, {
        dimensionsMap: { DistributionId: props.distribution.distributionId, Region: 'Global' },
        region: CLOUDFRONT_METRICS_REGION,
        statistic,
        period: t.cdn5xxRatePercent.period,
      });
    const cdn5xxRate = props.distribution.metric5xxErrorRate({
      dimensionsMap: { DistributionId: props.distribution.distributionId, Region: 'Global' },
      region: CLOUDFRONT_METRICS_REGION,
      statistic: 'Average',
      period: t.cdn5xxRatePercent.period,
    });
    if (!Token.isUnresolved(stack.region) && stack.region === CLOUDFRONT_METRICS_REGION) {
      this.cdnErrorRateAlarm = atLeast('Cdn5xxRate',
        `imagehub CDN: ${t.cdn5xxRatePercent.rate} % or more of requests answered 5xx for ${t.cdn5xxRatePercent.periods * t.cdn5xxRatePercent.period.toMinutes()} minutes`,
        cdn5xxRate, t.cdn5xxRatePercent.rate, t.cdn5xxRatePercent.periods);
    } else {
      Annotations.of(this).addInfo(
        `No CDN 5xx-rate alarm: CloudFront metrics exist in ${CLOUDFRONT_METRICS_REGION} only and this stack deploys to ${Token.isUnresolved(stack.region) ? 'an unspecified region' : stack.region}; ` +
          'the rate is on the dashboard and the HTTP APIs\' 5xx alarms cover origin failures.',
      );
    }

    // The dashboard: one row per part of the system.
    const graph = (title: string, left: IMetric[], width = 6) => new GraphWidget({ title, left, width, height: 6 });
    const fiveMinutes = Duration.minutes(5);
    const latency = (api: HttpApi, name: string) =>
      graph(`${name} latency (ms)`, [
        api.metricLatency({ statistic: 'p50', period: fiveMinutes, label: 'p50' }),
        api.metricLatency({ statistic: 'p95', period: fiveMinutes, label: 'p95' }),
      ]);
    const errors = (fn: IFunction, api: HttpApi | undefined, name: string) =>
      graph(`${name} errors`, [
        fn.metricErrors({ statistic: 'Sum', period: fiveMinutes, label: 'function errors' }),
        fn.metricThrottles({ statistic: 'Sum', period: fiveMinutes, label: 'throttles' }),
        ...(api ? [api.metricServerError({ statistic: 'Sum', period: fiveMinutes, label: 'API 5xx' })] : []),
      ]);
    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(1) });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: `**imagehub** ${stack.stackName}: ingest, Image API, Presentation API, Auth API, access review, harvest and CDN. CDN metrics are read from ${CLOUDFRONT_METRICS_REGION}, where CloudFront publishes them.`,
        width: 24,
        height: 1,
      }),
    );
    this.dashboard.addWidgets(
      graph('Ingest duration (ms)', [
        ingest.function.metricDuration({ statistic: 'p50', period: fiveMinutes, label: 'p50' }),
        ingest.function.metricDuration({ statistic: 'Maximum', period: fiveMinutes, label: 'max' }),
      ]),
      graph('Ingest invocations and errors', [
        ingest.function.metricInvocations({ statistic: 'Sum', period: fiveMinutes, label: 'invocations' }),
        ingest.function.metricErrors({ statistic: 'Sum', period: fiveMinutes, label: 'errors' }),
        ingest.function.metricThrottles({ statistic: 'Sum', period: fiveMinutes, label: 'throttles' }),
      ]),
      graph('Ingest concurrency', [
        ingest.function.metric('ConcurrentExecutions', { statistic: 'Maximum', period: fiveMinutes, label: 'concurrent ingests' }),
      ]),
      graph('Ingest queue and dead letters', [
        ingest.queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: fiveMinutes, label: 'waiting' }),
        ingest.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: fiveMinutes, label: 'dead letters' }),
      ]),
    );
    this.dashboard.addWidgets(
      latency(imageApi.api, 'Image API'),
      errors(imageApi.function, imageApi.api, 'Image API'),
      latency(presentationApi.api, 'Presentation API'),
      errors(presentationApi.function, presentationApi.api, 'Presentation API'),
    );
    this.dashboard.addWidgets(
      latency(authApi.api, 'Auth API'),
      errors(authApi.function, authApi.api, 'Auth API'),
      graph('Access review runs and errors', [
        accessReview.function.metricInvocations({ statistic: 'Sum', period: Duration.hours(1), label: 'runs' }),
        accessReview.function.metricErrors({ statistic: 'Sum', period: Duration.hours(1), label: 'errors' }),
      ]),
      graph('Access review duration (ms)', [
        accessReview.function.metricDuration({ statistic: 'Maximum', period: Duration.hours(1), label: 'max' }),
      ]),
    );
    this.dashboard.addWidgets(
      harvest
        ? graph('Harvest runs and errors', [
            harvest.function.metricInvocations({ statistic: 'Sum', period: Duration.hours(1), label: 'runs' }),
            harvest.function.metricErrors({ statistic: 'Sum', period: Duration.hours(1), label: 'errors' }),
            harvest.function.metricThrottles({ statistic: 'Sum', period: Duration.hours(1), label: 'throttled (overlapping runs)' }),
          ])
        : new TextWidget({ markdown: 'No data hub harvest deployed (context `oaiBaseUrl`).', width: 6, height: 6 }),
      graph(`CDN requests (${CLOUDFRONT_METRICS_REGION})`, [cdnMetric('Requests', 'Sum').with({ label: 'requests' })]),
      graph(`CDN error rate, % (${CLOUDFRONT_METRICS_REGION})`, [
        cdn5xxRate.with({ label: '5xx' }),
        cdnMetric('4xxErrorRate', 'Average').with({ label: '4xx' }),
      ]),
      new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 6, height: 6 }),
    );

    new CfnOutput(this, 'AlarmTopicArn', { value: this.topic.topicArn, description: 'Every alarm notifies this topic (subscribe to it)' });
    new CfnOutput(this, 'DashboardUrl', {
      value: `https://console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${this.dashboard.dashboardName}`,
      description: 'The CloudWatch dashboard',
    });
  }
}
