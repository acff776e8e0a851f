"""Every collective against numpy, on every dtype (run under mpiexec -n 2 or 3).

``python collectives.py [cpu|cuda|cuda:1]``: cuda puts the tensors on the cupy stand-in's
devices (host staging through MPI); cuda:1 on its second GPU while the first is current, where
a kernel launched on the current GPU would fail. Prints ``collectives ok`` on rank 0 when every
check passed.
"""
import pathlib
import sys

import numpy as np

DEVICE = sys.argv[1] if len(sys.argv) > 1 else "cpu"
if DEVICE.startswith("cuda"):
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "fake_cupy"))

import handbook_lib as hl  # noqa: E402
import handbook_lib.distributed as dist  # noqa: E402

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]
OPS = {"SUM": np.add, "PRODUCT": np.multiply, "MIN": np.minimum, "MAX": np.maximum}


def data(rank: int, dtype: str, shape=(2, 3)) -> np.ndarray:
    """Rank-dependent values that no dtype overflows on (and int64 beyond float precision)."""
    values = (np.arange(np.prod(shape)).reshape(shape) + 2 * rank + 1) % 5
    if dtype == "bool":
        return (values + rank) % 2 == 0
    array = values.astype(dtype)
    if dtype == "int64":
        array = array + np.int64(2 ** 53 + 1)  # not representable in float64
    return array


def on_device(array: np.ndarray):
    return hl.from_numpy(array.copy()).to(DEVICE)


def expected_reduce(op: str, dtype: str, size: int) -> np.ndarray:
    parts = [data(r, dtype) for r in range(size)]
    if dtype == "bool":
        any_, all_ = np.logical_or.reduce(parts), np.logical_and.reduce(parts)
        return any_ if op in ("SUM", "MAX", "AVG") else all_
    if op == "AVG":
        total = np.add.reduce(parts).astype(dtype)
        return total / size if total.dtype.kind == "f" else total // size
    return OPS[op].reduce(parts).astype(dtype)


def check(name: str, tensor, expected: np.ndarray) -> None:
    got = tensor.cpu().numpy()
    assert got.dtype == expected.dtype, f"{name}: dtype {got.dtype} != {expected.dtype}"
    assert tensor.device == hl.zeros(0, device=DEVICE).device, f"{name}: moved to {tensor.device}"
    tol = 1e-2 if got.dtype == np.float16 else 0
    ok = np.allclose(got, expected, rtol=tol, atol=tol) if got.dtype.kind == "f" \
        else np.array_equal(got, expected)
    assert ok, f"{name}: {got} != {expected}"


def main() -> None:
    dist.init_process_group()
    rank, size = dist.get_rank(), dist.get_world_size()
    for dtype in DTYPES:
        for op in ["SUM", "PRODUCT", "MIN", "MAX", "AVG"]:
            t = on_device(data(rank, dtype))
            dist.all_reduce(t, op=getattr(dist.ReduceOp, op))
            check(f"all_reduce {op} {dtype}", t, expected_reduce(op, dtype, size))
            t = on_device(data(rank, dtype))
            dist.reduce(t, dst=size - 1, op=getattr(dist.ReduceOp, op))
            wanted = expected_reduce(op, dtype, size) if rank == size - 1 else data(rank, dtype)
            check(f"reduce {op} {dtype}", t, wanted)
        t = on_device(data(rank, dtype))
        dist.broadcast(t, src=1)
        check(f"broadcast {dtype}", t, data(1, dtype))
        outs = [on_device(np.zeros_like(data(0, dtype))) for _ in range(size)]
        dist.all_gather(outs, on_device(data(rank, dtype)))
        for r, out in enumerate(outs):
            check(f"all_gather {dtype}", out, data(r, dtype))
        big = on_device(np.zeros((size * 2, 3), dtype=dtype))
        dist.all_gather_into_tensor(big, on_device(data(rank, dtype)))
        check(f"all_gather_into_tensor {dtype}", big,
              np.concatenate([data(r, dtype) for r in range(size)]))
        if dtype != "bool":
            whole = [data(r, dtype, (size, 2)) for r in range(size)]
            out = on_device(np.zeros(2, dtype=dtype))
            dist.reduce_scatter_tensor(out, on_device(whole[rank]))
            check(f"reduce_scatter_tensor {dtype}", out,
                  np.add.reduce(whole).astype(dtype)[rank])
        gathered = ([on_device(np.zeros_like(data(0, dtype))) for _ in range(size)]
                    if rank == 0 else None)
        dist.gather(on_device(data(rank, dtype)), gathered, dst=0)
        if rank == 0:
            for r, out in enumerate(gathered):
                check(f"gather {dtype}", out, data(r, dtype))
        mine = on_device(np.zeros_like(data(0, dtype)))
        parts = [on_device(data(r + 10, dtype)) for r in range(size)] if rank == 0 else None
        dist.scatter(mine, parts, src=0)
        check(f"scatter {dtype}", mine, data(rank + 10, dtype))
    point_to_point(rank, size)
    async_and_groups(rank, size)
    dist.barrier()
    dist.destroy_process_group()
    assert not dist.is_initialized()
    if rank == 0:
        print("collectives ok", size, DEVICE, flush=True)


def point_to_point(rank: int, size: int) -> None:
    message = on_device(data(rank, "int64"))
    nxt, prev = (rank + 1) % size, (rank - 1) % size
    send = dist.isend(message, nxt)
    box = on_device(np.zeros_like(data(0, "int64")))
    assert dist.recv(box, src=prev) == prev
    send.wait()
    check("send/recv", box, data(prev, "int64"))
    if rank == 0:
        for _ in range(size - 1):
            box = on_device(np.zeros(1, dtype="float32"))
            sender = dist.recv(box)
            check("recv from any", box, np.array([sender], dtype="float32"))
    else:
        dist.send(on_device(np.array([rank], dtype="float32")), 0)


def async_and_groups(rank: int, size: int) -> None:
    t = on_device(data(rank, "float32"))
    work = dist.all_reduce(t, async_op=True)
    assert work.wait() is True and work.is_completed()
    check("async all_reduce", t, expected_reduce("SUM", "float32", size))
    pair = dist.new_group([0, 1])
    if rank in (0, 1):
        assert dist.get_world_size(pair) == 2 and dist.get_rank(pair) == rank
        t = on_device(data(rank, "int64"))
        dist.all_reduce(t, group=pair)
        check("group all_reduce", t, data(0, "int64") + data(1, "int64"))
        t = on_device(data(rank, "int64"))
        dist.broadcast(t, src=1, group=pair)
        check("group broadcast", t, data(1, "int64"))
    else:
        assert pair is dist.GroupMember.NON_GROUP_MEMBER
        assert dist.get_rank(pair) == -1
        assert dist.all_reduce(on_device(data(rank, "int64")), group=pair) is None
    assert dist.get_backend() == "mpi"


if __name__ == "__main__":
    main()
