"""Adam (and, with decoupled weight decay, AdamW): adaptive moments with bias correction."""
from __future__ import annotations

from typing import Any, Callable

from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..ops import fused
from ..ops.creation import zeros_like
from .optimizer import Optimizer, ParamsT, bump_version, check_unsupported, increment, new_step


class Adam(Optimizer):
    r"""Adam, PyTorch's formulation.

    For each parameter :math:`\theta` with gradient :math:`g` (negated when ``maximize``), at
    step :math:`t`::

        g ← g + weight_decay · θ            (θ ← θ · (1 − lr · weight_decay) if decoupled)
        m ← β1 · m + (1 − β1) · g           (exp_avg)
        v ← β2 · v + (1 − β2) · g²          (exp_avg_sq; amsgrad divides by max over time)
        θ ← θ − lr / (1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps)

    ``state`` per parameter: ``step`` (a 0-dim tensor, like PyTorch's), ``exp_avg``,
    ``exp_avg_sq`` and, with ``amsgrad``, ``max_exp_avg_sq``.

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate (default: 1e-3).
        betas: coefficients of the running averages of the gradient and its square
            (default: (0.9, 0.999)).
        eps: added to the denominator for numerical stability (default: 1e-8).
        weight_decay: L2 penalty (default: 0).
        amsgrad: use the AMSGrad variant (default: False).
        maximize: maximize the objective instead of minimizing it.
        decoupled_weight_decay: shrink the weights directly, as AdamW does (default: False).
        foreach, fused: accepted for compatibility with PyTorch; they change nothing here.
        capturable, differentiable: only ``False`` (CUDA graphs and differentiating through the
            update are not supported by handbook_lib).
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        check_unsupported(capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    @no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one update of every parameter that has a gradient; return ``closure()``."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            hyper = dict(lr=float(group["lr"]), beta1=float(beta1), beta2=float(beta2),
                         eps=float(group["eps"]), weight_decay=float(group["weight_decay"]),
                         amsgrad=group["amsgrad"], maximize=group["maximize"],
                         decoupled=group["decoupled_weight_decay"])
            for param in group["params"]:
                if param.grad is None:
                    continue
                state = self.state[param]
                if not state:
                    _init_state(state, param, group["amsgrad"])
                adam_update(param, param.grad, state, **hyper)
        return loss


def _init_state(state: dict, param: Tensor, amsgrad: bool) -> None:
    state["step"] = new_step()
    state["exp_avg"] = zeros_like(param)
    state["exp_avg_sq"] = zeros_like(param)
    if amsgrad:
        state["max_exp_avg_sq"] = zeros_like(param)


def adam_update(param: Tensor, grad: Tensor, state: dict, *, lr: float, beta1: float,
                beta2: float, eps: float, weight_decay: float, amsgrad: bool, maximize: bool,
                decoupled: bool) -> None:
    """One Adam step for one parameter, in place on the arrays of ``param`` and ``state``.

    The bias corrections are computed here, once per step; the update itself is one chain of
    :mod:`handbook_lib.ops.fused` (numpy runs it as written, cupy as one kernel)."""
    p = param._data
    step = increment(state["step"])
    weight = 1 - beta1
    hyper = fused.scalars(p, 1 - lr * weight_decay, weight_decay, weight, 1 - weight, beta2,
                          1 - beta2, lr / (1 - beta1 ** step), (1 - beta2 ** step) ** 0.5, eps)
    update = fused.adam_step(param.xp, maximize, weight_decay != 0, decoupled, amsgrad,
                             weight >= 0.5)
    moments = [state["exp_avg"]._data, state["exp_avg_sq"]._data]
    if amsgrad:
        moments.append(state["max_exp_avg_sq"]._data)
    update(p, grad._data, *moments, *hyper)
    bump_version(param)
