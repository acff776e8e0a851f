"""``Optimizer``: the base class of every optimizer.

An optimizer holds ``param_groups`` (a list of dicts: the tensors in ``"params"`` and the
hyper-parameters that apply to them) and ``state`` (a dict from each parameter to its own
buffers, e.g. Adam's running averages). ``step()`` reads each parameter's ``.grad`` and
updates the parameter in place; ``state_dict()`` and ``load_state_dict()`` save and restore
everything in PyTorch's format, with parameters replaced by their index.

The update rules themselves work on the backend arrays (numpy or cupy) of the parameters and
their state, in place, one parameter at a time: no graph, no temporary tensors per element.
"""
from __future__ import annotations

import copy
import warnings
from collections import defaultdict
from itertools import chain
from typing import Any, Callable, Iterable, Union

from .. import _dtype
from .._tensor import Tensor
from ..autograd.grad_mode import enable_grad
from ..ops.creation import tensor

ParamsT = Union[Iterable[Tensor], Iterable[dict], Iterable[tuple]]
StateDict = dict


class Optimizer:
    """Base class for all optimizers.

    Args:
        params: an iterable of tensors (leaf tensors that require grad, e.g. ``nn.Parameter``),
            of ``(name, tensor)`` pairs, or of dicts that each define a parameter group.
        defaults: the hyper-parameters used when a group does not set them.
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {_typename(params)}")
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        lines = [f"{self.__class__.__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(("\n" if i else "") + f"Parameter Group {i}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join(lines) + "\n)"

    # --- parameter groups ------------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (with its own hyper-parameters) to ``param_groups``.

        Useful when fine-tuning: layers unfrozen later join the optimizer here.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but "
                            "the ordering of tensors in sets will change between runs. Please use "
                            "a list instead.")
        _split_names(param_group, list(params))
        for param in param_group["params"]:
            _check_param(param)
        for name, default in self.defaults.items():
            param_group.setdefault(name, default)
        self._check_new_group(param_group)
        self.param_groups.append(param_group)

    def _check_new_group(self, param_group: dict[str, Any]) -> None:
        """PyTorch's checks: no duplicates, no parameter in two groups, names all or none."""
        params = param_group["params"]
        if len(params) != len(set(params)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "in future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=4)
        seen: set[Tensor] = set()
        for group in self.param_groups:
            seen.update(group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                kind = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {kind} to the optimizer")
        if not seen.isdisjoint(params):
            raise ValueError("some parameters appear in more than one parameter group")

    # --- the training-loop API ------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients: to ``None`` (the default, frees memory) or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if p.grad.grad_fn is not None:
                        p.grad.detach_()
                    else:
                        p.grad.requires_grad_(False)
                    p.grad.zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; subclasses implement the rule."""
        raise NotImplementedError

    @staticmethod
    def _evaluate(closure: Callable[[], Any] | None) -> Any:
        """Run ``closure`` (which recomputes the loss and calls backward) with grad enabled."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # --- checkpoints ----------------------------------------------------------------------------
    def state_dict(self) -> StateDict:
        """The optimizer's state as ``{"state": {index: {...}}, "param_groups": [...]}``.

        Parameters are replaced by their position over all groups (0, 1, 2, ...). The state
        tensors are the optimizer's own (not copies), as in PyTorch: ``copy.deepcopy`` the
        result, or save it, to keep a snapshot.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {(index[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: StateDict) -> None:
        """Restore a state saved by :meth:`state_dict` into this optimizer's parameters.

        The groups must have the same sizes as this optimizer's. State tensors are copied onto
        each parameter's device and, except ``step``, cast to its dtype. Where we differ:
        PyTorch reuses a saved tensor that needs no cast; handbook_lib always copies, so the
        saved dict and the optimizer never share buffers.
        """
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))
        _check_state_shapes(state_dict["state"], id_map)
        state: defaultdict[Any, dict[str, Any]] = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in id_map:
                state[id_map[key]] = _cast(id_map[key], value)
            else:
                state[key] = value
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
        self.__setstate__({"state": state, "param_groups": saved_groups})


def _check_state_shapes(saved_state: dict, id_map: dict) -> None:
    """Per-parameter buffers (momentum, exp_avg...) must have their parameter's shape: a state
    saved from another model would otherwise fail only at the next ``step()``."""
    for key, buffers in saved_state.items():
        param = id_map.get(key)
        if param is None:
            continue
        for name, value in buffers.items():
            shape = getattr(value, "shape", None)
            if shape is not None and len(shape) and tuple(shape) != tuple(param.shape):
                raise ValueError(
                    f"loaded state dict has a '{name}' of shape {list(shape)} for parameter "
                    f"{key}, whose shape is {list(param.shape)}: the state was saved from a "
                    "model with other parameter shapes")


def scalar_dtype() -> _dtype.dtype:
    """The dtype of ``state["step"]``: float64 when that is the default dtype, else float32."""
    default = _dtype.get_default_dtype()
    return default if default == _dtype.float64 else _dtype.float32


def new_step() -> Tensor:
    """A fresh step counter, a 0-dim CPU tensor like PyTorch's."""
    return tensor(0.0, dtype=scalar_dtype())


def increment(step: Tensor) -> float:
    """Add one to a step counter in place; return the new count as a Python float."""
    step._data += 1
    step._version_counter[0] += 1
    return float(step._data)


def bump_version(param: Tensor) -> None:
    """Record an in-place change of ``param``, so a graph that saved it refuses to backward."""
    param._version_counter[0] += 1


def lerp_(start, end, weight: float) -> None:
    """``start += weight * (end - start)`` on arrays, in place, rounded as PyTorch's ``lerp_``."""
    if weight < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


def check_unsupported(**flags: Any) -> None:
    """Refuse PyTorch options that change results here or need CUDA graphs."""
    for name, value in flags.items():
        if value:
            raise RuntimeError(f"`{name}=True` is not supported by handbook_lib; leave {name} at "
                               "its default")


def _cast(param: Tensor, value: Any, key: str | None = None) -> Any:
    """A copy of a saved state value, its tensors moved and cast to ``param``'s device and dtype.

    ``step`` stays as saved (a CPU tensor, as PyTorch keeps it).
    """
    if isinstance(value, Tensor):
        if key == "step":
            return value.detach().clone()
        if param.is_floating_point():
            moved = value.to(dtype=param.dtype, device=param.device)
        else:
            moved = value.to(device=param.device)
        return moved.detach().clone() if moved is value else moved
    if isinstance(value, dict):
        return {k: _cast(param, v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(param, v) for v in value)
    return value


def _split_names(param_group: dict[str, Any], params: list) -> None:
    """Store ``params`` in the group; ``(name, tensor)`` pairs also fill ``param_names``."""
    names = [p[0] for p in params if isinstance(p, tuple)]
    param_group["params"] = [p[1] if isinstance(p, tuple) else p for p in params]
    if names:
        if len(names) != len(params):
            raise ValueError("all optimizer params should be with/without names. Some param "
                             "names are missing")
        param_group["param_names"] = names


def _check_param(param: Any) -> None:
    if not isinstance(param, Tensor):
        raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                        f"{_typename(param)}")
    if not (param.is_leaf or param.retains_grad):
        raise ValueError("can't optimize a non-leaf Tensor")


def _typename(obj: Any) -> str:
    """PyTorch's ``torch.typename``: ``torch.FloatTensor``, ``int``, ``numpy.ndarray``."""
    if isinstance(obj, Tensor):
        return obj.type()
    cls = type(obj)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"
