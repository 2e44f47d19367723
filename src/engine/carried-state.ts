import ort from "onnxruntime-node";
import type { EngineState } from "./engine.js";

/** (N, C, H'/8, W'/8): the ConvLSTM state of N rows. */
export type StateDims = readonly [number, number, number, number];

/** A batch's `h` and `c` inputs, and what to free once the inference has read them. */
export interface BatchState {
  readonly h: ort.Tensor;
  readonly c: ort.Tensor;
  release(): void;
}

/**
 * How an onnx engine carries the ConvLSTM state: the rows' states made into a batch's `h`, `c`
 * (a row without a state starts from zeros), and the batch's `h_out`, `c_out` made into a state
 * per row. Each state owns what it holds, so any row may go on alone or in another batch.
 */
export interface CarriedState {
  batch(states: readonly (EngineState | null)[], dims: StateDims): Promise<BatchState>;
  rows(h: ort.Tensor, c: ort.Tensor, dims: StateDims): Promise<EngineState[]>;
  close(): Promise<void>;
}

class TensorState implements EngineState {
  constructor(
    readonly h: ort.Tensor,
    readonly c: ort.Tensor,
  ) {}
  dispose(): void {
    this.h.dispose();
    this.c.dispose();
  }
}

const rowSize = ([, channels, height, width]: StateDims) => channels * height * width;
const zeros = (dims: StateDims) => new ort.Tensor("float32", new Float32Array(dims[0] * rowSize(dims)), [...dims]);
const own = (states: readonly (EngineState | null)[]) => states.map((state) => (state instanceof TensorState ? state : null));

/** The state in the process's memory: the CPU provider's (and any provider's that downloads it). */
export const stateInMemory: CarriedState = {
  async batch(states, dims) {
    const previous = own(states);
    const size = rowSize(dims);
    const stack = (part: "h" | "c"): ort.Tensor => {
      const [first] = previous;
      if (previous.length === 1) return first?.[part] ?? zeros(dims);
      const batch = new Float32Array(previous.length * size);
      previous.forEach((state, i) => state && batch.set(state[part].data as Float32Array, i * size));
      return new ort.Tensor("float32", batch, [...dims]);
    };
    // The rows' tensors belong to their states, the stacked copy to the garbage collector.
    return { h: stack("h"), c: stack("c"), release: () => undefined };
  },
  async rows(h, c, dims) {
    if (dims[0] === 1) return [new TensorState(h, c)];
    // Each row a view of the batch's: it goes back into a batch (copied) or alone (as is).
    const size = rowSize(dims);
    const row = (tensor: ort.Tensor, i: number) => new ort.Tensor("float32", (tensor.data as Float32Array).subarray(i * size, (i + 1) * size), [1, ...dims.slice(1)]);
    return Array.from({ length: dims[0] }, (_, i) => new TensorState(row(h, i), row(c, i)));
  },
  async close() {},
};

// Two one-node graphs that move rows between GPU tensors without a trip through memory
// (onnxruntime-node 1.30 cannot download a 'gpu-buffer' tensor: getData() aborts the process).
// Concat(a, b) on axis 0; Slice(x, start, end) on axis 0. Both (N, C, H, W) float.
const CONCAT_GRAPH =
  "CAgSDWRzYW5ldC1zdHJlYW06hwEKHgoBYQoBYhIBeSIGQ29uY2F0KgsKBGF4aXMYAKABAhIBZ1ofCgFhEhoKGAgBEhQKAxIBbQoDEgFjCgMSAWgKAxIBd1ofCgFiEhoKGAgBEhQKAxIBbgoDEgFjCgMSAWgKAxIBd2IgCgF5EhsKGQgBEhUKBBICbW4KAxIBYwoDEgFoCgMSAXdCBAoAEBE=";
const SLICE_GRAPH =
  "CAgSDWRzYW5ldC1zdHJlYW06iAEKGQoBeAoFc3RhcnQKA2VuZBIBeSIFU2xpY2USAWdaHwoBeBIaChgIARIUCgMSAW0KAxIBYwoDEgFoCgMSAXdaEwoFc3RhcnQSCgoICAcSBAoCCAFaEQoDZW5kEgoKCAgHEgQKAggBYh8KAXkSGgoYCAESFAoDEgFuCgMSAWMKAxIBaAoDEgF3QgQKABAR";

/**
 * The state kept on the GPU between frames: `h_out`, `c_out` stay GPU buffers (the session's
 * preferredOutputLocation) and go back in as the next frame's `h`, `c`. A single row's state is
 * the inference's own output; a batch's is cut into rows, and rows are stacked into a batch, by
 * two one-node sessions on the same provider (the same device), so batching costs GPU copies only.
 */
export async function stateOnGpu(provider: ort.InferenceSession.ExecutionProviderConfig): Promise<CarriedState> {
  const onGpu: ort.InferenceSession.SessionOptions = { executionProviders: [provider], preferredOutputLocation: "gpu-buffer" };
  const [concat, slice] = await Promise.all([
    ort.InferenceSession.create(Buffer.from(CONCAT_GRAPH, "base64"), onGpu),
    ort.InferenceSession.create(Buffer.from(SLICE_GRAPH, "base64"), onGpu),
  ]);
  const index = (i: number) => new ort.Tensor("int64", BigInt64Array.of(BigInt(i)), [1]);
  const output = async (session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<ort.Tensor> => {
    const { y } = await session.run(feeds);
    if (!y) throw new Error("a state copy on the GPU gave no output");
    return y;
  };
  return {
    async batch(states, dims) {
      const previous = own(states);
      const [first] = previous;
      if (previous.length === 1) return first ? { h: first.h, c: first.c, release: () => undefined } : { h: zeros(dims), c: zeros(dims), release: () => undefined };
      const one: StateDims = [1, dims[1], dims[2], dims[3]];
      const stack = async (part: "h" | "c"): Promise<ort.Tensor> => {
        const rows = previous.map((state) => state?.[part] ?? zeros(one));
        let stacked = rows[0] ?? zeros(one);
        for (const row of rows.slice(1)) {
          const next = await output(concat, { a: stacked, b: row });
          if (stacked !== rows[0]) stacked.dispose();
          stacked = next;
        }
        return stacked;
      };
      const [h, c] = [await stack("h"), await stack("c")];
      return { h, c, release: () => (h.dispose(), c.dispose()) };
    },
    async rows(h, c, dims) {
      if (dims[0] === 1) return [new TensorState(h, c)];
      const states: EngineState[] = [];
      for (let i = 0; i < dims[0]; i++) {
        const cut = (tensor: ort.Tensor) => output(slice, { x: tensor, start: index(i), end: index(i + 1) });
        states.push(new TensorState(await cut(h), await cut(c)));
      }
      h.dispose();
      c.dispose();
      return states;
    },
    async close() {
      await Promise.all([concat.release(), slice.release()]);
    },
  };
}
