"""Train DSANet on synthesized clips, carrying the ConvLSTM state through each clip.

    python3 training/train.py --config training/experiments/dsanet.yaml --minutes 90
    python3 training/train.py ... --resume                  # continue runs/<name>/last.pt (optimizer too)
    python3 training/train.py ... --resume --anneal 30      # end a run: lr down to min_lr over 30 minutes
    python3 training/train.py ... --init models/dsanet.onnx # start from shipped weights

Schedules (`schedule.type`): "cosine" spans `schedule.iterations`, or the budget given by
--minutes (wall clock) or --cpu-minutes (this process's CPU time, fair when runs share the
machine); "constant" holds the lr after warm-up for as long as the run goes (a run that
resumes across sessions does not know its end), and --anneal ends it.

Every checkpoint line prints throughput in 128x128 crops a second and the GFLOP/s achieved
(forward and backward counted as 3x the forward's FLOPs). On a GPU, `data.synthesis: device`
makes the blur on the GPU itself (synth_device.py) and the YAML's `step:` (step.py) sets
torch.compile and channels_last; --profile N prints the top kernels of N iterations.
"""
from __future__ import annotations

import argparse
import csv
import math
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from cache import CachedClips, cache_dir
from common import RUNS, device, init_from, load_experiment, model_config, save_model
from data import ClipStream, PhotoClips, blur_config
from distill import Teacher, distill_terms
from dsanet import DSANet, count_flops
from losses import loss_terms
from photos import TRAIN, copied
from real_data import real_batches
from step import Step, bottleneck, make_optimizer, profile_table, step_options
from synth_device import DeviceClips, DeviceSynth, JpegConfig, PhotoBank


def cosine(progress: float, lr: float, min_lr: float) -> float:
    return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * min(progress, 1.0)))


