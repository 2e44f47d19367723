// Checks deploy/compose.yaml for what can be checked without a container runtime or a registry:
// it is YAML with the services it names, every path it references exists (the build context and
// Dockerfile, the mounted samples and the clip the camera loops), every `depends_on` names a
// service, and every flag it gives dsanet (and each value of a flag with choices) is one that
// `dsanet serve --help` lists: run by deploy/prove-image.sh with the image's own help text.
//
//   node deploy/check-compose.mjs SERVE_HELP.txt      (without it: bin/dsanet serve --help)
//
// Not checked here: the images from Docker Hub (bluenviron/mediamtx, linuxserver/ffmpeg) and
// compose actually running (no registry, no compose, and `podman run` refused on the machine).
import { execFileSync } from "node:child_process";
import console from "node:console";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { URL, fileURLToPath } from "node:url";
import { parse } from "yaml";

const deploy = dirname(fileURLToPath(import.meta.url));
const help = process.argv[2]
  ? readFileSync(process.argv[2], "utf8")
  : execFileSync(join(deploy, "../bin/dsanet"), ["serve", "--help"], { encoding: "utf8" });
const compose = parse(readFileSync(join(deploy, "compose.yaml"), "utf8"));
const problems = [];
const ok = (line) => console.log(`compose: ${line}`);
const check = (good, what) => (good ? ok(what) : problems.push(what));

const services = compose.services ?? {};
check(["mediamtx", "camera", "dsanet"].every((name) => name in services), `services ${Object.keys(services).join(", ")}`);
for (const [name, service] of Object.entries(services)) {
  for (const dep of service.depends_on ?? []) check(dep in services, `${name} depends on ${dep}, a service`);
  for (const volume of service.volumes ?? []) {
    const host = resolve(deploy, volume.split(":")[0]);
    check(existsSync(host), `${name} mounts ${host}, which exists`);
  }
}

const build = services.dsanet.build;
const context = resolve(deploy, build.context);
check(existsSync(join(context, build.dockerfile)), `dsanet builds ${join(context, build.dockerfile)}, which exists`);

// The clip the stand-in camera loops, through its volume.
const [host, inContainer] = services.camera.volumes[0].split(":");
const clip = services.camera.command.match(/-i (\S+)/)[1];
check(clip.startsWith(`${inContainer}/`) && existsSync(resolve(deploy, host, clip.slice(inContainer.length + 1))), `camera loops ${clip}, which exists`);

// dsanet's command against serve's help.
const words = services.dsanet.command.trim().split(/\s+/);
check(words[0] === "serve", "dsanet's command is serve");
const options = new Map();
for (const match of help.matchAll(/^\s+(?:-\w, )?(--[\w-]+)(?: [<[][^>\]]+[>\]])?\s+((?:.|\n(?!\s+-))*)/gm)) {
  const choices = match[2].replace(/\s+/g, " ").match(/\(choices: ([^)]*)\)/);
  options.set(match[1], choices ? [...choices[1].matchAll(/"([^"]+)"/g)].map((m) => m[1]) : null);
}
for (let i = 1; i < words.length; i++) {
  const word = words[i];
  if (!word.startsWith("--")) continue;
  const flag = word.split("=")[0];
  if (!options.has(flag)) {
    problems.push(`dsanet serve has no ${flag}`);
    continue;
  }
  const choices = options.get(flag);
  if (choices) check(choices.includes(words[i + 1]), `${flag} ${words[i + 1]} (one of ${choices.join(", ")})`);
  else ok(`${flag}: listed by serve --help`);
}
const port = words[words.indexOf("--port") + 1];
check(services.dsanet.ports.some((p) => String(p).endsWith(`:${port}`)), `dsanet publishes its --port ${port}`);
for (const url of words.filter((w) => w.includes("rtsp://"))) {
  const hostName = new URL(url.slice(url.indexOf("rtsp://"))).hostname;
  check(hostName in services, `${url}: ${hostName} is a service`);
}

if (problems.length) {
  for (const problem of problems) console.error(`compose: FAILED: ${problem}`);
  process.exit(1);
}
console.log("compose: every path, service and flag checked; the Docker Hub images and a running stack are untested here");
