import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import sharp from "sharp";
import { WebSocketServer, type WebSocket } from "ws";
import { UserError } from "../../errors.js";
import type { Detection, Frame } from "../../types.js";
import { HLS_FILE } from "../hls.js";
import { checkAccess, type AccessOptions } from "./access.js";
import { viewerPage } from "./page.js";

/** hls.js, the HLS player the page loads (the browser's own only where there is no Media Source Extensions). */
const HLS_PLAYER = createRequire(import.meta.url).resolve("hls.js/dist/hls.min.js");

const HLS_TYPES: Record<string, string> = { m3u8: "application/vnd.apple.mpegurl", mp4: "video/mp4", m4s: "video/iso.segment" };

/** A frame message: header length (4 bytes, little-endian), JSON header, image bytes. */
function framed(header: object, ...images: Buffer[]): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length);
  return Buffer.concat([length, json, ...images]);
}

export interface ViewerServerOptions extends AccessOptions {
  readonly host: string;
  readonly port: number;
  /** Width of the JPEGs sent to viewers (height follows the aspect ratio). */
  readonly width: number;
  readonly quality: number;
  /** Prometheus text for /metrics. */
  readonly metrics: () => string | Promise<string>;
  /** What is wrong now, a line each ("cam: hls down for 7.3 s"): /healthz answers 503 with them, 200 "ok" when there is nothing. */
  readonly health?: () => readonly string[];
  /** Where each stream's HLS folder is (`<folder>/<stream>/`), served at /hls/<stream>/; null: no HLS. */
  readonly hls?: string | null;
  readonly onViewers?: (count: number) => void;
}

/** What a viewer shows next to a stream's frame. */
export interface StreamStatus {
  readonly stream: string;
  readonly live: boolean;
  readonly fps: number;
  readonly latencyMs: number;
  readonly dropped: number;
  readonly reconnects: number;
  /** The share of the last frame's pixels that went through the model (deblur.regions auto: what moved). */
  readonly deblurredShare: number;
}

/** A socket may hold this much unsent data before its viewer counts as slow. */
const SLOW_VIEWER_BYTES = 256 * 1024;

/**
 * One viewer's latest-only mailbox: at most one frame waits while another is on the wire,
 * and a newer frame replaces it. A viewer that never reads costs one buffered frame, and
 * never slows the pipeline, the recording or the other viewers.
 */
class Viewer {
  private sending = false;
  private pending: Buffer | null = null;

  constructor(
    readonly socket: WebSocket,
    /** The page's before/after JPEGs, or deblurred frames only for another program ("rgb" or "jpeg"). */
    readonly wants: "page" | "rgb" | "jpeg",
  ) {}

  offer(message: Buffer): void {
    if (this.sending || this.socket.bufferedAmount > SLOW_VIEWER_BYTES) {
      this.pending = message;
      return;
    }
    this.sending = true;
    this.socket.send(message, () => {
      this.sending = false;
      const next = this.pending;
      this.pending = null;
      if (next) this.offer(next);
    });
  }
}

/**
 * HTTP + WebSocket server for live viewers: `/` serves the page, `/socket` carries each
 * stream's original and deblurred frame as JPEGs with their stats and detections, `/frames`
 * hands deblurred frames to other programs (`?format=rgb` raw RGB24, or `jpeg`) with their
 * metadata, `/metrics` is Prometheus text, `/healthz` answers ok, or 503 with what is down. Binds to 127.0.0.1 unless
 * told otherwise; who may connect is `checkAccess`'s to say. Every socket message that carries a frame is: a 4-byte little-endian
 * header length, the JSON header, then the image bytes.
 */
