import { spawn, spawnSync, type ChildProcessByStdio } from "node:child_process";
import { once } from "node:events";
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connection, QUEUE, type JobData } from "../../src/queue/jobs.js";
import { cleanChunks } from "../../src/queue/clean.js";
import { allVideos } from "../../src/queue/status.js";
import { submitFiles } from "../../src/queue/submit.js";
import { REPO, WORK, clip, decodeAll, psnr, streamInfo } from "../helpers/clips.js";
import { RedisServer } from "../helpers/redis.js";
import { until } from "../helpers/until.js";

const DSANET = join(REPO, "bin/dsanet");
const [W, H] = [256, 192];

let redis: RedisServer;
let queue: Queue<JobData>;
const workers = new Set<ChildProcessByStdio<null, null, Readable>>();
// Bit-exact output (so the only differences are the model's), short locks (a dead worker's
// chunk is redone within seconds), 2-second chunks, 4 warm-up frames, one thread a worker.
const CONFIG = join(WORK, "queue.yaml");

beforeAll(async () => {
  writeFileSync(CONFIG, "engine: {threads: 1}\noutput: {lossless: true}\nqueue: {lockMs: 3000, chunkSeconds: 2, warmupFrames: 4}\n");
  redis = await RedisServer.start();
  queue = new Queue<JobData>(QUEUE, { connection: connection(redis.url) });
});
afterAll(async () => {
  for (const worker of workers) worker.kill("SIGKILL");
  await queue?.close();
  await redis?.stop();
});

function startWorker(url = redis.url, config = CONFIG): { child: ChildProcessByStdio<null, null, Readable>; log: () => string } {
  const child = spawn(DSANET, ["worker", "--config", config, "--redis", url], { cwd: REPO, stdio: ["ignore", "ignore", "pipe"] });
  workers.add(child);
  child.once("exit", () => workers.delete(child));
  let log = "";
  child.stderr.on("data", (chunk: Buffer) => (log += chunk.toString()));
  return { child, log: () => log };
}


function dsanet(...args: string[]) {
  return spawnSync(DSANET, args, { cwd: REPO, encoding: "utf8" });
}

