import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./rtsp.js";

/** A real redis-server on loopback, for the queue's tests: its own port and folder. */
export class RedisServer {
  private process: ChildProcess | null = null;
  readonly dir = mkdtempSync(join(process.env.DSANET_TEST_TMP ?? tmpdir(), "dsanet-redis-"));

  private constructor(
    readonly port: number,
    private readonly appendOnly: boolean,
  ) {}

  /** appendOnly false: no persistence at all, as a Redis set up without AOF: a restart empties it. */
  static async start({ appendOnly = true } = {}): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), appendOnly);
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** (Re)start it; the append-only file (unless turned off) keeps the queue across restarts, as production should. */
  async restart(): Promise<void> {
    const aof = this.appendOnly ? "yes" : "no";
    const child = spawn("redis-server", ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", aof, "--dir", this.dir], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    this.process = child;
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on("data", (chunk: Buffer) => chunk.toString().includes("Ready to accept connections") && resolve());
      child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}`)));
    });
  }

  /** A clean shutdown (SIGTERM: Redis flushes its append-only file first). */
  async stop(): Promise<void> {
    const child = this.process;
    this.process = null;
    if (!child || child.exitCode !== null) return;
    child.kill("SIGTERM");
    await once(child, "exit");
  }
}
