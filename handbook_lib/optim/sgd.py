"""Stochastic gradient descent, with momentum, dampening, Nesterov momentum and weight decay."""
from __future__ import annotations

from typing import Any, Callable

from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..ops import fused
from .optimizer import Optimizer, ParamsT, bump_version, check_unsupported


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum), PyTorch's formulation.

    For each parameter :math:`\theta` with gradient :math:`g` (negated when ``maximize``)::

        g ← g + weight_decay · θ
        b ← g                                    (first step)
        b ← momentum · b + (1 − dampening) · g   (later steps)
        g ← g + momentum · b  if nesterov  else  b
        θ ← θ − lr · g

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate (default: 1e-3).
        momentum: momentum factor (default: 0).
        dampening: dampening for momentum (default: 0).
        weight_decay: L2 penalty (default: 0).
        nesterov: Nesterov momentum; needs ``momentum > 0`` and ``dampening == 0``.
        maximize: maximize the objective instead of minimizing it.
        foreach, fused: accepted for compatibility with PyTorch; handbook_lib always updates one
            parameter at a time with whole-array operations, so they change nothing.
        differentiable: only ``False`` (handbook_lib does not record the update in the graph).
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        check_unsupported(differentiable=differentiable)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    @no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one update of every parameter that has a gradient; return ``closure()``."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            momentum = float(group["momentum"])
            hyper = dict(lr=float(group["lr"]), momentum=momentum,
                         dampening=float(group["dampening"]),
                         weight_decay=float(group["weight_decay"]), nesterov=group["nesterov"],
                         maximize=group["maximize"])
            for param in group["params"]:
                if param.grad is not None:
                    # Without momentum SGD keeps no state (PyTorch's state_dict has no entry).
                    state = self.state[param] if momentum != 0 else None
                    sgd_update(param, param.grad, state, **hyper)
        return loss


def sgd_update(param: Tensor, grad: Tensor, state: dict | None, *, lr: float, momentum: float,
               dampening: float, weight_decay: float, nesterov: bool, maximize: bool) -> None:
    """One SGD step for one parameter, in place on its array (``state`` holds the momentum).

    The update is one chain of :mod:`handbook_lib.ops.fused`: numpy runs it as written, cupy
    as one kernel."""
    p, g, xp = param._data, grad._data, param.xp
    decay = weight_decay != 0
    if momentum == 0:
        fused.sgd_step(xp, maximize, decay)(p, g, *fused.scalars(p, lr, weight_decay))
    else:
        buffer = state.get("momentum_buffer")
        first = buffer is None
        if first:
            buffer = state["momentum_buffer"] = Tensor._wrap(xp.empty_like(p))
        step = fused.sgd_momentum_step(xp, maximize, decay, first, nesterov)
        step(p, g, buffer._data, *fused.scalars(p, lr, momentum, 1 - dampening, weight_decay))
    bump_version(param)