def batches(experiment: dict, config_path: str, seed: int, args: argparse.Namespace, dev: torch.device) -> tuple[object, subprocess.Popen | None]:
    """The training batches: real footage (`data.source`: gopro, reds, videos), or blur
    synthesized from the photos: on the training device (`data.synthesis: device`), by
    DataLoader workers (--workers), from the disk cache (built beside training by cache.py) or
    on this thread. Returns the iterable and the cache builder, if one was started."""
    data = experiment["data"]
    if data.get("source", "photos") != "photos":
        return real_batches(data, seed), None
    photos = copied(TRAIN, args.photo_dir) if args.photo_dir else TRAIN
    blur = blur_config(data.get("blur", {}))
    synthesis = data.get("synthesis", "cpu")
    if synthesis not in ("cpu", "device"):
        raise ValueError(f"data.synthesis must be cpu or device, got {synthesis!r}")
    if synthesis == "device":
        jpeg = data.get("jpeg")
        jpeg_config = JpegConfig(jpeg["fraction"], tuple(jpeg["quality"])) if jpeg else None
        synth = DeviceSynth(PhotoBank.from_paths(photos, dev), data["frames"], data["crop"], blur, seed, jpeg_config)
        return DeviceClips(synth, data["batch"]), None
    if args.workers:
        clips = PhotoClips(photos, data["frames"], data["crop"], blur, seed, args.reuse)
        return DataLoader(clips, batch_size=data["batch"], num_workers=args.workers, pin_memory=True, prefetch_factor=4, persistent_workers=True), None
    if not data.get("cache_clips"):
        return ClipStream(photos, data["batch"], data["frames"], data["crop"], blur, seed), None
    folder = cache_dir(data, 0)
    builder = subprocess.Popen(
        ["nice", "-n", "19", sys.executable, str(Path(__file__).parent / "cache.py"), "--config", config_path, "--clips", str(data["cache_clips"])],
        stdout=subprocess.DEVNULL,
    )
    while not any(folder.glob("shard-?????.npz")):
        if builder.poll() not in (None, 0):
            raise RuntimeError(f"cache.py exited with {builder.returncode}")
        time.sleep(2)
    return CachedClips(folder, data["batch"], data["frames"], seed), builder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(Path(__file__).parent / "experiments" / "dsanet.yaml"))
    parser.add_argument("--minutes", type=float, help="wall-clock budget; a cosine schedule spans it")
    parser.add_argument("--cpu-minutes", type=float, help="budget in this process's CPU time; a cosine schedule spans it")
    parser.add_argument("--anneal", type=float, help="with --resume: take the lr down to min_lr over this many minutes, then stop")
    parser.add_argument("--iterations", type=int, help="stop after this many iterations (overrides the config)")
    parser.add_argument("--resume", action="store_true", help="continue from runs/<name>/last.pt")
    parser.add_argument("--init", help="start from these weights (models/*.onnx or a run's model.pt; an older block design too)")
    parser.add_argument("--threads", type=int, help="CPU threads (default: all cores)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, help="synthesize clips in this many DataLoader workers (for a GPU), not the cache")
    parser.add_argument("--reuse", type=int, default=4, help="with --workers: times each synthesized clip is used, on average")
    parser.add_argument("--photo-dir", help="the training photos copied flat into this folder (photos.copied)")
    parser.add_argument("--compile", help="torch.compile mode (default, max-autotune-no-cudagraphs, ...; none: eager), over the YAML's step.compile")
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, help="NHWC activations, over the YAML's step.channels_last")
    parser.add_argument("--log-every", type=int, help="iterations between reads of the loss, over the YAML's step.log_every")
    parser.add_argument("--keep-checkpoints", action="store_true", help="also keep each checkpoint's weights as model-it<N>.pt, for average.py")
    parser.add_argument("--profile", type=int, default=0, help="profile this many iterations after the first 20 and print the top kernels")
    args = parser.parse_args()

    experiment = load_experiment(args.config)
    run_dir = RUNS / experiment["name"]
    run_dir.mkdir(parents=True, exist_ok=True)
    dev = device()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    model = DSANet(model_config(experiment["model"]))
    if args.init:
        fresh = init_from(model, args.init)
        print(f"from {args.init}{'; new: ' + ', '.join(fresh) if fresh else ''}", flush=True)
    model.to(dev)
    torch.backends.cudnn.benchmark = True  # fixed crop sizes: let cuDNN pick its fastest kernels
    optim, schedule = experiment["optim"], experiment["schedule"]
    optimizer = make_optimizer(model, optim, dev)
    iteration, elapsed, cpu_elapsed = 0, 0.0, 0.0
    if args.resume:
        saved = torch.load(run_dir / "last.pt", map_location=dev)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        iteration, elapsed, cpu_elapsed = saved["iteration"], saved["elapsed"], saved.get("cpu_elapsed", 0.0)
    total_iterations = args.iterations or schedule.get("iterations", 10**9)
    warmup = schedule.get("warmup", 0)

    data = experiment["data"]
    stream, builder = batches(experiment, args.config, args.seed + iteration, args, dev)
    options = step_options(experiment, {"compile": args.compile, "channels_last": args.channels_last, "log_every": args.log_every}, dev)
    distill = distill_terms(experiment)
    teacher = (Teacher(distill[0], dev, options["channels_last"]), distill[1]) if distill else None
    step = Step(model, optimizer, dev, options, loss_terms(experiment["loss"]), teacher)
    log_path = run_dir / "log.csv"
    rows = []
    if args.resume and log_path.exists():
        # Rows past the checkpoint were trained again after the resume: keep only the first run's.
        with open(log_path, newline="") as f:
            rows = [r for r in csv.reader(f)][1:]
        rows = [r for r in rows if int(r[0]) <= iteration]
    log = open(log_path, "w", newline="")
    writer = csv.writer(log)
    writer.writerow(["iteration", "seconds", "cpu_seconds", "crops", "lr", "loss"])
    writer.writerows(rows)

    frames_per_iteration = data["batch"] * data["frames"]
    crops_per_iteration = frames_per_iteration * (data["crop"] / 128) ** 2
    flops_per_iteration = 3 * count_flops(model, data["crop"], data["crop"]) * frames_per_iteration
    start, cpu_start = time.time() - elapsed, time.process_time() - cpu_elapsed
    anneal_from = (iteration, time.time(), optimizer.param_groups[0]["lr"]) if args.anneal else None
    interval = (iteration, time.time())
    profile_from, profiler = iteration + 20, None
    loss = float("nan")
    print(
        f"training {experiment['name']} on {dev} ({torch.get_num_threads()} threads){' in bf16' if step.bf16 else ''} from iteration {iteration}; "
        f"{data['batch']} x {data['frames']} frames of {data['crop']}x{data['crop']} from "
        f"{data['source'] if data.get('source', 'photos') != 'photos' else 'photos, ' + data.get('synthesis', 'cpu') + ' synthesis'}; step {options}"
        f"{f'; taught by {distill[0]} (weight {distill[1]}; its forward not in the GFLOP/s)' if distill else ''}",
        flush=True,
    )
    try:
        for blurred, sharp in stream:
            elapsed, cpu_elapsed = time.time() - start, time.process_time() - cpu_start
            lr = learning_rate(args, schedule, optim, iteration, elapsed, cpu_elapsed, warmup, total_iterations, anneal_from)
            if lr is None:
                break
            if args.profile and iteration == profile_from:
                profiler = torch.profiler.profile(activities=profiled_activities(dev))
                profiler.__enter__()
            step(blurred, sharp, lr)
            iteration += 1
            if profiler is not None and iteration == profile_from + args.profile:
                profiler.__exit__(None, None, None)
                print(f"profile of iterations {profile_from + 1}-{iteration} (synthesis included):\n{profile_table(profiler, dev)}", flush=True)
                profiler = None
            if iteration % options["log_every"] == 0:
                loss = step.mean_loss()  # waits on the device, once per log_every iterations
                writer.writerow([iteration, round(elapsed, 1), round(cpu_elapsed, 1), iteration * frames_per_iteration, f"{lr:.3g}", f"{loss:.6f}"])
            if iteration % experiment["checkpoint_every"] == 0:
                log.flush()
                if builder:
                    builder.poll()  # reaps the cache builder once it has finished (no zombie for the rest of the run)
                save_checkpoint(model, optimizer, iteration, time.time() - start, time.process_time() - cpu_start, run_dir)
                if args.keep_checkpoints:
                    shutil.copyfile(run_dir / "model.pt", run_dir / f"model-it{iteration}.pt")
                seconds = time.time() - interval[1]
                steps = iteration - interval[0]
                interval = (iteration, time.time())
                print(
                    f"it {iteration} {elapsed / 60:.1f} min (cpu {cpu_elapsed / 60:.1f}) lr {lr:.2e} loss {loss:.5f} "
                    f"bottleneck {bottleneck(model, blurred.to(dev)):.3g} | {steps * crops_per_iteration / seconds:.2f} crops/s "
                    f"{steps * flops_per_iteration / seconds / 1e9:.0f} GFLOP/s",
                    flush=True,
                )
    finally:
        if builder:
            builder.terminate()
            builder.wait()
    if step.steps:
        writer.writerow([iteration, round(elapsed, 1), round(cpu_elapsed, 1), iteration * frames_per_iteration, f"{lr or 0:.3g}", f"{step.mean_loss():.6f}"])
    save_checkpoint(model, optimizer, iteration, time.time() - start, time.process_time() - cpu_start, run_dir)
    log.close()
    print(f"done: {iteration} iterations, {iteration * frames_per_iteration} crops, {(time.time() - start) / 60:.1f} min")


