"""Train DSANet on synthesized clips, carrying the ConvLSTM state through each clip.

    python3 training/train.py --config training/experiments/dsanet.yaml --minutes 90
    python3 training/train.py ... --resume            # continue runs/<name>/last.pt (optimizer too)
    python3 training/train.py ... --init models/dsanet.pt   # start from shipped weights

The cosine schedule runs over `schedule.iterations`, or over the wall-clock budget given by
--minutes, so a CPU run anneals properly however fast the machine is.
"""
from __future__ import annotations

import argparse
import csv
import math
import time
from pathlib import Path

import torch

from common import RUNS, bf16_is_native, device, load_experiment, load_model, model_config, save_model
from data import BlurConfig, ClipStream
from dsanet import DSANet
from losses import multiscale_loss
from photos import TRAIN


def blur_config(options: dict) -> BlurConfig:
    return BlurConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in options.items()})


def cosine(progress: float, lr: float, min_lr: float) -> float:
    return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * min(progress, 1.0)))


def train_step(model: DSANet, blurred: torch.Tensor, sharp: torch.Tensor, fft_weight: float) -> torch.Tensor:
    """Loss of one batch of clips (B, T, 3, S, S), the state carried from frame to frame."""
    state = None
    loss = blurred.new_zeros(())
    for t in range(blurred.shape[1]):
        restored, state = model(blurred[:, t], state)
        loss = loss + multiscale_loss(restored, sharp[:, t], fft_weight)
    return loss / blurred.shape[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(Path(__file__).parent / "experiments" / "dsanet.yaml"))
    parser.add_argument("--minutes", type=float, help="wall-clock budget; the cosine schedule spans it")
    parser.add_argument("--iterations", type=int, help="stop after this many iterations (overrides the config)")
    parser.add_argument("--resume", action="store_true", help="continue from runs/<name>/last.pt")
    parser.add_argument("--init", help="start from these weights (a models/*.pt state dict)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    experiment = load_experiment(args.config)
    run_dir = RUNS / experiment["name"]
    run_dir.mkdir(parents=True, exist_ok=True)
    dev = device()
    torch.manual_seed(args.seed)

    model = load_model(args.init).train() if args.init else DSANet(model_config(experiment["model"]))
    model.to(dev)
    optim = experiment["optim"]
    optimizer = torch.optim.Adam(model.parameters(), lr=optim["lr"])
    iteration, elapsed = 0, 0.0
    if args.resume:
        saved = torch.load(run_dir / "last.pt", map_location=dev)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        iteration, elapsed = saved["iteration"], saved["elapsed"]
    total_iterations = args.iterations or experiment["schedule"]["iterations"]
    budget = args.minutes * 60 if args.minutes else None

    data = experiment["data"]
    stream = ClipStream(TRAIN, data["batch"], data["frames"], data["crop"], blur_config(data.get("blur", {})), args.seed + iteration)
    fft_weight = experiment["loss"]["fft_weight"]
    use_bf16 = bf16_is_native(dev)
    log_path = run_dir / "log.csv"
    rows = []
    if args.resume and log_path.exists():
        # Rows past the checkpoint were trained again after the resume: keep only the first run's.
        with open(log_path, newline="") as f:
            rows = [r for r in csv.reader(f)][1:]
        rows = [r for r in rows if int(r[0]) <= iteration]
    log = open(log_path, "w", newline="")
    writer = csv.writer(log)
    writer.writerow(["iteration", "seconds", "crops", "lr", "loss"])
    writer.writerows(rows)

    # The mean |input| of the ConvLSTM, shown with each checkpoint: healthy values are ~0.01-1. At
    # lr 1e-3 it grew to 1e5, saturating every gate (the state stopped mattering) and killing
    # the decoder's ReLUs below it, which no later step could revive.
    # Kept as a tensor (no device sync each step) and read only when printed.
    bottleneck = [torch.zeros(())]
    model.net.lstm.register_forward_hook(lambda _m, inputs, _out: bottleneck.__setitem__(0, inputs[0].detach().abs().mean()))

    start = time.time() - elapsed
    frames_per_iteration = data["batch"] * data["frames"]
    running = None
    print(f"training {experiment['name']} on {dev}{' in bf16' if use_bf16 else ''} from iteration {iteration}", flush=True)
    for blurred, sharp in stream:
        elapsed = time.time() - start
        progress = elapsed / budget if budget else iteration / total_iterations
        if progress >= 1 or iteration >= total_iterations:
            break
        lr = cosine(progress, optim["lr"], optim["min_lr"])
        for group in optimizer.param_groups:
            group["lr"] = lr
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=use_bf16):
            loss = train_step(model, blurred.to(dev), sharp.to(dev), fft_weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        iteration += 1
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        writer.writerow([iteration, round(elapsed, 1), iteration * frames_per_iteration, f"{lr:.3g}", f"{loss.item():.6f}"])
        if iteration % experiment["checkpoint_every"] == 0:
            log.flush()
            save_checkpoint(model, optimizer, iteration, time.time() - start, run_dir)
            print(f"it {iteration} {elapsed / 60:.1f} min lr {lr:.2e} loss {running:.5f} bottleneck {bottleneck[0].item():.3g}", flush=True)
    save_checkpoint(model, optimizer, iteration, time.time() - start, run_dir)
    log.close()
    print(f"done: {iteration} iterations, {iteration * frames_per_iteration} crops, {(time.time() - start) / 60:.1f} min")


def save_checkpoint(model: DSANet, optimizer: torch.optim.Optimizer, iteration: int, elapsed: float, run_dir: Path) -> None:
    """last.pt resumes training exactly; model.pt is the weights alone, as shipped in models/."""
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "iteration": iteration, "elapsed": elapsed}, run_dir / "last.tmp")
    (run_dir / "last.tmp").replace(run_dir / "last.pt")
    save_model(model, run_dir / "model.pt", iteration=iteration, seconds=round(elapsed))


if __name__ == "__main__":
    main()
