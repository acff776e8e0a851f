"""``handbook_lib.backends``: the flags PyTorch scripts set, kept as honest settings.

handbook_lib computes with numpy on the CPU and cupy on a GPU; it uses neither cuDNN nor MPS,
and its matrix products never use TF32. Scripts may still set these flags (they are stored and
read back) and ask these questions (the answers say what this library does).
"""
from . import cpu, cuda, cudnn, mps

__all__ = ["cpu", "cuda", "cudnn", "mps"]
