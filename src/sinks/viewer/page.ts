/**
 * The live viewer page: one panel per stream, the deblurred frame with the original beside
 * it under a slider (drag: left of the line is the original, right the deblurred), and the
 * stream's fps, latency, drops and reconnects; with `--hls`, the deblurred stream as video too,
 * played by hls.js (served by the server from npm's copy), or the browser's own HLS player.
 * Served as is; no build step.
 */
export const viewerPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>dsanet live</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 14px system-ui, sans-serif; margin: 0; background: #111; color: #eee; }
  header { padding: 10px 16px; background: #1b1b1b; }
  main { display: flex; flex-wrap: wrap; gap: 16px; padding: 16px; }
  section { background: #1b1b1b; padding: 8px; border-radius: 6px; }
  canvas, video { display: block; width: min(100%, 640px); background: #000; }
  video { margin-top: 6px; }
  .stats { margin-top: 6px; font-variant-numeric: tabular-nums; }
  .badge { padding: 1px 6px; border-radius: 3px; background: #2a6; }
  .badge.down { background: #c52; }
  input[type=range] { width: 100%; }
</style>
</head>
<body>
<header>dsanet live &mdash; left of the line: original, right: deblurred; boxes: objects found on the deblurred frame. <span id="connection">connecting&hellip;</span></header>
<main id="streams"></main>
<script>
const panels = new Map();
const token = new URLSearchParams(location.search).get("token");

function panel(name) {
  if (panels.has(name)) return panels.get(name);
  const section = document.createElement("section");
  section.dataset.stream = name;
  section.innerHTML = '<div><b></b> <span class="badge">live</span></div><canvas></canvas>' +
    '<input type="range" min="0" max="100" value="50" aria-label="split"><div class="stats"></div>';
  section.querySelector("b").textContent = name;
  document.getElementById("streams").append(section);
  const p = { section, canvas: section.querySelector("canvas"), slider: section.querySelector("input"),
    stats: section.querySelector(".stats"), badge: section.querySelector(".badge"), frames: 0, images: null,
    detections: [], frameWidth: 1 };
  p.slider.addEventListener("input", () => draw(p));
  panels.set(name, p);
  playHls(p, name);
  return p;
}

const withToken = (path) => path + (token ? "?token=" + encodeURIComponent(token) : "");
let hlsPlayer = null;

/** The server's HLS player, hls.js, loaded once; null when the server serves no HLS. */
function loadHlsPlayer() {
  hlsPlayer ??= fetch(withToken("/hls.min.js")).then((r) => r.ok ? r.text() : null).then((code) => {
    if (code === null) return null;
    const script = document.createElement("script");
    script.textContent = code;
    document.head.append(script);
    return window.Hls;
  });
  return hlsPlayer;
}

/** The stream's HLS under its panel, once the server has a first segment of it. */
async function playHls(p, name) {
  const Hls = await loadHlsPlayer();
  if (Hls === null) return;
  const src = withToken("/hls/" + encodeURIComponent(name) + "/index.m3u8");
  while (!(await fetch(src, { cache: "no-store" }).then((r) => r.ok, () => false))) await new Promise((r) => setTimeout(r, 1000));
  const video = document.createElement("video");
  Object.assign(video, { muted: true, autoplay: true, playsInline: true, controls: true });
  video.addEventListener("playing", () => (p.section.dataset.hls = "playing"));
  video.addEventListener("error", () => (p.section.dataset.hls = "error"));
  p.section.append(video);
  // hls.js wherever Media Source Extensions exist: Chromium's own HLS player (since 2025)
  // could not parse these fMP4 segments; the browser's own only where there is no MSE (iOS).
  if (Hls.isSupported()) {
    const hls = new Hls({ liveSyncDurationCount: 2 });
    hls.loadSource(src);
    hls.attachMedia(video);
  } else {
    video.src = src;
  }
  video.play().catch(() => undefined);
}

function draw(p) {
  if (!p.images) return;
  const [before, after] = p.images;
  const ctx = p.canvas.getContext("2d");
  p.canvas.width = after.width;
  p.canvas.height = after.height;
  const split = Math.round(after.width * p.slider.value / 100);
  ctx.drawImage(after, 0, 0);
  ctx.drawImage(before, 0, 0, split, before.height, 0, 0, split, before.height);
  ctx.fillStyle = "#fff";
  ctx.fillRect(split, 0, 1, after.height);
  // Detections (found on the deblurred frame), scaled from frame pixels to the picture.
  const scale = after.width / p.frameWidth;
  ctx.strokeStyle = "#f33";
  ctx.fillStyle = "#f33";
  ctx.lineWidth = 2;
  ctx.font = "12px sans-serif";
  for (const d of p.detections) {
    const [x, y, w, h] = d.box.map((v) => v * scale);
    ctx.strokeRect(x, y, w, h);
    ctx.fillText(d.label + " " + d.score.toFixed(2), x + 2, Math.max(y - 3, 10));
  }
  p.section.dataset.boxes = String(p.detections.length);
}

function showStatus(p, s) {
  p.badge.textContent = s.live ? "live" : "reconnecting";
  p.badge.classList.toggle("down", !s.live);
  p.stats.textContent = s.fps.toFixed(1) + " fps · latency " + Math.round(s.latencyMs) + " ms · dropped " +
    s.dropped + " · reconnects " + s.reconnects + " · deblurred " + Math.round(100 * s.deblurredShare) + "% of the picture · frames shown " + p.frames;
}

async function onFrame(data) {
  const view = new DataView(data);
  const headerLength = view.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(data, 4, headerLength)));
  const start = 4 + headerLength;
  const before = await createImageBitmap(new Blob([new Uint8Array(data, start, header.originalBytes)], { type: "image/jpeg" }));
  const after = await createImageBitmap(new Blob([new Uint8Array(data, start + header.originalBytes)], { type: "image/jpeg" }));
  const p = panel(header.stream);
  p.images = [before, after];
  p.detections = header.detections;
  p.frameWidth = header.width;
  p.frames++;
  p.section.dataset.frames = String(p.frames);
  draw(p);
  showStatus(p, header);
}

function connect() {
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/socket" + (token ? "?token=" + encodeURIComponent(token) : "");
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => { document.getElementById("connection").textContent = "connected"; };
  ws.onmessage = (event) => {
    if (typeof event.data === "string") {
      const s = JSON.parse(event.data);
      showStatus(panel(s.stream), s);
    } else {
      onFrame(event.data);
    }
  };
  ws.onclose = () => {
    document.getElementById("connection").textContent = "disconnected, retrying";
    setTimeout(connect, 1000);
  };
}
connect();
</script>
</body>
</html>
`;
