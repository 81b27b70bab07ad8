/** What a store tells after a write that changed something; a failing listener never fails or undoes the write. */
export interface ChangeListener<T> {
  /** Told after every write that changed an item, e.g. to refresh what is derived from it. */
  onChange?: (change: T) => Promise<void>;
  /** A listener's failure, reported instead of thrown. */
  onChangeError?: (error: unknown, change: T) => void;
}

export async function tellListener<T>(listener: ChangeListener<T>, change: T): Promise<void> {
  if (!listener.onChange) return;
  try {
    await listener.onChange(change);
  } catch (error) {
    listener.onChangeError?.(error, change);
  }
}