def profiled_activities(dev: torch.device) -> list:
    activities = [torch.profiler.ProfilerActivity.CPU]
    if dev.type == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    return activities


def learning_rate(
    args: argparse.Namespace, schedule: dict, optim: dict, iteration: int, elapsed: float, cpu_elapsed: float,
    warmup: int, total_iterations: int, anneal_from: tuple[int, float, float] | None,
) -> float | None:
    """This iteration's lr, or None when the run is over."""
    if iteration >= total_iterations:
        return None
    if anneal_from is not None:
        progress = (time.time() - anneal_from[1]) / (args.anneal * 60)
        return None if progress >= 1 else cosine(progress, anneal_from[2], optim["min_lr"])
    if args.minutes and elapsed >= args.minutes * 60 or args.cpu_minutes and cpu_elapsed >= args.cpu_minutes * 60:
        return None
    lr = optim["lr"] * min(1.0, (iteration + 1) / warmup) if warmup else optim["lr"]
    if schedule.get("type", "cosine") == "constant":
        return lr
    progress = elapsed / (args.minutes * 60) if args.minutes else cpu_elapsed / (args.cpu_minutes * 60) if args.cpu_minutes else iteration / total_iterations
    return cosine(progress, lr, optim["min_lr"])


def save_checkpoint(model: DSANet, optimizer: torch.optim.Optimizer, iteration: int, elapsed: float, cpu_elapsed: float, run_dir: Path) -> None:
    """last.pt resumes training exactly; model.pt is the weights alone, as shipped in models/."""
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "iteration": iteration, "elapsed": elapsed, "cpu_elapsed": cpu_elapsed}
    torch.save(state, run_dir / "last.tmp")
    (run_dir / "last.tmp").replace(run_dir / "last.pt")
    save_model(model, run_dir / "model.pt", iteration=iteration, seconds=round(elapsed), cpu_seconds=round(cpu_elapsed))


if __name__ == "__main__":
    main()
