import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { createRequire } from "node:module";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { UserError } from "../errors.js";
import { log } from "../log.js";

export interface Binary {
  readonly path: string;
  /** Where it came from: an environment variable, a package, or PATH. */
  readonly origin: string;
  /** First line of `-version`. */
  readonly version: string;
}

const require = createRequire(import.meta.url);

function executable(path: string | null | undefined): path is string {
  if (!path) return false;
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && executable(join(dir, name))) return join(dir, name);
  }
  return null;
}

/** The path an optional npm package exports, or null when it is not installed. */
function fromPackage(name: string): string | null {
  try {
    const exported: unknown = require(name);
    if (typeof exported === "string") return exported;
    if (exported && typeof exported === "object" && "path" in exported && typeof exported.path === "string") return exported.path;
  } catch {
    // not installed: its download failed or it was left out, which is allowed
  }
  return null;
}

async function versionOf(path: string): Promise<string> {
  const { stdout } = await promisify(execFile)(path, ["-version"]);
  return stdout.split("\n")[0] ?? "unknown version";
}

type Candidate = readonly [origin: string, path: () => string | null];

async function locate(tool: "ffmpeg" | "ffprobe", candidates: readonly Candidate[]): Promise<Binary> {
  for (const [origin, find] of candidates) {
    const path = find();
    if (executable(path)) {
      const binary = { path, origin, version: await versionOf(path) };
      log.info(`${tool}: ${binary.path} (${origin}): ${binary.version}`);
      return binary;
    }
  }
  const env = tool === "ffmpeg" ? "FFMPEG_PATH" : "FFPROBE_PATH";
  throw new UserError(`${tool} not found: install it (apt install ffmpeg), or set ${env}, or npm install the optional @${tool}-installer/${tool}`);
}

const answers = new Map<string, Promise<string>>();

/** What `binary args` prints (a help or a list), asked once per binary and question. */
function ask(binary: Binary, args: readonly string[]): Promise<string> {
  const key = [binary.path, ...args].join(" ");
  let answer = answers.get(key);
  if (!answer) {
    answer = promisify(execFile)(binary.path, args).then((r) => r.stdout);
    answers.set(key, answer);
  }
  return answer;
}

/**
 * The input options that make an ffmpeg or ffprobe read RTSP over `transport`, giving up on a
 * socket silent for `timeoutMs`. Builds from before ffmpeg 5 call that timeout `-stimeout`,
 * and there `-timeout` means listen mode: the bundled 4.1 (@ffmpeg-installer) then waits for
 * a camera to connect to it and never reads one. Builds from git have no version number to
 * go by, so ask the binary which options its RTSP demuxer has.
 */
export async function rtspInputArgs(binary: Binary, transport: "tcp" | "udp", timeoutMs: number): Promise<string[]> {
  const help = await ask(binary, ["-hide_banner", "-h", "demuxer=rtsp"]);
  const timeout = /^\s*-stimeout\s/m.test(help) ? "-stimeout" : "-timeout";
  return ["-rtsp_transport", transport, timeout, String(timeoutMs * 1000)];
}

/** Whether this ffmpeg build has a filter (old static builds lack e.g. scdet). */
export async function hasFilter(binary: Binary, name: string): Promise<boolean> {
  return new RegExp(`^\\s*\\S+\\s+${name}\\s`, "m").test(await ask(binary, ["-hide_banner", "-filters"]));
}

/** Whether this build's muxer has an option (the bundled 4.1's mp4 muxer lacks movie_timescale). */
export async function hasMuxerOption(binary: Binary, muxer: string, option: string): Promise<boolean> {
  return new RegExp(`^\\s*-${option}\\s`, "m").test(await ask(binary, ["-hide_banner", "-h", `muxer=${muxer}`]));
}

let ffmpeg: Promise<Binary> | null = null;
let ffprobe: Promise<Binary> | null = null;

/** ffmpeg, found once: FFMPEG_PATH, ffmpeg-static, PATH, then @ffmpeg-installer/ffmpeg. */
export function findFfmpeg(): Promise<Binary> {
  ffmpeg ??= locate("ffmpeg", [
    ["FFMPEG_PATH", () => process.env.FFMPEG_PATH ?? null],
    ["ffmpeg-static", () => fromPackage("ffmpeg-static")],
    ["PATH", () => onPath("ffmpeg")],
    ["@ffmpeg-installer/ffmpeg", () => fromPackage("@ffmpeg-installer/ffmpeg")],
  ]);
  return ffmpeg;
}

/** ffprobe, found once: FFPROBE_PATH, PATH, then @ffprobe-installer/ffprobe (ffmpeg-static has none). */
export function findFfprobe(): Promise<Binary> {
  ffprobe ??= locate("ffprobe", [
    ["FFPROBE_PATH", () => process.env.FFPROBE_PATH ?? null],
    ["PATH", () => onPath("ffprobe")],
    ["@ffprobe-installer/ffprobe", () => fromPackage("@ffprobe-installer/ffprobe")],
  ]);
  return ffprobe;
}
