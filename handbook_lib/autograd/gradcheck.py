"""Check analytical gradients against finite differences (use float64 inputs)."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` when the analytical and numerical Jacobians differ."""


def _as_outputs(result) -> tuple:
    return result if isinstance(result, tuple) else (result,)


def _numerical_jacobian(func: Callable, inputs: Sequence, index: int, eps: float) -> list:
    """Central differences: column j holds d(outputs)/d(inputs[index].flat[j]).

    ``func`` runs with grad mode as the caller left it: ``gradgradcheck``'s ``func`` computes a
    gradient itself and needs the graph. The input is perturbed in place through
    ``ndarray.flat``, which reaches the storage of non-contiguous inputs too (``reshape(-1)``
    would perturb a copy of them).
    """
    x = inputs[index]
    flat = x._data.flat
    columns = []
    for j in range(x._data.size):
        original = float(flat[j])
        flat[j] = original + eps
        plus = [o._data.astype(np.float64).ravel() for o in _as_outputs(func(*inputs))]
        flat[j] = original - eps
        minus = [o._data.astype(np.float64).ravel() for o in _as_outputs(func(*inputs))]
        flat[j] = original
        columns.append(np.concatenate([(p - m) / (2 * eps) for p, m in zip(plus, minus)]))
    if not columns:  # an empty input: no columns, one row per output element
        return np.zeros((sum(o.numel() for o in _as_outputs(func(*inputs))), 0))
    return np.stack(columns, axis=1)


def _analytical_jacobian(func: Callable, inputs: Sequence, index: int) -> np.ndarray:
    """Row i holds d(outputs.flat[i])/d(inputs[index]), one backward pass per output element."""
    from . import grad
    from .. import zeros_like

    outputs = _as_outputs(func(*inputs))
    connected = tuple(o for o in outputs if o.requires_grad)  # the others are constants
    rows = []
    for out in outputs:
        for i in range(out.numel()):
            g = None
            if out.requires_grad:
                seed = zeros_like(out)
                seed._data.reshape(-1)[i] = 1
                (g,) = grad(connected, (inputs[index],), _seeds(connected, out, seed),
                            retain_graph=True, allow_unused=True)
            rows.append(np.zeros(inputs[index].numel()) if g is None
                        else g._data.astype(np.float64).ravel())
    return np.stack(rows) if rows else np.zeros((0, inputs[index].numel()))


def _seeds(outputs: tuple, seeded, seed) -> tuple:
    from .. import zeros_like

    return tuple(seed if o is seeded else zeros_like(o) for o in outputs)


def gradcheck(func: Callable, inputs, *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """True if ``func``'s backward agrees with finite differences for every input that
    requires grad. Inputs should be float64: float32 differences are too coarse."""
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    for index, x in enumerate(inputs):
        if not getattr(x, "requires_grad", False):
            continue
        if x.dtype.name != "float64":
            import warnings

            warnings.warn("Input #%d requires gradient and is not a double precision floating "
                          "point. This check will likely fail if all the inputs are not of double "
                          "precision floating point." % index)
        numerical = _numerical_jacobian(func, inputs, index, eps)
        analytical = _analytical_jacobian(func, inputs, index)
        if numerical.shape != analytical.shape or not np.allclose(
                analytical, numerical, atol=atol, rtol=rtol):
            if raise_exception:
                raise GradcheckError(
                    f"Jacobian mismatch for output 0 with respect to input {index},\n"
                    f"numerical:{numerical}\nanalytical:{analytical}\n"
                )
            return False
    return True


def gradgradcheck(func: Callable, inputs, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Check second derivatives: gradcheck of the (create_graph) gradient of ``func``."""
    from . import grad
    from .. import ones_like

    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    differentiable = [x for x in inputs if getattr(x, "requires_grad", False)]

    def first_derivative(*xs):
        outputs = _as_outputs(func(*xs))
        seeds = tuple(ones_like(o) for o in outputs)
        wrt = [x for x in xs if getattr(x, "requires_grad", False)]
        grads = grad(outputs, wrt, seeds, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    if not differentiable:
        return True
    return gradcheck(first_derivative, inputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
