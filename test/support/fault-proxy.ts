/**
 * A fault-injecting HTTP proxy in front of a local stand-in (s3rver or dynalite): the real SDK clients talk to it
 * as to S3 or DynamoDB and meet what those services do on a bad day, with the wire formats the SDK parses:
 *
 *  - throttle      S3: 503 SlowDown; DynamoDB: 400 ThrottlingException / ProvisionedThroughputExceededException
 *  - server-error  S3: 500 InternalError; DynamoDB: 500 InternalServerError
 *  - timeout       the request is read and never answered (the client's socket timeout must fire)
 *  - reset         the connection is dropped before the request reaches the service
 *  - lost-reply    the request reaches the service and is applied; the connection drops before the answer (the
 *                  nastiest one: a retried conditional write must still come out right)
 *
 * Which requests fail is drawn from a seeded generator, so a failing run can be replayed.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { seededRandom } from '../bench/random.ts';

export type FaultKind = 'throttle' | 'server-error' | 'timeout' | 'reset' | 'lost-reply';
export const ALL_FAULTS: readonly FaultKind[] = ['throttle', 'server-error', 'timeout', 'reset', 'lost-reply'];

export interface ProxiedRequest {
  method: string;
  /** Path and query as the client sent them (S3: `/{bucket}/{key}` in path style). */
  url: string;
  /** DynamoDB's operation (`X-Amz-Target` without its prefix), e.g. `UpdateItem`. */
  operation?: string;
}

export interface FaultPlan {
  /** Probability that a matching request fails. */
  rate: number;
  kinds: readonly FaultKind[];
  /** Only requests this accepts can fail; default all. */
  match?: (request: ProxiedRequest) => boolean;
}

export interface FaultProxy {
  url: string;
  /** Faults injected so far, by kind, and requests forwarded untouched. */
  stats: Record<FaultKind, number> & { forwarded: number };
  plan(plan: FaultPlan | undefined): void;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string, service: 's3' | 'dynamodb', seed = 1): Promise<FaultProxy> {
  const random = seededRandom(seed);
  const upstream = new URL(target);
  let current: FaultPlan | undefined;
  const stats = { throttle: 0, 'server-error': 0, timeout: 0, reset: 0, 'lost-reply': 0, forwarded: 0 };
  const hanging = new Set<Socket>();

  const server: Server = createServer((req, res) => {
    const operation = String(req.headers['x-amz-target'] ?? '').split('.').pop() || undefined;
    const proxied: ProxiedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', ...(operation ? { operation } : {}) };
    const plan = current;
    const fault = plan && (plan.match?.(proxied) ?? true) && random() < plan.rate ? plan.kinds[Math.floor(random() * plan.kinds.length)] : undefined;
    if (fault) stats[fault] += 1;
    else stats.forwarded += 1;
    switch (fault) {
      case 'throttle':
      case 'server-error': {
        req.resume();
        const draw = random();
        req.on('end', () => answerFault(res, service, fault, draw));
        return;
      }
      case 'timeout':
        req.resume();
        hanging.add(req.socket);
        req.socket.once('close', () => hanging.delete(req.socket));
        return;
      case 'reset':
        req.socket.destroy();
        return;
      default:
        forward(req, res, upstream, fault === 'lost-reply');
    }
  });
  // Keep-alive connections from the SDK clients must not keep close() waiting.
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    plan: (plan) => {
      current = plan;
    },
    close: async () => {
      for (const socket of hanging) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function forward(req: IncomingMessage, res: ServerResponse, upstream: URL, loseReply: boolean): void {
  const outgoing = httpRequest(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      if (loseReply) {
        // The service has done the work; the client never hears of it.
        answer.resume();
        answer.on('end', () => req.socket.destroy());
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  outgoing.on('error', () => req.socket.destroy());
  req.pipe(outgoing);
}

function answerFault(res: ServerResponse, service: 's3' | 'dynamodb', fault: 'throttle' | 'server-error', draw: number): void {
  if (service === 's3') {
    const [status, code, message] = fault === 'throttle' ? [503, 'SlowDown', 'Please reduce your request rate.'] : [500, 'InternalError', 'We encountered an internal error. Please try again.'];
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault</RequestId></Error>`;
    res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) }).end(body);
    return;
  }
  const [status, type, message] =
    fault === 'throttle'
      ? [400, draw < 0.5 ? 'ThrottlingException' : 'ProvisionedThroughputExceededException', 'Rate of requests exceeds the allowed throughput.']
      : [500, 'InternalServerError', 'Internal server error'];
  const body = JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message });
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(body) }).end(body);
}
