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

  /** Serves `source`: a file (played once per session), a moving test pattern "WIDTHxHEIGHT@FPS", "flash:WIDTHxHEIGHT@FPS" or "snow:WIDTHxHEIGHT@FPS" (see rtsp_server.py). */
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

  /** Send the server a signal: SIGUSR1 flips a `flash:` source black <-> white. */
  signal(signal: NodeJS.Signals): void {
    this.process?.kill(signal);
  }

  /** Kill it hard, as a crashed camera or a cut cable would. */
  async kill(): Promise<void> {
    await killHard(this.process);
    this.process = null;
  }
}

/** SIGKILL a child process, unless it has exited, and wait until it has. */
async function killHard(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGKILL");
  await once(child, "exit");
}

/**
 * An RTSP server that takes one publisher at rtsp://127.0.0.1:PORT/PATH, as MediaMTX or
 * go2rtc take dsanet's `--publish`: ffmpeg's own server mode (`-rtsp_flags listen`), which
 * decodes what it is sent and says what came (the codec, each frame's time). It serves one
 * publisher's session; `start` again for the next, as a restarted server would.
 */
export class RtspListener {
  private process: ChildProcess | null = null;
  /** Presentation times (s) of the frames received, since the last start. */
  times: number[] = [];
  /** What ffmpeg said of the stream it received, e.g. "h264 (High), yuv420p(progressive), 160x96". */
  stream = "";
  /** How its ffmpeg ended, with the last lines it printed: null while it listens. */
  ended: string | null = null;

  constructor(
    readonly port: number,
    readonly path: string,
  ) {}

  get url(): string {
    return `rtsp://127.0.0.1:${this.port}/${this.path}`;
  }

  /** Whether it still listens: a publisher's session that ended (its ffmpeg killed) ends it too. */
  get listening(): boolean {
    return this.process !== null && this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Listen until a publisher has come and gone, or `kill`. */
  start(): void {
    this.times = [];
    this.stream = "";
    this.ended = null;
    const said: string[] = [];
    const child = spawn("ffmpeg", ["-hide_banner", "-nostdin", "-v", "info", "-rtsp_flags", "listen", "-i", this.url, "-vf", "showinfo", "-f", "null", "-"], { stdio: ["ignore", "ignore", "pipe"] });
    this.process = child;
    let partial = "";
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      const lines = (partial + chunk).split(/\r?\n|\r/);
      partial = lines.pop() ?? "";
      for (const line of lines) {
        const time = /\bn:\s*\d+\s.*\bpts_time:\s*([\d.]+)/.exec(line);
        if (time?.[1]) this.times.push(Number(time[1]));
        const video = /Stream #0:0.*: Video: (.+)/.exec(line);
        if (video?.[1] && !this.stream) this.stream = video[1];
        if (!line.includes("Parsed_showinfo") && said.push(line) > 10) said.shift();
      }
    });
    child.once("close", (code, signal) => {
      this.ended = `ffmpeg exited (${code ?? signal}) after ${this.times.length} frames: ${[...said, partial].join(" | ")}`;
    });
  }

  /** Freeze it: its session stays open and it reads nothing more (a hung server). */
  pause(): void {
    this.process?.kill("SIGSTOP");
  }

  /** Kill it hard, as a crashed server would go. */
  async kill(): Promise<void> {
    await killHard(this.process);
    this.process = null;
  }
}

/** What a test file kills in its afterAll: the servers its tests started. */
export type Started = { kill(): Promise<void> }[];

/**
 * What a `serve --publish` test needs: a camera (`source`, by default a 160x96 moving test pattern
 * at 10 fps) and an RTSP server listening for the deblurred stream at `/front-deblurred`. Both go
 * into `started`, for the test file's afterAll to kill.
 */
export async function cameraAndPublishServer(started: Started, source = "160x96@10"): Promise<{ camera: RtspServer; listener: RtspListener }> {
  const camera = new RtspServer(await freePort(), source);
  started.push(camera);
  await camera.start();
  const listener = new RtspListener(await freePort(), "front-deblurred");
  started.push(listener);
  listener.start();
  return { camera, listener };
}
