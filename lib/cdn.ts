/**
 * The CDN: one CloudFront distribution in front of everything, serving the derivative store through Origin Access
 * Control. A CloudFront Function maps Image API 2.1 tile URLs onto the stored 3.0 files (the same code the
 * one-machine router runs) and answers bare image URIs with a 303 to their info.json.
 */
import { Annotations, CfnOutput, Duration, Validations } from 'aws-cdk-lib';
import type { ICertificate } from 'aws-cdk-lib/aws-certificatemanager';
import {
  AccessLevel,
  AllowedMethods,
  type BehaviorOptions,
  CachedMethods,
  CachePolicy,
  CacheCookieBehavior,
  CacheHeaderBehavior,
  CacheQueryStringBehavior,
  Distribution,
  Function as CloudFrontFunction,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  HeadersFrameOption,
  OriginProtocolPolicy,
  OriginRequestHeaderBehavior,
  OriginRequestPolicy,
  HttpVersion,
  PriceClass,
  ResponseHeadersPolicy,
  SecurityPolicyProtocol,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin, OriginGroup, S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { CORS_HEADERS, FORWARDED_HOST } from '../functions/core/http-headers.ts';
import { buildViewerRequestFunction } from '../functions/edge/build.ts';

export interface CdnProps {
  derivatives: IBucket;
  /** The Image API's domain (`{id}.execute-api.{region}.amazonaws.com`): S3 misses fall back to it. */
  imageApiDomain?: string;
  /** The Presentation API's domain: `/iiif/presentation/*` goes to it. */
  presentationApiDomain?: string;
  /** A custom domain (e.g. iiif.museum.be) with its ACM certificate, which must live in us-east-1. */
  domain?: { name: string; certificate: ICertificate };
  priceClass?: PriceClass;
}

export class Cdn extends Construct {
  readonly distribution: Distribution;
  /** `https://{domain}`: the base of every public URL, info.json `id`s included. */
  readonly publicUrl: string;

  constructor(scope: Construct, id: string, props: CdnProps) {
    super(scope, id);

    // The path is the whole identity of an Image API response: no cookies, headers or query strings in the key,
    // so every viewer shares one cache entry per file. Lifetimes come from the objects' Cache-Control (immutable
    // revisions for a year, the current info.json for minutes).
    const pathOnly = new CachePolicy(this, 'PathOnly', {
      comment: 'imagehub: cache key is the path only',
      cookieBehavior: CacheCookieBehavior.none(),
      headerBehavior: CacheHeaderBehavior.none(),
      queryStringBehavior: CacheQueryStringBehavior.none(),
      minTtl: Duration.seconds(0),
      defaultTtl: Duration.days(1),
      maxTtl: Duration.days(365),
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
    });
    // IIIF is read cross-origin by design (viewers on other sites): CORS for every origin, no credentials.
    const cors = new ResponseHeadersPolicy(this, 'Cors', {
      comment: 'imagehub: open CORS for IIIF clients',
      corsBehavior: {
        accessControlAllowCredentials: false,
        accessControlAllowHeaders: ['*'],
        accessControlAllowMethods: ['GET', 'HEAD', 'OPTIONS'],
        accessControlAllowOrigins: ['*'],
        accessControlExposeHeaders: CORS_HEADERS['access-control-expose-headers']!.split(', '),
        accessControlMaxAge: Duration.days(1),
        originOverride: true,
      },
      securityHeadersBehavior: {
        contentTypeOptions: { override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: false, override: true },
        frameOptions: { frameOption: HeadersFrameOption.SAMEORIGIN, override: false },
      },
    });
    const viewerRequest = new CloudFrontFunction(this, 'ViewerRequest', {
      comment: 'imagehub: Image API 2.1 → stored 3.0 files; base URI → 303 info.json',
      runtime: FunctionRuntime.JS_2_0,
      code: FunctionCode.fromInline(buildViewerRequestFunction()),
    });

    // LIST lets a missing key answer 404 rather than 403, as clients of an Image API expect.
    const stored = S3BucketOrigin.withOriginAccessControl(props.derivatives, { originAccessLevels: [AccessLevel.READ, AccessLevel.LIST] });
    // Static first, dynamic fallback: what S3 does not hold (any other region, size, rotation, quality, format) is
    // rendered by the Image API under the same URL. Origin groups fail over for GET/HEAD, all IIIF needs.
    const origin = props.imageApiDomain
      ? new OriginGroup({
          primaryOrigin: stored,
          fallbackOrigin: new HttpOrigin(props.imageApiDomain, {
            protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY,
            readTimeout: Duration.seconds(30),
          }),
          fallbackStatusCodes: [403, 404],
        })
      : stored;
    // S3 ignores it; the Image API needs the viewer's host (set by the viewer-request function) for public URLs.
    const forwardHost = new OriginRequestPolicy(this, 'ForwardHost', {
      comment: 'imagehub: the viewer host, for the Image API',
      headerBehavior: OriginRequestHeaderBehavior.allowList(FORWARDED_HOST),
    });

    // Manifests and collections change when records or images do: the origin says `s-maxage=10` and an ETag, so
    // the CDN revalidates them within seconds. The lookup's query strings are part of its identity.
    const presentationPolicy = new CachePolicy(this, 'Presentation', {
      comment: 'imagehub: Presentation API, path and lookup parameters',
      cookieBehavior: CacheCookieBehavior.none(),
      headerBehavior: CacheHeaderBehavior.none(),
      queryStringBehavior: CacheQueryStringBehavior.allowList('objectNumber', 'institution', 'dataPid', 'workPid', 'recordId'),
      minTtl: Duration.seconds(0),
      defaultTtl: Duration.seconds(10),
      maxTtl: Duration.days(1),
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
    });
    const presentation: Record<string, BehaviorOptions> = props.presentationApiDomain
      ? {
          '/iiif/presentation/*': {
            origin: new HttpOrigin(props.presentationApiDomain, { protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY, readTimeout: Duration.seconds(30) }),
            originRequestPolicy: forwardHost,
            viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            allowedMethods: AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
            cachedMethods: CachedMethods.CACHE_GET_HEAD_OPTIONS,
            cachePolicy: presentationPolicy,
            responseHeadersPolicy: cors,
            compress: true,
            // Sets the viewer-host header the function builds public URLs from (Presentation paths are not rewritten).
            functionAssociations: [{ function: viewerRequest, eventType: FunctionEventType.VIEWER_REQUEST }],
          },
        }
      : {};

    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'imagehub IIIF',
      defaultBehavior: {
        origin,
        originRequestPolicy: forwardHost,
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
        cachedMethods: CachedMethods.CACHE_GET_HEAD_OPTIONS,
        cachePolicy: pathOnly,
        responseHeadersPolicy: cors,
        compress: true,
        functionAssociations: [{ function: viewerRequest, eventType: FunctionEventType.VIEWER_REQUEST }],
      },
      additionalBehaviors: presentation,
      httpVersion: HttpVersion.HTTP2_AND_3,
      // With LIST access a request for `/` would list the bucket: serve a (missing) index object instead.
      defaultRootObject: 'index.html',
      // Museums' audiences are mostly in Europe and North America; widen it with the priceClass prop.
      priceClass: props.priceClass ?? PriceClass.PRICE_CLASS_100,
      ...(props.domain
        ? { domainNames: [props.domain.name], certificate: props.domain.certificate, minimumProtocolVersion: SecurityPolicyProtocol.TLS_V1_2_2021 }
        : {}),
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR1',
      reason: 'Public cultural heritage is meant for the whole world: no geographic restriction',
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR2',
      reason: 'The CDN serves public, cacheable, read-only GETs; AWS WAF (billed per rule and request) is an option an institution can attach, not a default',
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR3',
      reason: 'Standard logs record every viewer\'s IP address (personal data under the GDPR) and need a log bucket: an institution opts in; CloudFront metrics (the dashboard, and the 5xx-rate alarm where the stack is in us-east-1) cover operations',
    });
    if (!props.domain) {
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR4',
        reason: 'Without a custom domain CloudFront serves its default *.cloudfront.net certificate, whose minimum protocol cannot be set; with a domain the stack sets TLS 1.2 (TLSv1.2_2021)',
      });
    }
    // The LIST risk (a request for `/` listing the bucket) is closed by defaultRootObject above; CDK warns regardless
    // when the origin sits in an origin group.
    Annotations.of(this.distribution).acknowledgeWarning(
      '@aws-cdk/aws-cloudfront-origins:listBucketSecurityRisk',
      'defaultRootObject is set, so `/` never lists the derivative bucket',
    );
    this.publicUrl = `https://${props.domain?.name ?? this.distribution.distributionDomainName}`;

    new CfnOutput(this, 'PublicUrl', { value: this.publicUrl, description: 'Base of every IIIF URL' });
    new CfnOutput(this, 'DistributionId', { value: this.distribution.distributionId });
  }
}
