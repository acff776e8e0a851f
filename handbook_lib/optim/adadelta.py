"""Adadelta: step sizes from running averages of squared gradients and of squared updates."""
from __future__ import annotations

from typing import Any, Callable

from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..ops.creation import zeros_like
from .optimizer import Optimizer, ParamsT, bump_version, check_unsupported, increment, new_step


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012), PyTorch's formulation.

    For each parameter :math:`\theta` with gradient :math:`g` (negated when ``maximize``)::

        g ← g + weight_decay · θ
        v ← ρ v + (1 − ρ) g²                          (square_avg)
        Δ ← √(u + eps) / √(v + eps) · g
        u ← ρ u + (1 − ρ) Δ²                          (acc_delta)
        θ ← θ − lr · Δ

    ``state`` per parameter: ``step``, ``square_avg`` and ``acc_delta``, created at the first
    step, as in PyTorch.

    Args:
        params: parameters or parameter groups to optimize.
        lr: scales the update Δ (default: 1.0).
        rho: the decay of both running averages (default: 0.9).
        eps: added inside both square roots (default: 1e-6).
        weight_decay: L2 penalty (default: 0).
        maximize: maximize the objective instead of minimizing it.
        foreach, capturable: accepted for compatibility; they change nothing here.
        differentiable: only ``False``.
    """

    def __init__(self, params: ParamsT, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        check_unsupported(differentiable=differentiable)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, foreach=foreach,
                        capturable=capturable, maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    @no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one update of every parameter that has a gradient; return ``closure()``."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            hyper = dict(lr=float(group["lr"]), rho=float(group["rho"]), eps=float(group["eps"]),
                         weight_decay=float(group["weight_decay"]), maximize=group["maximize"])
            for param in group["params"]:
                if param.grad is None:
                    continue
                state = self.state[param]
                if not state:
                    state["step"] = new_step()
                    state["square_avg"] = zeros_like(param)
                    state["acc_delta"] = zeros_like(param)
                adadelta_update(param, param.grad, state, **hyper)
        return loss


def adadelta_update(param: Tensor, grad: Tensor, state: dict, *, lr: float, rho: float,
                    eps: float, weight_decay: float, maximize: bool) -> None:
    """One Adadelta step for one parameter, in place on the arrays of ``param`` and ``state``."""
    p, xp = param._data, param.xp
    g = -grad._data if maximize else grad._data
    increment(state["step"])
    if weight_decay != 0:
        g = g + weight_decay * p
    square_avg, acc_delta = state["square_avg"]._data, state["acc_delta"]._data
    square_avg *= rho
    square_avg += (1 - rho) * g * g
    delta = xp.sqrt(acc_delta + eps) / xp.sqrt(square_avg + eps) * g
    acc_delta *= rho
    acc_delta += (1 - rho) * delta * delta
    p -= lr * delta
    bump_version(param)
