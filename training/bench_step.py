"""The training step's rate on this machine, side by side in one process: fp32, bf16 autocast,
bf16 + channels_last, and the step as train.py runs it (step.py's defaults for this device).

    nice -n 19 python3 training/bench_step.py [--batch 4] [--crop 128] [--steps 12] [--profile]
    nice -n 19 python3 training/bench_step.py --parity 60 --config training/experiments/dsanet-harmless.yaml --init models/dsanet.onnx

Prints one row per variant: ms a step and 128x128 crops/s (forward, backward, clip and
AdamW; synthetic batches, so data costs nothing here). --profile adds torch.profiler's top
operators of each variant. --parity N trains N steps in fp32 and N in this machine's step from
the same weights on the same cached batches (the experiment's recipe) and prints both losses.
Variants run interleaved, round after round, so that other load
on a shared machine falls on all of them alike; the median round is reported.
"""
from __future__ import annotations

import argparse
import statistics
import time
from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn.functional as F

import step as step_module
from cache import CachedClips, cache_dir
from common import device, init_from, load_experiment, model_config
from dsanet import DSANet, DSANetConfig
from losses import loss_terms, multiscale_loss, per_image_fft_mse, per_image_mse
from step import Step, make_optimizer, profile_table, step_options

# The first three are the step as it was before issue 35 (the FFT computed, AdamW a parameter
# at a time), in each precision and layout; the last is train.py's step now, as step.py sets it
# up for this machine.
VARIANTS = {
    "fp32": {"bf16": False, "channels_last": False, "before": True},
    "bf16 autocast": {"bf16": True, "channels_last": False, "before": True},
    "bf16 + channels_last": {"bf16": True, "channels_last": True, "before": True},
    "train.py's step (after)": {},
}


def paper_loss(restored: list[torch.Tensor], sharp: torch.Tensor, fft_weight: float = 0.1, pixel: str = "mse") -> torch.Tensor:
    """multiscale_loss as it was: the FFT term computed, not taken as the MSE it equals."""
    total = sharp.new_zeros(())
    for image in restored:
        image = image.float()
        target = F.adaptive_avg_pool2d(sharp, image.shape[-2:]) if image.shape != sharp.shape else sharp
        total = total + (per_image_mse(image, target) + fft_weight * per_image_fft_mse(image, target)).mean()
    return total


def make_step(config: DSANetConfig, variant: dict, dev: torch.device) -> Step:
    torch.manual_seed(0)
    model = DSANet(config)
    optimizer = make_optimizer(model, {"type": "AdamW", "lr": 1e-4}, dev)
    options = step_options({}, {"channels_last": variant.get("channels_last")}, dev)
    step = Step(model, optimizer, dev, options)
    if variant.get("before"):
        step.bf16 = variant["bf16"]
        for group in optimizer.param_groups:
            group["foreach"] = False
    return step


def timed(name: str, step: Step, blurred: torch.Tensor, sharp: torch.Tensor) -> float:
    """Seconds of one step of `step`; the earlier variants with the earlier loss."""
    loss = paper_loss if VARIANTS[name].get("before") else multiscale_loss
    start = time.perf_counter()
    with patched(step_module, "multiscale_loss", loss):
        step(blurred, sharp, 1e-4)
    return time.perf_counter() - start


@contextmanager
def patched(module: object, name: str, value: object) -> Iterator[None]:
    saved = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, saved)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--steps", type=int, default=12, help="timed rounds (after 3 of warm-up)")
    parser.add_argument("--blocks", default="plain", help="the residual block design")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--parity", type=int, help="train this many steps in fp32 and in this machine's step; compare the losses")
    parser.add_argument("--config", help="with --parity: the experiment (its model, loss, optimizer and cached clips)")
    parser.add_argument("--init", help="with --parity: the weights both start from")
    args = parser.parse_args()
    dev = device()
    if args.parity:
        parity(args.parity, args.config, args.init, dev)
        return
    config = DSANetConfig(block=args.blocks, bottleneck_norm=args.blocks != "plain")
    steps = {name: make_step(config, variant, dev) for name, variant in VARIANTS.items()}
    g = torch.Generator().manual_seed(0)
    sharp = torch.rand(args.batch, 1, 3, args.crop, args.crop, generator=g)
    blurred = (sharp + 0.05 * torch.randn(sharp.shape, generator=g)).clamp(0, 1)
    times: dict[str, list[float]] = {name: [] for name in steps}
    for round_ in range(args.steps + 3):
        for name, step in steps.items():
            seconds = timed(name, step, blurred, sharp)
            if round_ >= 3:
                times[name].append(seconds)
    crops = args.batch * (args.crop / 128) ** 2
    print(f"{torch.get_num_threads()} threads, torch {torch.__version__}, batch {args.batch} of {args.crop}x{args.crop}, {config}")
    print("| step | ms | 128x128 crops/s |\n| --- | ---: | ---: |")
    for name, seconds in times.items():
        median = statistics.median(seconds)
        print(f"| {name} | {median * 1000:.0f} | {crops / median:.1f} |", flush=True)
    if args.profile:
        for name, step in steps.items():
            with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler:
                for _ in range(3):
                    timed(name, step, blurred, sharp)
            print(f"\n{name}: top operators of 3 steps\n{profile_table(profiler, dev, rows=14)}", flush=True)


def parity(steps: int, config_path: str, weights: str | None, dev: torch.device) -> None:
    """Both steps from the same start on the same batches, interleaved; the mean loss of each
    tenth of the run, side by side."""
    experiment = load_experiment(config_path)
    data, loss = experiment["data"], experiment["loss"]
    runs = {}
    for name, bf16 in (("fp32", False), ("this machine's step", None)):
        torch.manual_seed(0)
        model = DSANet(model_config(experiment["model"]))
        if weights:
            init_from(model, weights)
        options = step_options(experiment, {"channels_last": False if bf16 is False else None}, dev)
        step = Step(model, make_optimizer(model, experiment["optim"], dev), dev, options, loss_terms(loss))
        if bf16 is False:
            step.bf16 = False
        runs[name] = (step, iter(CachedClips(cache_dir(data, 0), data["batch"], data["frames"], seed=0)), [])
    for _ in range(steps):
        for step, batches, losses in runs.values():
            blurred, sharp = next(batches)
            step(blurred, sharp, experiment["optim"]["lr"])
            losses.append(step.mean_loss())
    chunk = max(steps // 10, 1)
    print(f"mean loss of each {chunk} steps ({data['batch']} crops of {data['crop']}x{data['crop']}, {experiment['loss']})")
    print("| steps | " + " | ".join(runs) + " |\n| --- |" + " ---: |" * len(runs))
    for start in range(0, steps, chunk):
        print(f"| {start + 1}-{min(start + chunk, steps)} | " + " | ".join(f"{statistics.mean(r[2][start:start + chunk]):.4f}" for r in runs.values()) + " |", flush=True)


if __name__ == "__main__":
    main()
