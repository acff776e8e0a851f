"""Adagrad: per-coordinate learning rates from the sum of all past squared gradients."""
from __future__ import annotations

from typing import Any, Callable

from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..ops.creation import full_like
from .optimizer import Optimizer, ParamsT, bump_version, check_unsupported, increment, new_step


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011), PyTorch's formulation.

    For each parameter :math:`\theta` with gradient :math:`g` (negated when ``maximize``), at
    step :math:`t`::

        g ← g + weight_decay · θ
        s ← s + g²                                  (sum)
        θ ← θ − lr / (1 + (t − 1) · lr_decay) · g / (√s + eps)

    ``state`` per parameter: ``step`` and ``sum``, created with the optimizer (as PyTorch
    does), ``sum`` starting at ``initial_accumulator_value``. Where we differ: PyTorch fills
    ``sum`` with the constructor's ``initial_accumulator_value`` even for a group that sets
    its own; handbook_lib uses the group's value.

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate (default: 1e-2).
        lr_decay: learning-rate decay per step (default: 0).
        weight_decay: L2 penalty (default: 0).
        initial_accumulator_value: the starting value of ``sum`` (default: 0).
        eps: added to the denominator for numerical stability (default: 1e-10).
        maximize: maximize the objective instead of minimizing it.
        foreach, fused: accepted for compatibility with PyTorch; they change nothing here.
        differentiable: only ``False``.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError("Invalid initial_accumulator_value value: "
                             f"{initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        check_unsupported(differentiable=differentiable)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for param in group["params"]:
                _init_state(self.state[param], param, group["initial_accumulator_value"])

    @no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one update of every parameter that has a gradient; return ``closure()``."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            hyper = dict(lr=float(group["lr"]), lr_decay=float(group["lr_decay"]),
                         eps=float(group["eps"]), weight_decay=float(group["weight_decay"]),
                         maximize=group["maximize"])
            for param in group["params"]:
                if param.grad is None:
                    continue
                state = self.state[param]
                if not state:  # a parameter added later with add_param_group
                    _init_state(state, param, group["initial_accumulator_value"])
                adagrad_update(param, param.grad, state, **hyper)
        return loss


def _init_state(state: dict, param: Tensor, initial_accumulator_value: float) -> None:
    state["step"] = new_step()
    state["sum"] = full_like(param, initial_accumulator_value)


def adagrad_update(param: Tensor, grad: Tensor, state: dict, *, lr: float, lr_decay: float,
                   eps: float, weight_decay: float, maximize: bool) -> None:
    """One Adagrad step for one parameter, in place on the arrays of ``param`` and ``state``."""
    p, xp = param._data, param.xp
    g = -grad._data if maximize else grad._data
    step = increment(state["step"])
    if weight_decay != 0:
        g = g + weight_decay * p
    clr = lr / (1 + (step - 1) * lr_decay)
    state_sum = state["sum"]._data
    state_sum += g * g
    std = xp.sqrt(state_sum)
    std += eps
    p -= clr * g / std
    bump_version(param)
