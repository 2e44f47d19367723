"""The mean of several checkpoints of one run: stochastic weight averaging, done afterwards.

    python3 training/average.py OUT.pt runs/NAME/model-it1000.pt runs/NAME/model-it1100.pt ...

At the CPU campaign's constant learning rate and batch of 8, consecutive checkpoints swing
(issue 35: the demo's moving areas +0.16 to +0.35 dB over six checkpoints 100 iterations
apart); their mean sat at the top of that range with the smallest colour shift of all. Every
checkpoint must be the same network (its config is checked); the output is a model.pt as
train.py writes it, for export.py and evaluate.py.
"""
from __future__ import annotations

import argparse

import torch

from common import read_weights, save_model
from dsanet import DSANet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("checkpoints", nargs="+")
    args = parser.parse_args()
    config, first = read_weights(args.checkpoints[0])
    total = {key: value.double() for key, value in first.items()}
    for path in args.checkpoints[1:]:
        other_config, state = read_weights(path)
        if other_config != config:
            raise SystemExit(f"{path}: {other_config} is not the network of {args.checkpoints[0]} ({config})")
        for key, value in state.items():
            total[key] += value.double()
    model = DSANet(config)
    model.load_state_dict({key: (value / len(args.checkpoints)).to(first[key].dtype) for key, value in total.items()})
    save_model(model, args.out, averaged=args.checkpoints)
    print(f"wrote {args.out}: the mean of {len(args.checkpoints)} checkpoints")


if __name__ == "__main__":
    main()
