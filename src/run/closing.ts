/**
 * One way to close a resource a run holds. `close()` where its failure is the run's to
 * report (it ended well, so a secondary store's failure is exit 3); disposal on every other
 * way out, where a failure is logged and the error that ended the run stays the one the
 * user reads (a throwing disposer would bury it in a SuppressedError).
 */
export interface Closing extends AsyncDisposable {
  /** Closes once; later calls get the same answer. */
  close(): Promise<void>;
}

export function closing(close: () => void | Promise<void>, onError: (err: unknown) => void): Closing {
  let done: Promise<void> | undefined;
  let explicit = false;
  const once = () => (done ??= Promise.resolve().then(close));
  return {
    close: () => {
      explicit = true;
      return once();
    },
    // After an explicit close its caller has the failure: disposal only waits for it.
    [Symbol.asyncDispose]: () => (explicit ? once().catch(() => undefined) : once().catch(onError)),
  };
}
