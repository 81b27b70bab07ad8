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
  OriginRequestCookieBehavior,
  OriginRequestHeaderBehavior,
  OriginRequestPolicy,
  OriginRequestQueryStringBehavior,
  HttpVersion,
  PriceClass,
  ResponseHeadersPolicy,
  SecurityPolicyProtocol,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin, OriginGroup, S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
// The access cookie (issue 8): a signed staff session, set by the auth services under `/iiif/auth/` and verified by
// the Image API. Forwarded to those origins, never part of an image's cache key.
import { ACCESS_COOKIE } from '../functions/core/auth.ts';
import { CORS_HEADERS, FORWARDED_HOST } from '../functions/core/http-headers.ts';
import { buildViewerRequestFunction } from '../functions/edge/build.ts';

/** Query parameters of the Auth 2.0 services: the access service's `origin`, the token service's `messageId` and `origin`. */
export const AUTH_QUERY_PARAMETERS = ['origin', 'messageId'] as const;

export interface CdnProps {
  /** The public derivative store. Only this bucket is an origin: the protected store never is. */
  derivatives: IBucket;
  /** The Image API's domain (`{id}.execute-api.{region}.amazonaws.com`): S3 misses fall back to it. */
  imageApiDomain?: string;
  /** The Presentation API's domain: `/iiif/presentation/*` goes to it. */
  presentationApiDomain?: string;
  /** The IIIF Auth API's domain: `/iiif/auth/*` goes to it, uncached. */
  authApiDomain?: string;
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
    // S3 ignores it; the Presentation API needs the viewer's host (set by the viewer-request function) for public URLs.
    const forwardHost = new OriginRequestPolicy(this, 'ForwardHost', {
      comment: 'imagehub: the viewer host, for the Presentation API',
      headerBehavior: OriginRequestHeaderBehavior.allowList(FORWARDED_HOST),
    });
    // Images: the viewer's host as above, and the access cookie, which the Image API fallback verifies to serve
    // authorised viewers beyond the public limit (S3 ignores it). Forwarded only: the cache key stays the path, and
    // authorised answers say `Cache-Control: private`, so the CDN never shares them.
    const forwardHostAndAccess = new OriginRequestPolicy(this, 'ForwardHostAndAccessCookie', {
      comment: 'imagehub: the viewer host and the access cookie, for the Image API',
      headerBehavior: OriginRequestHeaderBehavior.allowList(FORWARDED_HOST),
      cookieBehavior: OriginRequestCookieBehavior.allowList(ACCESS_COOKIE),
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

    // The Auth 2.0 services answer per viewer: nothing is shared. CloudFront passes the Authorization header (the
    // probe's bearer token) only when it is in the cache key, and refuses headers in the key of a policy whose TTLs
    // are all 0: so the TTLs are 0/0/1 s. With a default TTL of 0 an answer without Cache-Control is never cached,
    // and `no-store`/`private` are honoured (min TTL 0). Even if the origin said otherwise, everything that makes an
    // answer personal (token, cookie, origin, messageId) is in the key, so one viewer's answer cannot reach another.
    const authPolicy = new CachePolicy(this, 'Auth', {
      comment: 'imagehub: IIIF Auth services, not shared (Authorization reaches the probe)',
      cookieBehavior: CacheCookieBehavior.allowList(ACCESS_COOKIE),
      headerBehavior: CacheHeaderBehavior.allowList('Authorization'),
      queryStringBehavior: CacheQueryStringBehavior.allowList(...AUTH_QUERY_PARAMETERS),
      minTtl: Duration.seconds(0),
      defaultTtl: Duration.seconds(0),
      maxTtl: Duration.seconds(1),
    });
    // The cookie (the login sets it, token and probe read it, logout clears it), the services' query parameters,
    // the viewer's host (public URLs, the cookie's site) and the CORS request headers (the probe's preflight).
    const authForward = new OriginRequestPolicy(this, 'AuthForward', {
      comment: 'imagehub: access cookie, Auth query parameters, viewer host and CORS headers, for the Auth API',
      cookieBehavior: OriginRequestCookieBehavior.allowList(ACCESS_COOKIE),
      queryStringBehavior: OriginRequestQueryStringBehavior.allowList(...AUTH_QUERY_PARAMETERS),
      headerBehavior: OriginRequestHeaderBehavior.allowList(FORWARDED_HOST, 'origin', 'access-control-request-method', 'access-control-request-headers'),
    });
    // No CORS here: the services set their own (the probe must allow the Authorization header; the login and token
    // pages are no CORS resources). No frame options either: clients load the token service in an iframe.
    const authHeaders = new ResponseHeadersPolicy(this, 'AuthHeaders', {
      comment: 'imagehub: security headers for the Auth services (CORS is the origin\'s)',
      securityHeadersBehavior: {
        contentTypeOptions: { override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: false, override: true },
      },
    });
    const auth: Record<string, BehaviorOptions> = props.authApiDomain
      ? {
          '/iiif/auth/*': {
            origin: new HttpOrigin(props.authApiDomain, { protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY, readTimeout: Duration.seconds(30) }),
            originRequestPolicy: authForward,
            viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            // The login form POSTs.
            allowedMethods: AllowedMethods.ALLOW_ALL,
            cachedMethods: CachedMethods.CACHE_GET_HEAD,
            cachePolicy: authPolicy,
            responseHeadersPolicy: authHeaders,
            compress: true,
            // Sets the viewer-host header (auth paths are not rewritten).
            functionAssociations: [{ function: viewerRequest, eventType: FunctionEventType.VIEWER_REQUEST }],
          },
        }
      : {};

    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'imagehub IIIF',
      defaultBehavior: {
        origin,
        originRequestPolicy: forwardHostAndAccess,
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
        cachedMethods: CachedMethods.CACHE_GET_HEAD_OPTIONS,
        cachePolicy: pathOnly,
        responseHeadersPolicy: cors,
        compress: true,
        functionAssociations: [{ function: viewerRequest, eventType: FunctionEventType.VIEWER_REQUEST }],
      },
      additionalBehaviors: { ...presentation, ...auth },
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
