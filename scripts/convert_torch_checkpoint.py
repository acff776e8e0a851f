"""Convert a PyTorch checkpoint (``torch.save`` of a state_dict) into a handbook_lib checkpoint.

    python scripts/convert_torch_checkpoint.py resnet18-f37072fd.pth resnet18.hlpt

The output is ``handbook_lib.save``'s format (a zip of ``.npy`` arrays and a JSON manifest:
nothing in it runs code when it is read), to be loaded with
``model.load_state_dict(handbook_lib.load(path))`` or served as a ``Weights`` URL. It needs
torch only while it runs (``torch.load(weights_only=True)`` reads every format torch ever
wrote, the pre-1.6 ones too). ``--print-sha256`` prints the output's hash for a registry entry.
A checkpoint that wraps the state_dict (``{"state_dict": ...}`` or ``{"model": ...}``) is
unwrapped; the ``module.`` prefix DataParallel adds is removed.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from collections import OrderedDict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import handbook_lib as hl  # noqa: E402


def torch_state_dict(path: str) -> "OrderedDict[str, object]":
    """The state_dict inside a torch checkpoint file, its tensors as numpy arrays."""
    import torch

    obj = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict):
        raise SystemExit(f"{path} holds a {type(obj).__name__}, not a state_dict")
    converted = OrderedDict()
    for key, value in obj.items():
        if not isinstance(value, torch.Tensor):
            raise SystemExit(f"{path}: entry {key!r} is a {type(value).__name__}, not a tensor")
        converted[key.removeprefix("module.")] = value.detach().cpu().numpy()
    return converted


def convert(source: str, target: str) -> str:
    """Write ``target`` from ``source``; returns the SHA-256 of ``target``."""
    state = OrderedDict((k, hl.from_numpy(v.copy())) for k, v in torch_state_dict(source).items())
    hl.save(state, target)
    return hashlib.sha256(Path(target).read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="a torch.save file (.pth, .pt)")
    parser.add_argument("target", help="the handbook_lib checkpoint to write")
    parser.add_argument("--print-sha256", action="store_true", help="print the output's hash")
    args = parser.parse_args(argv)
    digest = convert(args.source, args.target)
    if args.print_sha256:
        print(digest)


if __name__ == "__main__":
    main()
