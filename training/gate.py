"""Does a candidate beat the shipped weights? Every figure a checkpoint ships on, side by side.

    python3 training/gate.py runs/NAME/model.pt [--model lite] [--stop-early] [--json out.json]

The campaign's rule (issue 35): a checkpoint ships only when it beats the shipped one on every
figure below and stays within the no-harm bars. The figures:
  - each held-out split (heavy, mild, soft), per frame and with the state carried
    (evaluate.py), to 3 decimals;
  - through the CLI (camera_eval.py), to 2: the demo over whole frames and with --regions auto,
    the sharp clip (dB from its input), the held-out photos and their worst photo's change.
The bars: the sharp clip at least 42 dB from its input and no channel shifted more than 0.25
levels on average. "Beats" is no figure lower and at least one higher.

The candidate (a run's .pt or an exported .onnx) is exported to a temporary folder for the
CLI. The shipped model's figures are computed once and kept in runs/gate/, under a key made of
its file, the scripts that compute them and src/'s tree in git (rebuild dist/ before a run
after changing src/: the CLI runs dist/). Exit status: 0 when the candidate passes, 1 when not.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

from camera_eval import camera_figures
from common import MODELS, RUNS, ROOT, device, load_model
from evaluate import SPLITS, evaluate
from export import export_onnx

SHIPPED = {"full": MODELS / "dsanet.onnx", "lite": MODELS / "dsanet-lite.onnx"}
EXPORT_NAME = {"full": "dsanet", "lite": "dsanet-lite"}
# What the figures depend on besides the weights: the held-out clips and how they are scored.
SCRIPTS = ["camera_eval.py", "data.py", "dsanet.py", "evaluate.py", "make_clip.py", "photos.py", "video_psnr.py"]
SHARP_BAR, SHIFT_BAR = 42.0, 0.25
# Heavy first: the figure candidates have lost most often, so --stop-early stops soonest.
SPLIT_ORDER = ("heavy", "mild", "soft")


def figures(weights: Path, onnx: Path) -> Iterator[tuple[str, float]]:
    """The figures of one model as they are measured: `weights` on the held-out splits
    (PyTorch), `onnx` through the CLI."""
    model, dev = load_model(weights), device()
    for split in SPLIT_ORDER:
        scored = evaluate(model, dev, SPLITS[split])
        yield f"{split} per frame", round(scored["DSANet per frame"]["psnr"], 3)
        yield f"{split} state carried", round(scored["DSANet state carried"]["psnr"], 3)
    camera = camera_figures([str(onnx)], "fp32")[str(onnx)]
    yield "demo whole", camera["demo_off"]
    yield "demo regions", camera["demo_auto"]
    yield "sharp clip", camera["sharp_psnr"]
    yield "photos", camera["photos"]
    yield "photos worst", camera["photos_worst"]
    yield "sharp shift", max(abs(v) for v in camera["sharp_shift"])


def shipped_figures(model: str) -> dict[str, float]:
    path = SHIPPED[model]
    key = hashlib.sha256(path.read_bytes())
    for script in SCRIPTS:
        key.update((Path(__file__).parent / script).read_bytes())
    key.update(subprocess.run(["git", "rev-parse", "HEAD:src"], cwd=ROOT, capture_output=True, text=True).stdout.encode())
    cached = RUNS / "gate" / f"{model}-{key.hexdigest()[:12]}.json"
    if cached.exists():
        return json.loads(cached.read_text())
    print(f"{path.name}: its figures, once ({cached.relative_to(ROOT)})", flush=True)
    row = {}
    for name, value in figures(path, path):
        row[name] = value
        print(f"{name}: {value}", flush=True)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.with_suffix(".tmp").write_text(json.dumps(row, indent=1))
    cached.with_suffix(".tmp").replace(cached)
    return row


def verdict(candidate: dict[str, float], shipped: dict[str, float]) -> tuple[bool, list[str]]:
    """Whether the candidate passes, and a table row per figure."""
    lines = ["| figure | shipped | candidate | change |", "| --- | ---: | ---: | ---: |"]
    lower, higher = [], []
    for name, ours in shipped.items():
        if name == "sharp shift":
            continue
        theirs = candidate[name]
        if theirs < ours:
            lower.append(name)
        elif theirs > ours:
            higher.append(name)
        lines.append(f"| {name} | {ours} | {theirs} | {theirs - ours:+.3f}{' **lower**' if theirs < ours else ''} |")
    lines.append(f"| sharp shift (levels, at most) | {shipped['sharp shift']} | {candidate['sharp shift']} | |")
    bars = [f"the sharp clip under {SHARP_BAR} dB"] if candidate["sharp clip"] < SHARP_BAR else []
    bars += [f"a channel shifted over {SHIFT_BAR} levels"] if candidate["sharp shift"] > SHIFT_BAR else []
    reasons = [f"lower on {', '.join(lower)}"] if lower else []
    reasons += bars + ([] if higher else ["no figure higher"])
    passes = not reasons
    lines.append("")
    lines.append("passes: it beats the shipped weights on every figure" if passes else f"does not pass: {'; '.join(reasons)}")
    return passes, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("candidate", help="a run's .pt (train.py, average.py) or an exported .onnx")
    parser.add_argument("--model", choices=list(SHIPPED), default="full", help="the shipped model it would replace (the CLI's --model)")
    parser.add_argument("--json", help="also write both models' figures here")
    parser.add_argument("--stop-early", action="store_true", help="stop at the first figure lower than the shipped one (the heavy split comes first)")
    args = parser.parse_args()
    candidate = Path(args.candidate)
    shipped = shipped_figures(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        onnx = candidate
        if candidate.suffix != ".onnx":
            onnx = Path(tmp) / f"{EXPORT_NAME[args.model]}.onnx"
            export_onnx(load_model(candidate), onnx)
        ours = {}
        for name, value in figures(candidate, onnx):
            ours[name] = value
            print(f"{name}: {value} (shipped {shipped[name]})", flush=True)
            if args.stop_early and name != "sharp shift" and value < shipped[name]:
                print(f"does not pass: lower on {name} (stopped there, --stop-early)")
                sys.exit(1)
    passes, lines = verdict(ours, shipped)
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps({"shipped": shipped, "candidate": ours, "passes": passes}, indent=1))
    sys.exit(0 if passes else 1)


if __name__ == "__main__":
    main()
