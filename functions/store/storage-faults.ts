/**
 * What a request handler answers when storage fails under it. The SDK has already retried (clients.ts: standard
 * retry mode, exponential back-off with full jitter, timeouts on every request); what is left is either a fault
 * that may pass (throttling, a 5xx, a timeout, a dropped connection), answered 503 with Retry-After so clients and
 * CloudFront try again, or a defect of ours, answered 500. The classification is the SDK's own
 * (@smithy/core/retry), so "transient" means here exactly what the retry strategy treated as transient.
 */
import type { MiddlewareObj } from '@middy/core';
import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import type { SdkError } from '@smithy/types';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { STORAGE_MAX_ATTEMPTS } from './clients.ts';

export interface FailureAnswer {
  status: 500 | 503;
  headers: Record<string, string>;
  body: string;
}

/** Seconds a client is asked to wait after a storage fault: long enough for throttling to ease, short for a viewer. */
export const STORAGE_RETRY_AFTER_SECONDS = 2;

export function isTransientStorageFault(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const sdkError = current as SdkError;
    if (isThrottlingError(sdkError) || isTransientError(sdkError) || isServerError(sdkError)) return true;
  }
  return false;
}

/**
 * Retries for what the SDK cannot retry itself (a streamed body): transient faults only, exponential back-off with
 * full jitter (AWS's recommended scheme), as many attempts as the clients make.
 */
export async function withStorageRetries<T>(work: () => Promise<T>, attempts = STORAGE_MAX_ATTEMPTS, baseDelayMs = 100, maxDelayMs = 20_000): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts || !isTransientStorageFault(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** attempt)));
    }
  }
}

/** The answer for an error no answer function turned into a 4xx: `service` names what could not be done. */
export function failureAnswer(error: unknown, service: string): FailureAnswer {
  const headers = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'access-control-allow-origin': '*' };
  if (isTransientStorageFault(error)) {
    return {
      status: 503,
      headers: { ...headers, 'retry-after': String(STORAGE_RETRY_AFTER_SECONDS) },
      body: `service unavailable: storage is busy or unreachable, so ${service}; please retry in ${STORAGE_RETRY_AFTER_SECONDS} seconds\n`,
    };
  }
  return { status: 500, headers, body: `internal error: ${service}; please retry\n` };
}

/**
 * Middy error handling for the HTTP functions: an error no answer function turned into a 4xx is logged in full (the
 * path, never headers: they may carry the staff cookie) and answered by {@link failureAnswer}.
 */
export function answerFailures(
  logger: { error(message: string, details: Record<string, unknown>): void },
  service: string,
): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  return {
    onError: (request) => {
      logger.error(`request failed: ${service}`, { path: request.event.rawPath, error: request.error instanceof Error ? request.error : String(request.error) });
      const failure = failureAnswer(request.error, service);
      request.response = { statusCode: failure.status, headers: failure.headers, body: failure.body };
    },
  };
}
