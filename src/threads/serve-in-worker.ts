import { parentPort, workerData, type TransferListItem } from "node:worker_threads";
import { toFailure, type Call, type Reply, type Startup } from "./protocol.js";

/**
 * A handler's result whose buffers move to the caller rather than being copied (they are
 * unusable here afterwards): for large results, such as a frame, that the worker is done with.
 */
export class Moved<T> {
  constructor(
    readonly value: T,
    readonly transfer: readonly TransferListItem[],
  ) {}
}

/** What a worker module offers its WorkerClient: methods by name; `close` is called last. */
export type Handlers = Record<string, (...args: never[]) => unknown> & { close(): unknown };

/**
 * The worker side of a WorkerClient: builds the handlers from the client's data, then answers
 * calls one at a time, in the order they were sent (a stream's frames depend on each other).
 * `close` runs after every call sent before it, and refuses every call sent after it.
 */
export function serveInWorker<Data>(setup: (data: Data) => Promise<Handlers>): void {
  const port = parentPort;
  if (!port) throw new Error("serveInWorker runs only inside a worker thread");
  const started = setup(workerData as Data);
  started.then(
    () => port.postMessage({ ready: true } satisfies Startup),
    (error: unknown) => port.postMessage({ ready: false, failure: toFailure(error) } satisfies Startup),
  );

  let queue: Promise<void> = Promise.resolve();
  // After `close` no handler runs again: a native session used after its release aborts the
  // whole process (onnxruntime-node throws a Napi::Error that nothing can catch).
  let closed = false;
  port.on("message", (call: Call) => {
    queue = queue.then(async () => {
      let reply: Reply;
      let transfer: readonly TransferListItem[] = [];
      try {
        if (closed) throw new Error(`${call.method}: the worker is closed`);
        if (call.method === "close") closed = true;
        const handlers = await started;
        const handler = handlers[call.method];
        if (!handler) throw new Error(`no such method: ${call.method}`);
        // The client's arguments are whatever it sent for this method: the one untyped seam.
        const value = await (handler as (...args: readonly unknown[]) => unknown)(...call.args);
        if (value instanceof Moved) transfer = value.transfer;
        reply = { id: call.id, ok: true, value: value instanceof Moved ? value.value : value };
      } catch (error) {
        reply = { id: call.id, ok: false, failure: toFailure(error) };
      }
      port.postMessage(reply, transfer);
    });
  });
}
