"""A whole GPU loan in one call: train, score on the device, export, and bring it all back.

    bash training/gpu.sh PLAN --photo-dir .gpu/photos --out "$OUT" [--minutes 10]
    bash training/gpu.sh training/experiments/dsanet-gpu.yaml --minutes 8 --photo-dir .gpu/photos --out "$OUT" --init models/dsanet.onnx
    bash training/gpu.sh PLAN --photo-dir DIR --out DIR --dry-run     # the same path on the CPU in seconds

PLAN (experiments/loan-*.yaml) lists phases, run one after the other; the runs of a phase
train side by side on the one GPU, each a train.py process:

    phases:
      - minutes: 3.5
        runs:
          - {config: training/experiments/dsanet-gpu-from-shipped.yaml, init: models/dsanet.onnx}
          - {config: training/experiments/dsanet-gpu-scaled.yaml, flags: [--profile, "10"]}
      - minutes: 2.5
        runs:
          - {config: training/experiments/dsanet-gpu-clips.yaml, init: best}

Paths in a plan are relative to the repository root. `init: best` starts a run from the
previous phase's run that scored best on the heavy split (state carried), with that run's
model section, so the designs match. An experiment YAML instead of a plan is one phase of one
run, `--init` its start. --minutes spreads that many training minutes over the phases in
proportion to theirs. The photos come copied flat into --photo-dir (`python3 training/photos.py DIR`).

After each phase every run's weights are scored on the held-out splits on the device
(evaluate.py); at the end the last phase's runs are exported to ONNX where onnx imports. Into --out, within
the device tool's limits (8 files of at most 16 MiB, 64 MiB in all): scores.json (scores,
throughput and crops of each run), loan.log (this log and every process's output) and
bundle.tar.part-* (each run's model.pt and log.csv, the last phase first, then the ONNX
graphs while they fit; `cat bundle.tar.part-* | tar x`). The bundle is refreshed every minute while
training runs, so a loan cut short still brings back its latest weights.

--dry-run trains each run 3 iterations of 2 crops of 64x64 and scores 1 clip of 64x64 a split,
on whatever device there is, so that a loan never dies on an import or a path; it skips the
ONNX export, whose failure a loan records without stopping.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml

from common import ROOT
from photos import TEST, TRAIN, copied

HERE = Path(__file__).resolve().parent
MIB = 1 << 20
PART = 15 * MIB  # under the tool's 16 MiB a file
MAX_FILES = 8
BUNDLE_WHILE_TRAINING = 40 * MIB  # leaves room for a part being rewritten when a loan is cut short
BUNDLE_AT_END = 58 * MIB  # with scores.json and loan.log, under the tool's 64 MiB
PACK_EVERY = 60.0  # seconds


@dataclass
class Run:
    config: Path
    init: str | None
    flags: list[str] = field(default_factory=list)
    name: str = ""
    exit_code: int | None = None
    scores: dict | None = None


@dataclass
class Phase:
    minutes: float
    runs: list[Run]


def read_plan(path: Path, minutes: float | None, init: str | None) -> list[Phase]:
    """The phases of a plan, or one phase of one run for an experiment YAML."""
    with open(path) as f:
        plan = yaml.safe_load(f)
    if not isinstance(plan, dict):
        raise ValueError(f"{path}: not a YAML mapping")
    if "phases" not in plan:
        if "name" not in plan:
            raise ValueError(f"{path}: neither a loan plan (phases:) nor an experiment (name:)")
        if minutes is None:
            raise ValueError(f"{path} is one experiment: give --minutes")
        return [Phase(minutes, [Run(path, init)])]
    phases = []
    for number, phase in enumerate(plan["phases"], 1):
        runs = [Run(ROOT / r["config"], str(ROOT / r["init"]) if r.get("init") not in (None, "best") else r.get("init"), [str(f) for f in r.get("flags", [])]) for r in phase["runs"]]
        if number == 1 and init:
            for run in runs:
                run.init = run.init or init
        if number == 1 and any(r.init == "best" for r in runs):
            raise ValueError(f"{path}: phase 1 has no phase before it to take `init: best` from")
        phases.append(Phase(float(phase["minutes"]), runs))
    if minutes is not None:
        total = sum(p.minutes for p in phases)
        for phase in phases:
            phase.minutes *= minutes / total
    return phases


class Loan:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.out = Path(args.out)
        self.work = Path(args.work or self.out.parent / f".{self.out.name}-work").resolve()
        self.runs_dir = Path(args.runs).resolve() if args.runs else self.work / "runs"
        self.photo_dir = str(Path(args.photo_dir).resolve())
        self.out.mkdir(parents=True, exist_ok=True)
        (self.work / "configs").mkdir(parents=True, exist_ok=True)
        self.log = open(self.work / "loan.log", "a")
        self.finished: list[Run] = []
        self.onnx: dict[str, str] = {}
        self.failures: list[str] = []
        self.phases: list[Phase] = []

    def say(self, line: str) -> None:
        stamped = f"[loan {time.strftime('%H:%M:%S')}] {line}"
        print(stamped, flush=True)
        self.log.write(stamped + "\n")
        self.log.flush()

    def check_photos(self) -> None:
        missing = [p for p in copied(TRAIN + TEST, self.photo_dir) if not os.path.exists(p)]
        if missing:
            raise SystemExit(f"{missing[0]}: missing ({len(missing)} of {len(TRAIN + TEST)} photos); copy them with `python3 training/photos.py {self.photo_dir}`")

    def prepare(self, run: Run, best: Run | None) -> Path:
        """The run's experiment as it will train: the best run's model for `init: best`, and the
        dry run's small sizes. Written into the work folder; the YAML given is never changed."""
        with open(run.config) as f:
            experiment = yaml.safe_load(f)
        if run.init == "best" and best is not None:
            with open(self.work / "configs" / f"{best.name}.yaml") as f:
                experiment["model"] = yaml.safe_load(f)["model"]
            run.init = str(self.runs_dir / best.name / "model.pt")
        if self.args.dry_run:
            experiment["data"].update(crop=64, batch=2)
            experiment["step"] = {**experiment.get("step", {}), "log_every": 1, "compile": None}
            experiment["checkpoint_every"] = 2
        run.name = experiment["name"]
        path = self.work / "configs" / f"{run.name}.yaml"
        with open(path, "w") as f:
            yaml.safe_dump(experiment, f, sort_keys=False)
        return path

    def python(self, script: str, *options: str) -> list[str]:
        return [sys.executable, str(HERE / script), *options]

    def environment(self) -> dict[str, str]:
        # The dry run's processes share the CPU: one thread each.
        threads = {"OMP_NUM_THREADS": "1"} if self.args.dry_run else {}
        return {**os.environ, "PYTHONUNBUFFERED": "1", "DSANET_RUNS": str(self.runs_dir), **threads}

    def train(self, phase: Phase, best: Run | None) -> None:
        configs = [self.prepare(run, best) for run in phase.runs]
        names = [run.name for run in phase.runs]
        if len(set(names)) != len(names):
            raise ValueError(f"the runs of one phase need different names, got {', '.join(names)}")
        budget = ["--iterations", "3"] if self.args.dry_run else ["--minutes", f"{phase.minutes:.2f}"]
        processes = []
        for run, config in zip(phase.runs, configs):
            command = self.python("train.py", "--config", str(config), "--photo-dir", self.photo_dir, *budget, *(["--init", run.init] if run.init else []), *run.flags)
            self.say(f"{run.name}: {' '.join(command[1:])}")
            output = open(self.work / f"{run.name}.out", "w")
            processes.append((run, subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=self.environment()), output))
        last_pack = time.time()
        while any(p.poll() is None for _, p, _ in processes):
            time.sleep(1.0 if self.args.dry_run else 5.0)
            if time.time() - last_pack > PACK_EVERY:
                self.pack(BUNDLE_WHILE_TRAINING)
                last_pack = time.time()
        for run, process, output in processes:
            output.close()
            run.exit_code = process.returncode
            self.say(f"{run.name}: train.py exited {run.exit_code}; {self.summary(run)}")
            if run.exit_code:
                self.failures.append(f"{run.name}: train.py exited {run.exit_code}")

    def summary(self, run: Run) -> str:
        """The run's last throughput line and its total, from its output."""
        text = (self.work / f"{run.name}.out").read_text()
        lines = [line for line in text.splitlines() if re.match(r"it \d+ |done: ", line)]
        return " / ".join(lines[-2:]) if lines else (text.strip().splitlines() or ["no output"])[-1]

    def score(self, runs: list[Run]) -> None:
        """evaluate.py on each run's weights, all at once (the held-out clips are synthesized
        on the CPU cores, the networks run on the device)."""
        started = []
        for run in runs:
            weights = self.runs_dir / run.name / "model.pt"
            if not weights.exists():
                continue
            result = self.work / f"{run.name}-scores.json"
            small = ["--clips", "1", "--size", "64"] if self.args.dry_run else []
            command = self.python("evaluate.py", "--weights", str(weights), "--photo-dir", self.photo_dir, "--json", str(result), *small)
            output = open(self.work / f"{run.name}-evaluate.out", "w")
            started.append((run, result, output, subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=self.environment())))
        for run, result, output, process in started:
            code = process.wait()
            output.close()
            if code:
                self.failures.append(f"{run.name}: evaluate.py exited {code}")
                self.say(f"{run.name}: evaluate.py exited {code}")
                continue
            run.scores = json.loads(result.read_text())
            heavy, mild = run.scores["heavy"], run.scores["mild"]
            self.say(
                f"{run.name}: heavy {heavy['blurred input']['psnr']:.2f} -> {heavy['DSANet per frame']['psnr']:.2f} per frame, "
                f"{heavy['DSANet state carried']['psnr']:.2f} carried; mild {mild['blurred input']['psnr']:.2f} -> "
                f"{mild['DSANet per frame']['psnr']:.2f} / {mild['DSANet state carried']['psnr']:.2f} dB"
            )

    def export(self, run: Run) -> None:
        weights = self.runs_dir / run.name / "model.pt"
        if not weights.exists():
            return
        folder = self.work / "export" / run.name
        command = self.python("export.py", "--weights", str(weights), "--name", run.name, "--out", str(folder))
        with open(self.work / f"{run.name}-export.out", "w") as output:
            code = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, env=self.environment()).returncode
        self.onnx[run.name] = "exported" if code == 0 else f"export.py exited {code}"
        self.say(f"{run.name}: ONNX {self.onnx[run.name]}")

    def pack(self, budget: int) -> None:
        """scores.json, loan.log and the bundle's parts into --out, each written under a
        temporary name and renamed; what did not fit is named in scores.json."""
        runs = [run for phase in reversed(self.phases) for run in phase.runs if run.name]
        wanted = [(f"{run.name}/{name}", self.runs_dir / run.name / name) for run in runs for name in ("model.pt", "log.csv")]
        wanted += [(f"{run.name}/{run.name}.onnx", self.work / "export" / run.name / f"{run.name}.onnx") for run in runs]
        chosen, left_out, size = [], [], 0
        for arcname, path in wanted:
            if not path.exists():
                continue
            if size + path.stat().st_size + 10240 > budget:
                left_out.append(arcname)
                continue
            chosen.append((arcname, path))
            size += path.stat().st_size + 10240
        bundle = self.work / "bundle.tar"
        with tarfile.open(bundle, "w") as tar:
            for arcname, path in chosen:
                tar.add(path, arcname)
        parts = self.split(bundle)
        if len(parts) + 2 > MAX_FILES:
            raise RuntimeError(f"{len(parts)} bundle parts exceed the tool's {MAX_FILES} files")
        for old in self.out.glob("bundle.tar.part-*"):
            if old.name not in parts:
                old.unlink()
        self.write(
            "scores.json",
            json.dumps(
                {
                    "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
                    "dry_run": self.args.dry_run,
                    "runs": {
                        run.name: {"config": str(run.config), "init": run.init, "exit": run.exit_code, "training": self.summary(run), "scores": run.scores, "onnx": self.onnx.get(run.name)}
                        for run in runs
                        if (self.work / f"{run.name}.out").exists()
                    },
                    "bundle": [a for a, _ in chosen],
                    "left_out": left_out,
                    "failures": self.failures,
                },
                indent=2,
            ),
        )
        self.log.flush()
        logs = [(self.work / "loan.log").read_text()]
        for path in sorted(self.work.glob("*.out")):
            logs.append(f"\n===== {path.name} =====\n{path.read_text()}")
        self.write("loan.log", "".join(logs)[-PART:])

    def split(self, bundle: Path) -> list[str]:
        names = []
        with open(bundle, "rb") as source:
            for index in range(MAX_FILES):
                chunk = source.read(PART)
                if not chunk:
                    break
                name = f"bundle.tar.part-{chr(97 + index // 26)}{chr(97 + index % 26)}"
                self.write(name, chunk)
                names.append(name)
        return names

    def write(self, name: str, content: str | bytes) -> None:
        partial = self.out / f"{name}.tmp"
        partial.write_bytes(content.encode() if isinstance(content, str) else content)
        partial.replace(self.out / name)

    def run(self) -> int:
        self.check_photos()
        self.phases = read_plan(Path(self.args.plan), self.args.minutes, self.args.init)
        self.say(f"{len(self.phases)} phase(s) on {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'the CPU'}; torch {torch.__version__}")
        best = None
        for number, phase in enumerate(self.phases, 1):
            self.say(f"phase {number}: {len(phase.runs)} run(s), {phase.minutes:.2f} min")
            if best is None and any(run.init == "best" for run in phase.runs):
                self.failures.append(f"phase {number}: init: best, but no run of phase {number - 1} has scores; phase skipped")
                self.say(self.failures[-1])
                continue
            self.train(phase, best)
            self.score(phase.runs)
            scored = [r for r in phase.runs if r.scores]
            best = max(scored, key=lambda r: r.scores["heavy"]["DSANet state carried"]["psnr"]) if scored else None
            self.pack(BUNDLE_WHILE_TRAINING)
        if self.args.dry_run:
            # export.py traces the full graph whatever the crop (~90 CPU-seconds here), and a
            # failed export is recorded, never fatal: the dry run names the step and skips it.
            self.say("dry run: ONNX export skipped (export.py on each last-phase run in a loan)")
        elif importlib.util.find_spec("onnx"):
            for run in self.phases[-1].runs:  # the loan's result; export.py makes the others' from model.pt
                self.export(run)
        else:
            self.say("onnx does not import here: no ONNX export (export.py makes it from model.pt)")
        self.pack(BUNDLE_AT_END)
        self.say(f"done; {len(self.failures)} failure(s){': ' + '; '.join(self.failures) if self.failures else ''}")
        self.pack(BUNDLE_AT_END)
        return 1 if self.failures else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("plan", help="a loan plan (phases:) or one experiment YAML")
    parser.add_argument("--out", required=True, help="what the device tool brings back ($OUT)")
    parser.add_argument("--photo-dir", required=True, help="the training and test photos copied flat (photos.py DIR)")
    parser.add_argument("--minutes", type=float, help="training minutes in all (a plan's phases keep their proportions)")
    parser.add_argument("--init", help="the first phase's start for runs without their own init (e.g. models/dsanet.onnx)")
    parser.add_argument("--runs", help="checkpoint folder (default: in the work folder)")
    parser.add_argument("--work", help="folder for configs, outputs and the bundle (default: beside --out)")
    parser.add_argument("--dry-run", action="store_true", help="3 iterations of 64x64 crops a run, 1 held-out clip: the path, not the result")
    sys.exit(Loan(parser.parse_args()).run())


if __name__ == "__main__":
    main()
