import { once } from "node:events";
import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { ViewerServer, type StreamStatus } from "../../src/sinks/viewer/server.js";
import type { Frame } from "../../src/types.js";
import { until } from "../helpers/until.js";

const frame = (index: number): Frame => {
  // A noisy frame, so each JPEG is tens of kilobytes and a stuck socket fills quickly.
  const rgb = new Uint8Array(320 * 240 * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (Math.imul(i + index * 7919, 2654435761) >>> 24) & 255;
  return { stream: "cam", index, ptsMs: index * 100, width: 320, height: 240, rgb };
};
const status: StreamStatus = { stream: "cam", live: true, fps: 10, latencyMs: 100, dropped: 0, reconnects: 0, deblurredShare: 1 };

let server: ViewerServer | null = null;
afterEach(async () => server?.close());

const start = (token: string | null) =>
  ViewerServer.start({ host: "127.0.0.1", port: 0, token, allowedHosts: [], allowedOrigins: [], width: 320, quality: 90, metrics: () => "dsanet_viewers 0\n" });

function open(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, { headers });
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

/** A GET with any headers (fetch will not send a Host of our choosing). */
function get(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on("error", reject)
      .end();
  });
}

describe("viewer server", () => {
  it("a viewer that never reads does not hold back the others", async () => {
    server = await start(null);
    const socketUrl = server.url.replace("http", "ws") + "socket";
    const stuck = await open(socketUrl);
    // Stop reading from the socket: the kernel buffers fill and then nothing drains.
    (stuck as unknown as { _socket: { pause(): void } })._socket.pause();
    const reader = await open(socketUrl);
    await until(() => server?.viewerCount === 2, 10_000, "both viewers");

    const frames = 150; // ~15 MB of messages: far more than the kernel's socket buffers hold
    for (let i = 0; i < frames; i++) {
      // The reader gets each frame while the stuck viewer sits on a full socket.
      const received = once(reader, "message");
      await server.publish(frame(i), frame(i), status);
      await received;
    }
    expect(server.viewerCount).toBe(2);
    // The stuck viewer costs at most the slow-viewer threshold plus one frame, not a backlog.
    expect(server.maxBacklogBytes).toBeLessThan(1_000_000);
    stuck.terminate();
    reader.close();
  });

  it("hands deblurred frames to other programs as raw RGB or JPEG, with metadata and detections", async () => {
    server = await start(null);
    const rgbClient = await open(server.url.replace("http", "ws") + "frames?format=rgb");
    const jpegClient = await open(server.url.replace("http", "ws") + "frames?format=jpeg");
    const next = (ws: WebSocket) => new Promise<Buffer>((resolve) => ws.once("message", (data: Buffer) => resolve(data)));
    const [rgbMessage, jpegMessage] = [next(rgbClient), next(jpegClient)];
    const sharp = frame(7);
    const boxes = [{ label: "person", score: 0.8, box: [10, 20, 30, 60] as const }];
    await server.publish(frame(7), sharp, status, boxes);
    const split = (message: Buffer) => {
      const length = message.readUInt32LE(0);
      return [JSON.parse(message.subarray(4, 4 + length).toString()) as Record<string, unknown>, message.subarray(4 + length)] as const;
    };
    const [rgbHeader, rgb] = split(await rgbMessage);
    expect(rgbHeader).toMatchObject({ type: "frame", stream: "cam", index: 7, ptsMs: 700, width: 320, height: 240, format: "rgb24", detections: boxes });
    expect(Buffer.from(sharp.rgb).equals(rgb)).toBe(true);
    const [jpegHeader, jpeg] = split(await jpegMessage);
    expect(jpegHeader).toMatchObject({ format: "jpeg", width: 320 });
    expect([jpeg[0], jpeg[1]]).toEqual([0xff, 0xd8]);
    rgbClient.close();
    jpegClient.close();
  });

  it("requires the token for the page, the socket and /metrics, but not /healthz", async () => {
    server = await start("s3cret-token");
    const base = server.url;
    expect((await fetch(base)).status).toBe(401);
    expect((await fetch(`${base}?token=wrong-token`)).status).toBe(401);
    expect((await fetch(`${base}metrics`)).status).toBe(401);
    expect((await fetch(`${base}healthz`)).status).toBe(200);
    const page = await fetch(`${base}?token=s3cret-token`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("dsanet live");
    expect(await (await fetch(`${base}metrics?token=s3cret-token`)).text()).toContain("dsanet_viewers");
    await expect(open(base.replace("http", "ws") + "socket")).rejects.toThrow(/401/);
    (await open(base.replace("http", "ws") + "socket?token=s3cret-token")).close();
  });

  it("refuses pages from other sites and names it does not serve (DNS rebinding), with no token set", async () => {
    server = await start(null);
    const socket = server.url.replace("http", "ws") + "socket";
    // A page on evil.example opening a socket to a camera server on the victim's loopback.
    await expect(open(socket, { Origin: "http://evil.example" })).rejects.toThrow(/403/);
    // evil.example re-pointed at 127.0.0.1: the browser thinks it is the same origin.
    await expect(open(socket, { Host: "evil.example", Origin: "http://evil.example" })).rejects.toThrow(/403/);
    const rebound = await get(server.url, { Host: "evil.example" });
    expect(rebound.status).toBe(403);
    expect(rebound.body).toMatch(/host evil\.example is not served here/);
    // The page's own socket, localhost by name, and programs that send no Origin still work.
    const { port } = new URL(server.url);
    (await open(socket, { Origin: server.url.replace(/\/$/, "") })).close();
    (await open(`ws://localhost:${port}/socket`, { Origin: `http://localhost:${port}` })).close();
    (await open(socket)).close();
    expect((await fetch(`http://localhost:${port}/`)).status).toBe(200);
  });

  it("serves the host names and origins it is told to allow", async () => {
    server = await ViewerServer.start({
      host: "127.0.0.1", port: 0, token: null, allowedHosts: ["cams.example.org"], allowedOrigins: ["https://ops.example.org"], width: 320, quality: 90, metrics: () => "",
    });
    const socket = server.url.replace("http", "ws") + "socket";
    expect((await get(server.url, { Host: "cams.example.org" })).status).toBe(200);
    (await open(socket, { Origin: "https://ops.example.org" })).close();
    await expect(open(socket, { Origin: "https://other.example.org" })).rejects.toThrow(/403/);
  });
});
