"""How much deblurred videos flicker: the warping error of Lai et al. (ECCV 2018, "Learning
Blind Video Temporal Consistency"), beside each video's PSNR against the sharp truth.

    /usr/bin/python3 bench/temporal_consistency.py TRUTH VIDEO... [--names a,b,...]

For each pair of consecutive frames, the optical flow from frame t to frame t-1 is computed on
the sharp truth (OpenCV's Farneback: Debian's python3-opencv), frame t-1 of the video under
test is warped onto frame t along it, and the squared difference is averaged over the pixels
the flow holds for both ways (forward-backward check, Lai et al.'s occlusion mask); then over
the frames. A per-frame network that flickers scores higher than the truth does; one that
carries state from frame to frame should not. Reported x 1000, RGB in [0, 1]. The truth's own
score is the floor the flow's errors leave.
"""
from __future__ import annotations

import argparse
import os
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "training"))
from video_psnr import frames, mean_psnr  # noqa: E402  (training/ is not a package)


def flow(to_frame: np.ndarray, from_frame: np.ndarray) -> np.ndarray:
    """Dense flow (H, W, 2) such that to_frame(p) ~ from_frame(p + flow(p)), on grey images."""
    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in (to_frame, from_frame)]
    return cv2.calcOpticalFlowFarneback(grey[0], grey[1], None, pyr_scale=0.5, levels=4, winsize=15, iterations=5, poly_n=7, poly_sigma=1.5, flags=0)


def warp(image: np.ndarray, motion: np.ndarray) -> np.ndarray:
    """`image` sampled at p + motion(p), bilinear, edges repeated."""
    h, w = motion.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(image, xs + motion[..., 0], ys + motion[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def non_occluded(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """Pixels whose flow comes back to where it started: |f + b(p + f)|^2 < 0.01 (|f|^2 + |b(p + f)|^2) + 0.5, as Lai et al."""
    back = warp(backward, forward)
    return ((forward + back) ** 2).sum(-1) < 0.01 * ((forward**2).sum(-1) + (back**2).sum(-1)) + 0.5


def warping_error(video: np.ndarray, flows: list[tuple[np.ndarray, np.ndarray]]) -> float:
    errors = []
    for t in range(1, len(video)):
        to_previous, mask = flows[t - 1]
        current = video[t].astype(np.float32) / 255
        warped = warp(video[t - 1].astype(np.float32) / 255, to_previous)
        errors.append(float((((current - warped) ** 2).sum(-1) * mask).sum() / max(mask.sum(), 1)))
    return float(np.mean(errors))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("truth")
    parser.add_argument("videos", nargs="+")
    parser.add_argument("--names", help="comma-separated names for the videos, in order")
    args = parser.parse_args()
    videos = [frames(path) for path in args.videos]
    # The truth may run longer than a video made from it (the motion-blurred sample lacks its last two).
    count = min(len(v) for v in videos)
    truth = frames(args.truth)[:count]
    names = args.names.split(",") if args.names else args.videos
    flows = []
    for t in range(1, count):
        to_previous, to_next = flow(truth[t], truth[t - 1]), flow(truth[t - 1], truth[t])
        flows.append((to_previous, non_occluded(to_previous, to_next).astype(np.float32)))
    print(f"{count} frames, flow on {args.truth}")
    print("| video | PSNR dB | warping error x 1000 |")
    print("| --- | ---: | ---: |")
    print(f"| sharp truth (the floor) | - | {1000 * warping_error(truth, flows):.3f} |")
    for name, video in zip(names, videos):
        print(f"| {name} | {mean_psnr(video[:count], truth):.2f} | {1000 * warping_error(video[:count], flows):.3f} |")

if __name__ == "__main__":
    main()
