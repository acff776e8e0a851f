"""``set_num_threads``/``get_num_threads``: the threads numpy's BLAS uses (via threadpoolctl).

handbook_lib's own kernels are single numpy calls; their parallelism is BLAS's (matrix
products, hence convolution and linear layers), which is what these control.
"""
from __future__ import annotations

import os

_limiter = None  # the active threadpoolctl limit, kept so that it stays in force


def _blas_pools() -> list:
    import numpy  # noqa: F401  (loads the BLAS library whose pool we inspect)
    from threadpoolctl import threadpool_info

    return [pool for pool in threadpool_info() if pool.get("user_api") == "blas"]


def get_num_threads() -> int:
    """Threads numpy's BLAS uses (the CPU count if no BLAS pool is found)."""
    pools = _blas_pools()
    if not pools:
        return os.cpu_count() or 1
    return max(pool["num_threads"] for pool in pools)


def set_num_threads(num: int) -> None:
    """Let numpy's BLAS use ``num`` threads from now on (in this process)."""
    global _limiter
    if not isinstance(num, int) or isinstance(num, bool) or num <= 0:
        raise RuntimeError("set_num_threads expects a positive integer")
    from threadpoolctl import threadpool_limits

    _limiter = threadpool_limits(limits=num, user_api="blas")
