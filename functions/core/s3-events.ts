/**
 * S3 event notifications as they arrive through SQS: one SQS message body holds an S3 event with Records, or the
 * `s3:TestEvent` S3 sends when a notification is configured (ignored).
 */

export interface ObjectEvent {
  kind: 'created' | 'removed';
  bucket: string;
  /** Decoded object key (S3 URL-encodes keys in events, with `+` for spaces). */
  key: string;
  size?: number;
  etag?: string;
  versionId?: string;
  sequencer?: string;
  eventTime?: string;
}

interface S3EventRecordLike {
  eventName?: unknown;
  eventTime?: unknown;
  s3?: { bucket?: { name?: unknown }; object?: { key?: unknown; size?: unknown; eTag?: unknown; versionId?: unknown; sequencer?: unknown } };
}

export class MalformedEventError extends Error {}

export function decodeS3Key(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}

/** Parse an SQS message body. Throws MalformedEventError for bodies that are not S3 notifications. */
export function objectEventsFromMessage(body: string): ObjectEvent[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new MalformedEventError('message body is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) throw new MalformedEventError('message body is not an object');
  const message = parsed as { Event?: unknown; Records?: unknown };
  if (message.Event === 's3:TestEvent') return [];
  if (!Array.isArray(message.Records)) throw new MalformedEventError('message has no S3 Records');
  return message.Records.map((record: S3EventRecordLike) => {
    const name = typeof record.eventName === 'string' ? record.eventName : '';
    const bucket = record.s3?.bucket?.name;
    const key = record.s3?.object?.key;
    if (typeof bucket !== 'string' || typeof key !== 'string') throw new MalformedEventError('S3 record without bucket or key');
    let kind: ObjectEvent['kind'];
    if (name.startsWith('ObjectCreated:')) kind = 'created';
    else if (name.startsWith('ObjectRemoved:')) kind = 'removed';
    else throw new MalformedEventError(`unsupported S3 event "${name}"`);
    const o = record.s3!.object!;
    let decoded: string;
    try {
      decoded = decodeS3Key(key);
    } catch {
      // S3 itself always encodes keys validly; a message that does not is not an S3 notification (URIError otherwise).
      throw new MalformedEventError(`S3 record key "${key.slice(0, 200)}" is not valid URL encoding`);
    }
    const event: ObjectEvent = { kind, bucket, key: decoded };
    if (typeof o.size === 'number') event.size = o.size;
    if (typeof o.eTag === 'string') event.etag = o.eTag;
    if (typeof o.versionId === 'string') event.versionId = o.versionId;
    if (typeof o.sequencer === 'string') event.sequencer = o.sequencer;
    if (typeof record.eventTime === 'string') event.eventTime = record.eventTime;
    return event;
  });
}
