import WebSocket from "ws";
import type { RunningCommand } from "./command.js";
import { until } from "./until.js";

/** The environment that opens a dsanet's inspector on a free loopback port, for `killEngineWorker`. */
export const INSPECTABLE = { NODE_OPTIONS: "--inspect=127.0.0.1:0" } as const;

/**
 * Make the engine's worker thread of `dsanet` (started with `INSPECTABLE`) die, as a bug in a
 * native binding's callback would: an error thrown in the thread that nothing catches. A thread
 * has no process of its own to SIGKILL; Node's inspector reaches it from outside (the
 * NodeWorker domain), and dsanet carries no hook for tests.
 */
export async function killEngineWorker(dsanet: RunningCommand): Promise<void> {
  const url = await until(() => /Debugger listening on (ws:\/\/\S+)/.exec(dsanet.stderr())?.[1], 30_000, "dsanet's inspector");
  const socket = new WebSocket(url);
  let id = 0;
  const send = (method: string, params: object) => socket.send(JSON.stringify({ id: ++id, method, params }));
  try {
    await new Promise<void>((resolve, reject) => {
      socket.on("error", reject);
      socket.on("open", () => send("NodeWorker.enable", { waitForDebuggerOnStart: false }));
      socket.on("message", (data: Buffer) => {
        const message = JSON.parse(data.toString()) as { method?: string; params?: { sessionId: string; workerInfo?: { url: string } } };
        if (message.method === "NodeWorker.attachedToWorker" && message.params?.workerInfo?.url.includes("engine-worker")) {
          const expression = "setImmediate(() => { throw new Error('killed by the test'); })";
          send("NodeWorker.sendMessageToWorker", { sessionId: message.params.sessionId, message: JSON.stringify({ id: 1, method: "Runtime.evaluate", params: { expression } }) });
        }
        if (message.method === "NodeWorker.detachedFromWorker") resolve();
      });
    });
  } finally {
    socket.close();
  }
}
