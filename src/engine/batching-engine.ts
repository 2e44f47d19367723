import type { Engine, EngineInput, EngineOutput } from "./engine.js";

export interface BatchingOptions {
  /** The most images one inference takes: one per camera. */
  readonly maxRows: number;
  /** How long the first call waiting may wait for others to fill its batch. */
  readonly waitMs: number;
}

/** A call waiting for its batch. */
interface Waiting {
  readonly inputs: readonly EngineInput[];
  readonly height: number;
  readonly width: number;
  readonly since: number;
  readonly resolve: (outputs: EngineOutput[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * `engine`, with the calls of several streams sharing inferences: calls that arrive while the
 * engine is busy, or within `waitMs` of the first one waiting, go as one batch (a row each, with
 * its own stream's state) of up to `maxRows` images; frames of another size wait for a batch of
 * their own. DeepStream's stream muxer (batch-size, batched-push-timeout) and Triton's dynamic
 * batcher (preferred batch size, max queue delay) fill a GPU the same way.
 *
 * One batch runs at a time, so those who call meanwhile gather for the next. `close` sends the
 * calls still waiting at once, then closes `engine`, which finishes them first.
 */
export function batchingEngine(engine: Engine, options: BatchingOptions): Engine {
  // Nothing to gather: calls go straight to the engine, which queues them and starts each
  // without waiting for the previous one's reply to come back here.
  if (options.maxRows === 1) return engine;
  const waiting: Waiting[] = [];
  let inFlight = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  /** The oldest call, and the calls of its size after it while they fit in `maxRows`. */
  const takeBatch = (): Waiting[] => {
    const [first] = waiting;
    const batch: Waiting[] = [];
    let rows = 0;
    for (const call of waiting) {
      if (call.height !== first?.height || call.width !== first.width) continue;
      if (batch.length > 0 && rows + call.inputs.length > options.maxRows) break;
      batch.push(call);
      rows += call.inputs.length;
    }
    for (const call of batch) waiting.splice(waiting.indexOf(call), 1);
    return batch;
  };

  const send = (batch: readonly Waiting[]): void => {
    const [first] = batch;
    if (!first) return;
    inFlight++;
    engine
      .run(
        batch.flatMap((call) => call.inputs),
        first.height,
        first.width,
      )
      .then(
        (outputs) => {
          let row = 0;
          for (const call of batch) call.resolve(outputs.slice(row, (row += call.inputs.length)));
        },
        (error: unknown) => batch.forEach((call) => call.reject(error)),
      )
      .finally(() => {
        inFlight--;
        dispatch();
      });
  };

  /** Send the next batch once the engine is free and the batch is full or has waited enough. */
  const dispatch = (): void => {
    clearTimeout(timer);
    const [first] = waiting;
    if (closed || inFlight > 0 || !first) return;
    const rows = waiting.filter((call) => call.height === first.height && call.width === first.width).reduce((sum, call) => sum + call.inputs.length, 0);
    const waitLeftMs = first.since + options.waitMs - performance.now();
    if (rows < options.maxRows && waitLeftMs > 0) timer = setTimeout(dispatch, waitLeftMs);
    else send(takeBatch());
  };

  return {
    name: `${engine.name}, batches of up to ${options.maxRows}`,
    stride: engine.stride,
    scales: engine.scales,
    carriesState: engine.carriesState,
    // A frame shares its inference's memory with the batch's other rows: tiles are planned to fit a full batch.
    bytesPerPixel: engine.bytesPerPixel * options.maxRows,
    regionTileLimit: engine.regionTileLimit,
    regionContext: engine.regionContext,
    run(inputs: readonly EngineInput[], height: number, width: number): Promise<EngineOutput[]> {
      if (closed) return Promise.reject(new Error(`${engine.name}: the engine is closed`));
      return new Promise((resolve, reject) => {
        waiting.push({ inputs, height, width, since: performance.now(), resolve, reject });
        dispatch();
      });
    },
    async close(): Promise<void> {
      if (!closed) {
        closed = true;
        clearTimeout(timer);
        while (waiting.length > 0) send(takeBatch());
      }
      await engine.close();
    },
  };
}
