"""Draw the training-loss curve of a run's log.csv as a small PNG (no plotting library needed).

    python3 training/plot_loss.py models/training-loss.png training/runs/dsanet/log.csv [training/runs/dsanet-clips/log.csv]

Several logs are drawn one after the other: phases of one model, each run counting from 0.
"""
from __future__ import annotations

import csv
import math
import sys

from PIL import Image, ImageDraw

WIDTH, HEIGHT, MARGIN = 640, 320, 48


def smooth(values: list[float], weight: float = 0.98) -> list[float]:
    out, running = [], values[0]
    for v in values:
        running = weight * running + (1 - weight) * v
        out.append(running)
    return out


def read_log(path: str, start: int) -> list[tuple[int, float]]:
    with open(path) as f:
        # A run resumed mid-way logs some iterations twice; the later row is the one that counts.
        by_iteration = {start + int(r["iteration"]): float(r["loss"]) for r in csv.DictReader(f)}
    return sorted(by_iteration.items())


def main(png_path: str, log_paths: list[str]) -> None:
    rows: list[tuple[int, float]] = []
    for path in log_paths:
        rows += read_log(path, rows[-1][0] if rows else 0)
    iterations = [i for i, _ in rows]
    # The paper's MSE loss is drawn on a log scale; a PSNR loss is in dB already (and negative).
    in_db = any(loss <= 0 for _, loss in rows)
    losses = smooth([loss if in_db else math.log10(loss) for _, loss in rows])
    label = (lambda v: f"{v:.2f} dB") if in_db else (lambda v: f"{10 ** v:.4f}")
    lo, hi = min(losses), max(losses)
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle([MARGIN, 10, WIDTH - 10, HEIGHT - MARGIN], outline="black")

    def point(i: int, v: float) -> tuple[float, float]:
        x = MARGIN + (WIDTH - 10 - MARGIN) * (i - iterations[0]) / max(iterations[-1] - iterations[0], 1)
        y = 10 + (HEIGHT - MARGIN - 10) * (hi - v) / max(hi - lo, 1e-9)
        return x, y

    draw.line([point(i, v) for i, v in zip(iterations, losses)], fill=(200, 40, 40), width=2)
    draw.text((MARGIN, HEIGHT - MARGIN + 8), f"iteration {iterations[0]}", fill="black")
    draw.text((WIDTH - 130, HEIGHT - MARGIN + 8), f"iteration {iterations[-1]}", fill="black")
    draw.text((4, 12), label(hi), fill="black")
    draw.text((4, HEIGHT - MARGIN - 12), label(lo), fill="black")
    scale = "PSNR loss, dB" if in_db else "log scale"
    draw.text((MARGIN + 8, 16), f"training loss (sum over scales, {scale}, smoothed)", fill="black")
    image.save(png_path)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