describe("the job queue (BullMQ on Redis)", () => {
  it("deblurs a video in chunks on three workers, one killed mid-chunk, every frame once and in order", { timeout: 300_000 }, async () => {
    const input = clip("queue-in.mp4",
      "-f", "lavfi", "-i", `testsrc2=size=${W}x${H}:rate=10:duration=6`, "-f", "lavfi", "-i", "sine=frequency=440:duration=6",
      "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest");
    const outDir = join(WORK, "queue-out");
    const pool = [startWorker(), startWorker(), startWorker()];
    await until(() => pool.every((w) => w.log().includes("taking jobs")), 60_000, "three workers");

    const submit = spawn(DSANET, ["submit", input, "--out-dir", outDir, "--redis", redis.url, "--config", CONFIG, "--wait"], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
    let submitted = "";
    submit.stdout.on("data", (chunk: Buffer) => (submitted += chunk.toString()));
    // Kill the first worker that starts a chunk, a moment into it.
    await until(() => pool.some((w) => /frames \d+-\d+ started/.test(w.log())), 60_000, "a chunk started");
    const victim = pool.find((w) => /frames \d+-\d+ started/.test(w.log()));
    await new Promise((resolve) => setTimeout(resolve, 500));
    victim?.child.kill("SIGKILL");
    const [code] = (await once(submit, "exit")) as [number | null];
    expect(code).toBe(0);
    expect(submitted).toMatch(/-> .*queue-in-deblurred\.mp4 \(3 chunks\)/);

    const output = join(outDir, "queue-in-deblurred.mp4");
    // Every frame, with the input's timing and audio; the chunks' folder is gone.
    expect(streamInfo(output, "v:0").pts).toEqual(streamInfo(input, "v:0").pts);
    expect(streamInfo(output, "a:0").codec).toBe("aac");
    expect(readdirSync(outDir)).toEqual(["queue-in-deblurred.mp4"]);
    // The killed worker's chunk was started again elsewhere.
    const chunks = (await queue.getJobs(["completed"])).filter((j) => j.data.kind === "chunk");
    expect(chunks).toHaveLength(3);
    expect(Math.max(...chunks.map((j) => j.attemptsStarted))).toBeGreaterThanOrEqual(2);

    // Against one sequential run: the same frames, in order, within 40 dB at every seam.
    const reference = join(WORK, "queue-reference.mp4");
    expect(dsanet("deblur", input, "-o", reference, "--config", CONFIG, "-q").status).toBe(0);
    const [joined, sequential] = [decodeAll(output, W, H), decodeAll(reference, W, H)];
    expect(joined).toHaveLength(60);
    const scores = joined.map((frame, i) => psnr(frame, sequential[i] as Buffer));
    expect(Math.min(...scores)).toBeGreaterThanOrEqual(40);
  });

  it("fails a bad input once, with the reason, and keeps queued jobs through a Redis restart", async () => {
    // No worker runs: the jobs wait in Redis while it restarts.
    for (const worker of workers) worker.kill("SIGKILL");
    const good = clip("queue-good.mp4", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10:duration=2", "-c:v", "libx264", "-pix_fmt", "yuv420p");
    const spoilt = join(WORK, "queue-spoilt.mp4");
    copyFileSync(good, spoilt);
    const outDir = join(WORK, "queue-out-2");
    const refused = dsanet("submit", join(WORK, "no-such.mp4"), "--out-dir", outDir, "--redis", redis.url);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/no-such\.mp4: no such file \(not queued\)/);
    expect(dsanet("submit", good, spoilt, "--out-dir", outDir, "--redis", redis.url, "--config", CONFIG).status).toBe(0);
    writeFileSync(spoilt, "not a video any more"); // spoilt after it was queued

    await redis.stop();
    await redis.restart();
    startWorker();
    const settled = async () => (await allVideos(queue)).filter((v) => v.output.includes("queue-out-2"));
    const videos = await until(async () => {
      const now = await settled();
      return now.every((v) => v.state === "completed" || v.state === "failed") && now;
    }, 120_000, "both videos settled");
    const byInput = new Map(videos.map((v) => [v.input, v]));
    expect(byInput.get(good)?.state).toBe("completed");
    expect(existsSync(join(outDir, "queue-good-deblurred.mp4"))).toBe(true);
    expect(byInput.get(spoilt)?.state).toBe("failed");
    expect(byInput.get(spoilt)?.failedReason).toMatch(/queue-spoilt\.mp4: not a readable video/);
    const failedChunk = (await queue.getJobs(["failed"])).find((j) => j.data.kind === "chunk" && j.data.input === spoilt);
    expect(failedChunk?.attemptsMade).toBe(1); // not retried
  });
});

describe("the job queue when Redis forgets (no append-only file) and when a video is submitted twice", () => {
  // DSANet-Lite, 1-second chunks of tiny clips: seconds, not minutes.
  const LITE = join(WORK, "queue-lite.yaml");
  let forgetful: RedisServer;
  let forgetfulQueue: Queue<JobData>;
  beforeAll(async () => {
    writeFileSync(LITE, "engine: {model: lite, threads: 1}\nqueue: {lockMs: 3000, chunkSeconds: 1, warmupFrames: 2}\n");
    forgetful = await RedisServer.start({ appendOnly: false });
    forgetfulQueue = new Queue<JobData>(QUEUE, { connection: connection(forgetful.url) });
  });
  afterAll(async () => {
    await forgetfulQueue?.close();
    await forgetful?.stop();
  });
  const tiny = (name: string) => clip(name, "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10:duration=2", "-c:v", "libx264", "-pix_fmt", "yuv420p");

  it("submit --wait names a video that a Redis restart lost and fails; the worker warns; jobs --clean removes its chunks", async () => {
    const input = tiny("lost-in.mp4");
    const outDir = join(WORK, "lost-out");
    // WORK is named by the process id, which a machine that ran the suite before may hand out again.
    rmSync(outDir, { recursive: true, force: true });
    const worker = startWorker(forgetful.url, LITE);
    await until(() => worker.log().includes("taking jobs"), 60_000, "the worker");
    // Freeze the worker in its first chunk (at once, not at the next poll), wipe Redis, let it finish.
    const frozen = new Promise<void>((resolve) => {
      const freeze = () => {
        if (!/frames \d+-\d+ started/.test(worker.log())) return;
        worker.child.kill("SIGSTOP");
        worker.child.stderr.off("data", freeze);
        resolve();
      };
      worker.child.stderr.on("data", freeze);
    });
    const submit = spawn(DSANET, ["submit", input, "--out-dir", outDir, "--redis", forgetful.url, "--config", LITE, "--wait"], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
    let said = "";
    submit.stderr.on("data", (chunk: Buffer) => (said += chunk.toString()));
    await frozen;
    await forgetful.stop();
    await forgetful.restart();
    worker.child.kill("SIGCONT");

    const [code] = (await once(submit, "exit")) as [number | null];
    expect(code).toBe(1);
    // The join job gone, or (a poll that straddled the restart) chunk jobs it waits for.
    expect(said).toMatch(/dsanet error: .*lost-in\.mp4: job lost-in-deblurred-[0-9a-f]{12} can never finish: .* gone from the queue; was Redis restarted/);
    await until(() => /dsanet warn: job \S+: .*lost-in\.mp4 frames \d+-\d+: gone from Redis/.test(worker.log()), 30_000, "the worker's warning");
    expect(worker.log()).toMatch(/its result is dropped: submit .*lost-in\.mp4 again/);
    worker.child.kill("SIGKILL");

    // The lost chunk's file stays behind until jobs --clean; a folder holding anything else is kept.
    const chunks = join(outDir, ".dsanet-chunks");
    const [lostFolder] = readdirSync(chunks);
    expect(readdirSync(join(chunks, lostFolder ?? ""))).toContainEqual(expect.stringMatching(/^chunk-\d+\.mp4$/));
    mkdirSync(join(chunks, "someone-else"));
    writeFileSync(join(chunks, "someone-else", "notes.txt"), "mine");
    const cleaned = dsanet("jobs", "--clean", outDir, "--redis", forgetful.url);
    expect(cleaned.status).toBe(0);
    expect(cleaned.stdout).toContain(`removed\t${join(chunks, lostFolder ?? "")}\tno job in the queue uses it`);
    expect(cleaned.stdout).toMatch(/kept\t.*someone-else\tit holds files that are not chunks \(notes\.txt\)/);
    expect(readdirSync(chunks)).toEqual(["someone-else"]);
    expect(readdirSync(outDir)).toEqual([".dsanet-chunks"]); // no output, and nothing else touched
  });

  it("refuses a second submission of an output still queued, naming its job; accepts it again once finished", async () => {
    const input = tiny("twice.mp4");
    const outDir = join(WORK, "twice-out");
    // In this process where the CLI adds nothing to see (a node start-up is seconds on a busy machine).
    const [first] = await submitFiles([input], { redis: forgetful.url, outDir, chunkSeconds: 10, warmupFrames: 2 });
    const id = first && "submitted" in first ? first.submitted.id : "";
    expect(id).toMatch(/^twice-deblurred-[0-9a-f]{12}$/);
    // The same file again, and another file of the same name that would write the same output.
    mkdirSync(join(WORK, "elsewhere"), { recursive: true });
    const namesake = join(WORK, "elsewhere", "twice.mp4");
    copyFileSync(input, namesake);
    const again = dsanet("submit", input, namesake, "--out-dir", outDir, "--redis", forgetful.url, "--config", LITE);
    expect(again.status).toBe(2);
    const refusal = new RegExp(`job ${id} \\(waiting-children\\) is already making .*twice-deblurred\\.mp4 from .*${WORK}/twice\\.mp4; .*\\(not queued\\)`);
    expect(again.stderr.split("\n").filter((line) => refusal.test(line))).toHaveLength(2);
    expect((await forgetfulQueue.getJobs()).filter((j) => j.data.kind === "join")).toHaveLength(1);

    // jobs --clean keeps the chunks of a queued video.
    const queued = await forgetfulQueue.getJob(id);
    const folder = queued?.data.kind === "join" ? dirname(queued.data.chunks[0] ?? "") : "";
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, "chunk-00000.mp4"), "a chunk a worker wrote");
    expect(await cleanChunks(forgetfulQueue, [])).toEqual([{ folder, removed: false, why: "its video is queued or running" }]);
    expect(existsSync(join(folder, "chunk-00000.mp4"))).toBe(true);

    const worker = startWorker(forgetful.url, LITE);
    await until(() => /job \S+: join .* done/.test(worker.log()), 60_000, "the first submission done");
    const rerun = dsanet("submit", input, "--out-dir", outDir, "--redis", forgetful.url, "--config", LITE, "--chunk-seconds", "10", "--wait");
    expect(rerun.status).toBe(0);
    expect(rerun.stdout).toMatch(new RegExp(`^${id}\t`));
    expect(readdirSync(outDir)).toEqual(["twice-deblurred.mp4"]);
    worker.child.kill("SIGKILL");
  });
});
