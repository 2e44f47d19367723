/** Something a command opens and must close: an engine, a detector, a sink, a server. */
export interface Closable {
  close(): Promise<void> | void;
}

/**
 * What a command has opened so far, closed in reverse order however the command ends. Worker
 * threads (the engine, the detector) keep Node alive: a command that failed half-way through
 * its start-up and left one open would hang instead of exiting.
 */
export class Resources {
  private readonly opened: Closable[] = [];

  add<T extends Closable>(resource: T): T {
    this.opened.push(resource);
    return resource;
  }

  /** Close everything, newest first; one failure does not keep the others open. */
  async close(): Promise<void> {
    const failures: unknown[] = [];
    for (const resource of this.opened.splice(0).reverse()) {
      await Promise.resolve()
        .then(() => resource.close())
        .catch((error: unknown) => failures.push(error));
    }
    if (failures.length > 0) throw failures[0];
  }
}
