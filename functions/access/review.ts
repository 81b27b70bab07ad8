/**
 * The access review: decides an image's access from what is known now (its flags, its record's rights, the
 * institution defaults, today's date) and republishes the image when that differs from the decision its
 * published revision was made under. Runs
 *  - in the ingest, for every image it publishes (`decide`);
 *  - after a record changes (harvest, CLI), for the images linked to it (`reviewRecord`);
 *  - daily (EventBridge, 00:05 UTC; locally at start and every day), for every image (`reviewAll`): this is how a
 *    work enters the public domain on 1 January without anyone acting, and how a changed institution default or
 *    a record loaded elsewhere takes effect.
 * Republishing goes through the ingest queue (a synthetic S3 event for the master), so one code path publishes.
 */
import { decideAccess, sameAccess, type AccessDecision, type AccessSettings } from '../core/access-policy.ts';
import type { ImageItem } from '../core/image-item.ts';
import type { RightsDecision } from '../core/rights.ts';
import type { AccessRequest } from '../ingest/ingest-object.ts';
import { allImageItems, type ImageItems } from '../store/image-items.ts';
import type { MirroredRecord, RecordStore } from '../store/records.ts';

export interface AccessReviewDeps {
  records: Pick<RecordStore, 'recordsForImage' | 'imagesForRecord' | 'get'>;
  images: ImageItems;
  settings: AccessSettings;
  /**
   * Re-run the ingest of an image's master (AWS: a message to the ingest queue; locally: the local queue). Not
   * needed by the ingest itself, which only decides.
   */
  republish?: (item: ImageItem, decision: AccessDecision) => Promise<void>;
  now?: () => Date;
  log?: (message: string, details: Record<string, unknown>) => void;
}

export interface ReviewReport {
  reviewed: number;
  republished: { identifier: string; from: string; to: string; reason: string }[];
}

export class AccessReview {
  constructor(private readonly deps: AccessReviewDeps) {}

  /** The decision for an image as the ingest sees it (its record looked up by its link hints). */
  async decide(request: AccessRequest): Promise<AccessDecision> {
    const records = await this.deps.records.recordsForImage(request.links);
    return this.decideWith(request, latest(records)?.rights);
  }

  /** Review one image: republish it when its published access is no longer the right one. */
  async reviewImage(item: ImageItem, report?: ReviewReport): Promise<AccessDecision | undefined> {
    const published = item.published;
    if (item.status === 'deleted' || !published || !item.source) return undefined;
    const decision = await this.decide({ identifier: item.identifier, links: item.links, flags: item.links.access ?? {}, width: published.width, height: published.height });
    if (report) report.reviewed++;
    if (sameAccess(published.access, decision)) return decision;
    // A republish already under way (processing) decides again when it runs; sending another would be noise.
    if (item.status === 'processing') return decision;
    this.deps.log?.('access changed: republishing', { identifier: item.identifier, from: published.access?.policy ?? 'open', to: decision.policy, reason: decision.reason });
    if (!this.deps.republish) throw new Error('this access review cannot republish (no ingest queue configured)');
    await this.deps.republish(item, decision);
    report?.republished.push({ identifier: item.identifier, from: published.access?.policy ?? 'open', to: decision.policy, reason: decision.reason });
    return decision;
  }

  /** After a record changed: the images linked to it. */
  async reviewRecord(recordId: string): Promise<ReviewReport> {
    const report: ReviewReport = { reviewed: 0, republished: [] };
    const record = await this.deps.records.get(recordId);
    if (!record?.record) return report;
    for (const image of await this.deps.records.imagesForRecord(record.record)) await this.reviewImage(image, report);
    return report;
  }

  /** Every image: the daily review. */
  async reviewAll(): Promise<ReviewReport> {
    const report: ReviewReport = { reviewed: 0, republished: [] };
    for await (const item of allImageItems(this.deps.images)) {
      if (item.status === 'ready') await this.reviewImage(item, report);
    }
    return report;
  }

  private decideWith(request: AccessRequest, rights: RightsDecision | undefined): AccessDecision {
    return decideAccess(
      {
        flags: request.flags,
        ...(rights ? { rights } : {}),
        ...(request.links.institution ? { institution: request.links.institution } : {}),
        width: request.width,
        height: request.height,
      },
      this.deps.settings,
      this.deps.now?.() ?? new Date(),
    );
  }
}

/** The record an image belongs to when several match: the latest version, as the Presentation API picks it. */
function latest(records: MirroredRecord[]): MirroredRecord | undefined {
  return [...records].sort((a, b) => b.datestamp.localeCompare(a.datestamp) || a.recordId.localeCompare(b.recordId))[0];
}

/**
 * The message that makes the ingest look at a master again: the S3 notification shape the queue carries, so the
 * ingest needs no second entry point. The ETag lets it act only if the master is still that upload.
 */
export function republishMessage(item: ImageItem): string {
  const source = item.source!;
  return JSON.stringify({
    Records: [
      {
        eventSource: 'imagehub:access-review',
        eventName: 'ObjectCreated:AccessReview',
        eventTime: new Date().toISOString(),
        s3: { bucket: { name: source.bucket }, object: { key: encodeURIComponent(source.key).replace(/%2F/g, '/'), ...(source.etag ? { eTag: source.etag } : {}), size: source.size } },
      },
    ],
  });
}
