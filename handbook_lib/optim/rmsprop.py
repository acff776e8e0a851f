"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""
from __future__ import annotations

from typing import Any, Callable

from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..ops.creation import zeros_like
from .optimizer import (Optimizer, ParamsT, bump_version, check_unsupported, increment, lerp_,
                        new_step)


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e), PyTorch's formulation.

    For each parameter :math:`\theta` with gradient :math:`g` (negated when ``maximize``)::

        g ← g + weight_decay · θ
        v ← α · v + (1 − α) · g²                   (square_avg)
        d ← √v + eps        or, centered:  d ← √(v − ḡ²) + eps   with ḡ ← α · ḡ + (1 − α) · g
        b ← momentum · b + g / d;  θ ← θ − lr · b   (momentum > 0)
        θ ← θ − lr · g / d                          (otherwise)

    ``state`` per parameter: ``step``, ``square_avg``, and ``momentum_buffer`` (momentum > 0)
    and ``grad_avg`` (centered).

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate (default: 1e-2).
        alpha: smoothing constant (default: 0.99).
        eps: added to the denominator for numerical stability (default: 1e-8).
        weight_decay: L2 penalty (default: 0).
        momentum: momentum factor (default: 0).
        centered: normalise by an estimate of the gradient's variance (default: False).
        maximize: maximize the objective instead of minimizing it.
        foreach: accepted for compatibility with PyTorch; it changes nothing here.
        capturable, differentiable: only ``False``.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        check_unsupported(capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    @no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one update of every parameter that has a gradient; return ``closure()``."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            hyper = dict(lr=float(group["lr"]), alpha=float(group["alpha"]),
                         eps=float(group["eps"]), weight_decay=float(group["weight_decay"]),
                         momentum=float(group["momentum"]), centered=group["centered"],
                         maximize=group["maximize"])
            for param in group["params"]:
                if param.grad is None:
                    continue
                state = self.state[param]
                if not state:
                    _init_state(state, param, hyper["momentum"] > 0, group["centered"])
                rmsprop_update(param, param.grad, state, **hyper)
        return loss


def _init_state(state: dict, param: Tensor, momentum: bool, centered: bool) -> None:
    state["step"] = new_step()
    state["square_avg"] = zeros_like(param)
    if momentum:
        state["momentum_buffer"] = zeros_like(param)
    if centered:
        state["grad_avg"] = zeros_like(param)


def rmsprop_update(param: Tensor, grad: Tensor, state: dict, *, lr: float, alpha: float,
                   eps: float, weight_decay: float, momentum: float, centered: bool,
                   maximize: bool) -> None:
    """One RMSprop step for one parameter, in place on the arrays of ``param`` and ``state``."""
    p, xp = param._data, param.xp
    g = -grad._data if maximize else grad._data
    increment(state["step"])
    if weight_decay != 0:
        g = g + weight_decay * p
    square_avg = state["square_avg"]._data
    square_avg *= alpha
    square_avg += (1 - alpha) * g * g
    if centered:
        grad_avg = state["grad_avg"]._data
        lerp_(grad_avg, g, 1 - alpha)
        avg = xp.sqrt(square_avg - grad_avg * grad_avg)
    else:
        avg = xp.sqrt(square_avg)
    avg += eps
    if momentum > 0:
        buf = state["momentum_buffer"]._data
        buf *= momentum
        buf += g / avg
        p -= lr * buf
    else:
        p -= lr * g / avg
    bump_version(param)
