"""Synthesis clips a second: data.py's per-clip CPU path (what DataLoader workers and cache.py
run) against synth_device.py's batches, on one config, alternating A and B in one process so
that other load on the machine falls on both alike.

    python3 training/bench_synth.py [--config training/experiments/dsanet-gpu.yaml] [--rounds 3] [--clips 16]
    python3 training/bench_synth.py --device cuda --clips 256      # on a lent GPU (B only on it)

One thread, as one DataLoader worker has. The training photos must be installed (photos.py) or
copied flat into --photo-dir.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from common import load_experiment
from data import blur_config, load_photo, synthesize_clip
from photos import TRAIN, copied
from synth_device import DeviceSynth, JpegConfig, PhotoBank


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(Path(__file__).parent / "experiments" / "dsanet-gpu.yaml"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clips", type=int, default=16, help="clips a round and a side (B's batch)")
    parser.add_argument("--crop", type=int, help="over the config's data.crop")
    parser.add_argument("--frames", type=int, help="clip length, over the config's data.frames")
    parser.add_argument("--device", default="cpu", help="where B runs (A always runs on the CPU)")
    parser.add_argument("--photo-dir")
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = load_experiment(args.config)["data"]
    crop, frames = args.crop or data["crop"], args.frames or data["frames"]
    blur = blur_config(data.get("blur", {}))
    paths = copied(TRAIN, args.photo_dir) if args.photo_dir else TRAIN
    dev = torch.device(args.device)
    photos = [load_photo(p) for p in paths]
    jpeg = data.get("jpeg")
    synth = DeviceSynth(PhotoBank.from_paths(paths, dev), frames, crop, blur, 0, JpegConfig(jpeg["fraction"], tuple(jpeg["quality"])) if jpeg else None)
    g = torch.Generator().manual_seed(0)
    synth.batch(2)  # first-call costs (allocations, kernel selection) out of the timing
    rates: dict[str, list[float]] = {"A data.py, CPU, per clip": [], f"B synth_device.py, {dev}, batched": []}
    print(f"{args.config}: {frames} frame(s) of {crop}x{crop}, exposures {min(blur.exposures)}-{max(blur.exposures)}, {args.clips} clips a side a round")
    for round_ in range(args.rounds):
        for name in rates:
            start = time.perf_counter()
            if name.startswith("A"):
                for _ in range(args.clips):
                    synthesize_clip(photos, frames, crop, blur, g)
            else:
                synth.batch(args.clips)
                if dev.type == "cuda":
                    torch.cuda.synchronize()
            rates[name].append(args.clips / (time.perf_counter() - start))
            print(f"round {round_ + 1} {name}: {rates[name][-1]:.2f} clips/s", flush=True)
    for name, values in rates.items():
        print(f"{name}: median {statistics.median(values):.2f} clips/s ({', '.join(f'{v:.2f}' for v in values)})")


if __name__ == "__main__":
    main()