export class ViewerServer {
  private readonly viewers = new Set<Viewer>();
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly options: ViewerServerOptions,
    private readonly http: Server,
    private readonly sockets: WebSocketServer,
  ) {}

  static async start(options: ViewerServerOptions): Promise<ViewerServer> {
    const sockets = new WebSocketServer({ noServer: true });
    const http = createServer();
    const server = new ViewerServer(options, http, sockets);
    http.on("request", (req, res) => server.handle(req, res));
    http.on("upgrade", (req, socket, head) => {
      const access = checkAccess(req, options);
      if (!access.ok) {
        socket.end(`HTTP/1.1 ${access.status} ${access.status === 401 ? "Unauthorized" : "Forbidden"}\r\n\r\n`);
        return;
      }
      const url = new URL(req.url ?? "/", "http://x");
      const wants = url.pathname === "/frames" ? (url.searchParams.get("format") === "rgb" ? "rgb" : "jpeg") : url.pathname === "/socket" ? "page" : null;
      if (!wants) {
        socket.end("HTTP/1.1 404 Not Found\r\n\r\n");
        return;
      }
      sockets.handleUpgrade(req, socket, head, (ws) => server.connect(ws, wants));
    });
    await new Promise<void>((resolve, reject) => {
      http.once("error", (error: NodeJS.ErrnoException) =>
        reject(error.code === "EADDRINUSE" ? new UserError(`${options.host}:${options.port} is already in use: choose another port (--port, viewer.port)`) : error),
      );
      http.listen(options.port, options.host, resolve);
    });
    return server;
  }

  get url(): string {
    const { address, port } = this.http.address() as AddressInfo;
    return `http://${address}:${port}/`;
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  /** The most unsent bytes any one viewer's socket holds: bounded by the latest-only policy. */
  get maxBacklogBytes(): number {
    return Math.max(0, ...[...this.viewers].map((v) => v.socket.bufferedAmount));
  }

  /**
   * Send a deblurred frame, its original and the latest detections to every viewer. Each
   * encoding is made once, and only when someone wants it.
   */
  async publish(original: Frame, sharpFrame: Frame, status: StreamStatus, detections: readonly Detection[] = []): Promise<void> {
    const wanted = new Set([...this.viewers].map((v) => v.wants));
    const messages = new Map<Viewer["wants"], Buffer>();
    const meta = { type: "frame", stream: status.stream, index: sharpFrame.index, ptsMs: sharpFrame.ptsMs, width: sharpFrame.width, height: sharpFrame.height, detections };
    if (wanted.has("page")) {
      const [before, after] = await Promise.all([this.jpeg(original, this.options.width), this.jpeg(sharpFrame, this.options.width)]);
      messages.set("page", framed({ ...meta, ...status, originalBytes: before.length }, before, after));
    }
    if (wanted.has("jpeg")) messages.set("jpeg", framed({ ...meta, format: "jpeg" }, await this.jpeg(sharpFrame, sharpFrame.width)));
    if (wanted.has("rgb")) messages.set("rgb", framed({ ...meta, format: "rgb24" }, Buffer.from(sharpFrame.rgb.buffer, sharpFrame.rgb.byteOffset, sharpFrame.rgb.byteLength)));
    for (const viewer of this.viewers) {
      const message = messages.get(viewer.wants);
      if (message) viewer.offer(message);
    }
  }

  /** Tell viewers a stream's state changed (e.g. reconnecting), without a frame. */
  status(status: StreamStatus): void {
    const message = JSON.stringify({ type: "status", ...status });
    for (const viewer of this.viewers) if (viewer.wants === "page") viewer.socket.send(message);
  }

  /** Stop listening and disconnect every viewer. Safe to call twice: both calls settle together. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const viewer of this.viewers) viewer.socket.terminate();
      this.sockets.close();
      await new Promise<void>((resolve) => this.http.close(() => resolve()));
    })();
    return this.closing;
  }

  private connect(socket: WebSocket, wants: Viewer["wants"]): void {
    const viewer = new Viewer(socket, wants);
    this.viewers.add(viewer);
    this.options.onViewers?.(this.viewers.size);
    socket.on("close", () => {
      this.viewers.delete(viewer);
      this.options.onViewers?.(this.viewers.size);
    });
    socket.on("error", () => socket.terminate());
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/healthz") {
      const problems = this.options.health?.() ?? [];
      return void res.writeHead(problems.length === 0 ? 200 : 503, { "content-type": "text/plain" }).end(problems.length === 0 ? "ok\n" : `${problems.join("\n")}\n`);
    }
    const access = checkAccess(req, this.options);
    if (!access.ok) return void res.writeHead(access.status, { "content-type": "text/plain" }).end(`${access.reason}\n`);
    if (path === "/") return void res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(viewerPage);
    const hls = /^\/hls\/([\w-]+)\/([^/]+)$/.exec(path);
    if (hls?.[1] && hls[2] && this.options.hls) return void this.hlsFile(hls[1], hls[2], new URL(req.url ?? "/", "http://x").searchParams.get("token"), res);
    if (path === "/hls.min.js" && this.options.hls) return void this.file(HLS_PLAYER, "text/javascript", res);
    if (path === "/metrics") {
      return void Promise.resolve()
        .then(() => this.options.metrics())
        .then(
          (text) => res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(text),
          (error: Error) => res.writeHead(500, { "content-type": "text/plain" }).end(`${error.message}\n`),
        );
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  }

  /**
   * A file of a stream's HLS folder. With a token, the playlist's own references (segments, the
   * init segment) carry it too: a player follows them as they are, and any player (VLC, an NVR)
   * can then play `/hls/<stream>/index.m3u8?token=...`.
   */
  private hlsFile(stream: string, name: string, token: string | null, res: ServerResponse): void {
    const folder = this.options.hls;
    if (!folder || !HLS_FILE.test(name)) return void res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    const type = HLS_TYPES[name.slice(name.lastIndexOf(".") + 1)] ?? "application/octet-stream";
    const path = join(folder, stream, name);
    if (!name.endsWith(".m3u8")) return this.file(path, type, res);
    readFile(path, "utf8").then(
      (playlist) => {
        const withToken = token ? playlist.replace(/^(?!#)(\S+)$/gm, `$1?token=${encodeURIComponent(token)}`).replace(/URI="([^"]+)"/g, `URI="$1?token=${encodeURIComponent(token)}"`) : playlist;
        // A live playlist changes every second: no cache may keep it.
        res.writeHead(200, { "content-type": type, "cache-control": "no-cache" }).end(withToken);
      },
      () => res.writeHead(404, { "content-type": "text/plain" }).end("no HLS stream (yet) for this stream\n"),
    );
  }

  private file(path: string, type: string, res: ServerResponse): void {
    readFile(path).then(
      (bytes) => res.writeHead(200, { "content-type": type }).end(bytes),
      () => res.writeHead(404, { "content-type": "text/plain" }).end("not found\n"),
    );
  }

  private jpeg(frame: Frame, width: number): Promise<Buffer> {
    return sharp(frame.rgb, { raw: { width: frame.width, height: frame.height, channels: 3 } })
      .resize({ width: Math.min(width, frame.width) })
      .jpeg({ quality: this.options.quality })
      .toBuffer();
  }
}
