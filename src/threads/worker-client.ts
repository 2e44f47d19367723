import { Worker, type TransferListItem } from "node:worker_threads";
import { fromFailure, toFailure, type Reply, type Startup } from "./protocol.js";

/** Workers started and not yet closed: exitAfterWorkers waits for them. */
const running = new Set<WorkerClient>();

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/**
 * The calling side of a module that runs in a worker thread of its own (see `serveInWorker`).
 * Native inference (onnxruntime-node, TensorFlow.js) blocks the thread it runs on for the
 * whole call; in a worker it leaves this thread's event loop free to read cameras, write
 * files and serve viewers meanwhile.
 *
 * A failure to start rejects `start`; a later death rejects every pending call with its
 * cause. `close` is safe to call twice: calls already made finish first, later ones are refused.
 */
export class WorkerClient {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closing: Promise<void> | null = null;
  private death: Error | null = null;
  /** Resolves with the cause once the worker has died by itself (an uncaught error, an exit of its own); never once close() ended it. */
  readonly died: Promise<Error>;
  private declareDeath: (cause: Error) => void = () => undefined;

  private constructor(
    private readonly worker: Worker,
    readonly label: string,
  ) {
    this.died = new Promise((resolve) => (this.declareDeath = resolve));
    worker.on("message", (reply: Reply) => {
      const call = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.ok) call?.resolve(reply.value);
      else call?.reject(fromFailure(reply.failure));
    });
    worker.on("error", (error) => this.die(new Error(`${label} worker died: ${error.message}`)));
    worker.on("exit", (code) => this.die(new Error(`${label} worker exited (code ${code})`)));
    running.add(this);
  }

  /** Start `module` (a file that calls `serveInWorker`) with `data`; resolves once it is ready. */
  static async start(module: URL, data: unknown, label: string): Promise<WorkerClient> {
    const worker = module.pathname.endsWith(".ts")
      ? // Running from source (tsx, vitest): the worker needs TypeScript support of its own.
        new Worker(`import("tsx/esm/api").then(({ register }) => { register(); return import(${JSON.stringify(module.href)}); })`, {
          eval: true,
          workerData: data,
        })
      : new Worker(module, { workerData: data });
    const startup = await new Promise<Startup>((resolve) => {
      const settle = (result: Startup) => {
        worker.off("message", settle).off("error", failed).off("exit", exited);
        resolve(result);
      };
      const failed = (error: Error) => settle({ ready: false, failure: toFailure(error) });
      const exited = (code: number) => settle({ ready: false, failure: toFailure(new Error(`exited (code ${code}) while starting`)) });
      worker.on("message", settle).on("error", failed).on("exit", exited);
    });
    if (!startup.ready) {
      await worker.terminate();
      throw fromFailure(startup.failure);
    }
    return new WorkerClient(worker, label);
  }

  /** Call `method` in the worker. Values are copied; buffers in `transfer` are moved instead. */
  call<T>(method: string, args: readonly unknown[], transfer: readonly TransferListItem[] = []): Promise<T> {
    if (this.death) return Promise.reject(this.death);
    if (this.closing) return Promise.reject(new Error(`${this.label} is closed`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: (value) => resolve(value as T), reject });
      this.worker.postMessage({ id, method, args }, transfer);
    });
  }

  /**
   * Let the worker finish what it was asked (its `close` handler included), then stop it.
   * Calls made after this are refused at once. The worker is terminated only once it is
   * idle: terminating it during a native call (an inference) aborts the process.
   */
  close(): Promise<void> {
    if (!this.closing) {
      const closed = this.call<unknown>("close", []).catch(() => undefined);
      this.closing = closed.then(async () => {
        this.fail(new Error(`${this.label} is closed`));
        await this.worker.terminate();
        running.delete(this);
      });
    }
    return this.closing;
  }

  /** The worker ended; unless close() ended it, that is a death (its first cause, an error before its exit). */
  private die(cause: Error): void {
    if (!this.closing) this.declareDeath(cause);
    this.fail(cause);
  }

  private fail(error: Error): void {
    this.death ??= error;
    for (const call of this.pending.values()) call.reject(this.death);
    this.pending.clear();
  }
}

/**
 * Exit the process as soon as no worker is inside a native call. process.exit during an
 * inference aborts the whole process (onnxruntime-node's callback throws into a stopped thread:
 * SIGABRT and a C++ message instead of the exit code): so each worker first finishes the calls
 * it already has, one inference or a few, and nothing else is waited for.
 */
export async function exitAfterWorkers(code: number): Promise<never> {
  await Promise.all([...running].map((worker) => worker.close()));
  process.exit(code);
}
