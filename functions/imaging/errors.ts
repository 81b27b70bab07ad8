/** A master the ingest refuses because of the file itself; the message is the reason shown to the uploader. */
export class MasterRejectedError extends Error {
  override name = 'MasterRejectedError';
}
