"""What a user gets from the CLI on camera footage: the do-no-harm and demo figures of issue 35.

    python3 training/camera_eval.py [--model full --model lite --model out/cand.onnx] [--precision int8] [--json out.json]

For each model (a name the CLI knows or an .onnx from export.py), through `bin/dsanet deblur
--lossless` (so that no encoder stands between the model and the figure):
  - demo: samples/pedestrians-motion-blur.mp4, with --regions off and auto, against its sharp
    truth (frame i of samples/pedestrians.mp4); the blurred input's own PSNR is the bar;
  - sharp: samples/pedestrians.mp4 itself, whole frames, against its input: a network that does
    no harm leaves it as it was (PSNR high, mean shift per channel near 0 levels);
  - photos: make_clip.py's mild clip of the six held-out photos (bit-exact, 512x512, 6 frames
    each), whole frames, against its truth: the input's PSNR is the bar, and the worst photo's
    change shows harm that the mean hides (a macro photo's bokeh, say).
PSNR is per-frame RGB, averaged (video_psnr.py). Run `npm run build` first if dist/ is stale.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from common import ROOT
from data import BlurConfig
from make_clip import PER_PHOTO, SEED, SIZE, write_clip
from video_psnr import frames, mean_psnr

DEMO = ROOT / "samples" / "pedestrians-motion-blur.mp4"
SHARP = ROOT / "samples" / "pedestrians.mp4"


def deblur(model: str, source: Path, regions: str, out: Path, precision: str) -> np.ndarray:
    subprocess.run(
        [str(ROOT / "bin" / "dsanet"), "deblur", str(source), "-o", str(out), "--model", model, "--regions", regions, "--precision", precision, "--lossless", "--threads", "2", "-q"],
        check=True, cwd=ROOT,
    )
    return frames(str(out))


def photo_clip(folder: Path) -> tuple[Path, np.ndarray]:
    """make_clip.py's mild held-out clip (its defaults, --lossless) in `folder`: the blurred
    file and its truth, PER_PHOTO frames a photo."""
    blurred, sharp = write_clip(str(folder / "photos"), PER_PHOTO, SIZE, SEED, BlurConfig(), lossless=True)
    return Path(blurred), frames(sharp)


def worst_photo(output: np.ndarray, blurred: np.ndarray, truth: np.ndarray) -> float:
    """The lowest gain over the input of any one photo's frames, in dB."""
    photo = lambda video, i: video[i : i + PER_PHOTO]  # noqa: E731
    return min(mean_psnr(photo(output, i), photo(truth, i)) - mean_psnr(photo(blurred, i), photo(truth, i)) for i in range(0, len(truth), PER_PHOTO))


def mean_shift(output: np.ndarray, source: np.ndarray) -> list[float]:
    """Mean of output - input per RGB channel, in levels of 255: a brightness or colour bias."""
    return [round(float(v), 3) for v in (output.astype(np.float64) - source).reshape(-1, 3).mean(0)]


def camera_figures(models: list[str], precision: str) -> dict:
    """The figures above for each model (a CLI name or an .onnx path), and the inputs' own
    ("input": the bars), printed as they come."""
    demo, sharp = frames(str(DEMO)), frames(str(SHARP))
    truth = sharp[: len(demo)]
    results = {"input": {"demo": round(mean_psnr(demo, truth), 2)}}
    print(f"demo input: {results['input']['demo']:.2f} dB against its truth ({len(demo)} frames)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        photos, photos_truth = photo_clip(Path(tmp))
        photos_input = frames(str(photos))
        results["input"]["photos"] = round(mean_psnr(photos_input, photos_truth), 2)
        print(f"held-out photos input: {results['input']['photos']:.2f} dB against its truth", flush=True)
        for model in models:
            row = {}
            for regions in ("off", "auto"):
                output = deblur(model, DEMO, regions, Path(tmp) / "demo.mkv", precision)
                row[f"demo_{regions}"] = round(mean_psnr(output, truth), 2)
            output = deblur(model, SHARP, "off", Path(tmp) / "sharp.mkv", precision)
            row["sharp_psnr"] = round(mean_psnr(output, sharp), 2)
            row["sharp_shift"] = mean_shift(output, sharp)
            output = deblur(model, photos, "off", Path(tmp) / "photos.mkv", precision)
            row["photos"] = round(mean_psnr(output, photos_truth), 2)
            row["photos_worst"] = round(worst_photo(output, photos_input, photos_truth), 2)
            results[model] = row
            gain = lambda key: row[key] - results["input"]["demo"]  # noqa: E731
            print(
                f"{model}: demo whole frames {row['demo_off']:.2f} ({gain('demo_off'):+.2f}), regions {row['demo_auto']:.2f} ({gain('demo_auto'):+.2f}); "
                f"sharp clip {row['sharp_psnr']:.2f} dB from its input, mean shift {row['sharp_shift']} levels; "
                f"held-out photos {row['photos']:.2f} ({row['photos'] - results['input']['photos']:+.2f}), worst photo {row['photos_worst']:+.2f}",
                flush=True,
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", help="full, lite or an .onnx path; repeatable (default: full and lite)")
    parser.add_argument("--precision", default="fp32", help="the CLI's --precision (int8: DSANet's shipped int8 graph)")
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()
    results = camera_figures(args.model or ["full", "lite"], args.precision)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
