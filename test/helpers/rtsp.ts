import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { join } from "node:path";
import { REPO } from "./clips.js";

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

/** GStreamer's RTSP server on 127.0.0.1 (test/helpers/rtsp_server.py), started and stopped at will. */
export class RtspServer {
  private process: ChildProcess | null = null;

  /** Serves `source`: a file (played once per session) or a moving test pattern, "WIDTHxHEIGHT@FPS". */
  constructor(
    readonly port: number,
    private readonly source = "160x96@10",
  ) {}

  get url(): string {
    return `rtsp://127.0.0.1:${this.port}/live`;
  }

  /** Start it, unless it is running already. */
  async start(): Promise<void> {
    if (this.process && this.process.exitCode === null) return;
    const args = [join(REPO, "test/helpers/rtsp_server.py"), String(this.port), this.source];
    const child = spawn("/usr/bin/python3", args, { stdio: ["ignore", "pipe", "inherit"] });
    this.process = child;
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on("data", (chunk: Buffer) => chunk.toString().includes("ready") && resolve());
      child.once("exit", (code) => reject(new Error(`rtsp server exited with ${code}`)));
    });
  }

  /** Freeze it: the connection stays open and no frame comes (a hung camera). */
  pause(): void {
    this.process?.kill("SIGSTOP");
  }

  resume(): void {
    this.process?.kill("SIGCONT");
  }

  /** Kill it hard, as a crashed camera or a cut cable would. */
  async kill(): Promise<void> {
    const child = this.process;
    this.process = null;
    if (!child || child.exitCode !== null) return;
    child.kill("SIGKILL");
    await once(child, "exit");
  }
}
