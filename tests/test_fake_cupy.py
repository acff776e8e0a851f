"""The CPU stand-in for cupy (tests/fake_cupy) keeps cupy's rules, so tests on it can fail.

Each rule here is one that breaks real code on a GPU when a library gets it wrong; the stand-in
must enforce it, or the device axis of the test suite would pass code that real cupy rejects.
"""
from __future__ import annotations

import gc
import json
import pathlib
import types

import numpy as np
import pytest

SNAPSHOT = json.loads((pathlib.Path(__file__).parent / "fake_cupy" / "cupy_names.json")
                      .read_text())


def public_names(module) -> set:
    return {n for n in vars(module) if not n.startswith("_") and n != "annotations"}


@pytest.mark.parametrize("module, section", [
    ("cupy", "cupy"), ("cupy.random", "cupy.random"), ("cupy.linalg", "cupy.linalg"),
    ("cupy.cuda", "cupy.cuda"), ("cupy.cuda.runtime", "cupy.cuda.runtime"),
    ("cupy.cuda.memory", "cupy.cuda.memory"), ("cupyx", "cupyx"),
    ("cupyx.scipy.special", "cupyx.scipy.special"),
])
def test_only_names_that_cupy_14_2_has(stand_in, module, section) -> None:
    import importlib

    names = public_names(importlib.import_module(module))
    assert names, module
    lazy = {key.rpartition(".")[2] for key in SNAPSHOT if key.rpartition(".")[0] == section}
    assert names <= set(SNAPSHOT[section]) | lazy, sorted(names - set(SNAPSHOT[section]))


def test_array_and_random_state_methods_are_cupys(stand_in) -> None:
    def methods(cls) -> set:
        return {n for n in vars(cls) if not n.startswith("_") or n.startswith("__")} - {
            "__module__", "__doc__", "__slots__", "__weakref__", "__dict__", "__hash__",
            "__init__", "__annotations__", "__firstlineno__", "__static_attributes__",
            "__qualname__"}

    assert methods(stand_in.ndarray) <= set(SNAPSHOT["cupy.ndarray"])
    assert methods(stand_in.random.RandomState) <= set(SNAPSHOT["cupy.random.RandomState"])
    assert methods(stand_in.random.Generator) <= set(SNAPSHOT["cupy.random.Generator"])
    assert methods(stand_in.cuda.Device) <= set(SNAPSHOT["cupy.cuda.Device"])
    assert methods(stand_in.cuda.MemoryPool) <= set(SNAPSHOT["cupy.cuda.MemoryPool"])


def test_names_cupy_lacks_are_missing(stand_in) -> None:
    for name in ("errstate", "insert", "nditer", "frompyfunc", "geomspace"):
        assert hasattr(np, name) and not hasattr(stand_in, name), name
    assert not hasattr(stand_in.ndarray, "__index__")  # cupy arrays are not indices
    assert not hasattr(stand_in.ndarray([1]).flags, "writeable")
    with pytest.raises(AttributeError, match="does not emulate"):
        stand_in.RawKernel  # in cupy, but not in the stand-in


def test_no_implicit_conversion_to_numpy(stand_in) -> None:
    x = stand_in.arange(3.0)
    for convert in (np.asarray, np.array, lambda a: np.float64(0) + np.ones(3) + a):
        with pytest.raises(TypeError):
            convert(x)
    with pytest.raises(TypeError, match="no implementation found"):
        np.sum(x)  # numpy's functions on device data: the library must use its xp
    with pytest.raises(TypeError):
        np.exp(x)
    assert isinstance(x.get(), np.ndarray) and stand_in.asnumpy(x).tolist() == [0.0, 1.0, 2.0]


@pytest.mark.parametrize("use", [
    lambda cp, x: x + np.ones(3), lambda cp, x: np.ones(3) * x, lambda cp, x: cp.add(x, np.ones(3)),
    lambda cp, x: cp.where(x > 0, x, np.zeros(3)), lambda cp, x: cp.concatenate([x, np.ones(1)]),
    lambda cp, x: x[np.array([0, 1])], lambda cp, x: x.__setitem__(0, np.ones(())),
    lambda cp, x: cp.add(x, np.array(1.0)), lambda cp, x: cp.add(x, [1.0, 2.0, 3.0]),
    lambda cp, x: x.__setitem__(slice(None), [1.0, 2.0, 3.0]),
])
def test_host_arrays_are_refused_as_operands(stand_in, use) -> None:
    with pytest.raises(TypeError, match="Unsupported type"):
        use(stand_in, stand_in.arange(3.0))


def test_scalars_are_accepted_and_reductions_return_0d_arrays(stand_in) -> None:
    x = stand_in.arange(6, dtype=np.float32).reshape(2, 3)
    for result in (x.sum(), stand_in.max(x), x[1, 2], x.argmax(), stand_in.allclose(x, x),
                   np.float32(2) * x[0, 0], stand_in.count_nonzero(x)):
        assert isinstance(result, stand_in.ndarray) and result.ndim == 0, type(result)
    assert (x * np.float32(2)).dtype == np.float32 and (x * 2.0).dtype == np.float32
    assert float(x.sum()) == 15.0 and int(x[1, 1]) == 4 and bool(x[0, 1])


def test_two_devices_and_the_current_one(stand_in) -> None:
    cuda = stand_in.cuda
    assert cuda.runtime.getDeviceCount() == 2 and cuda.Device().id == 0
    x = stand_in.ones(3)
    with cuda.Device(1):
        assert cuda.runtime.getDevice() == 1
        y = stand_in.ones(3)
        with pytest.raises(ValueError, match=r"array resides \(0\).*current device \(1\)"):
            x + 1
        moved = stand_in.asarray(x)  # a copy to the current device
        assert moved.device.id == 1 and (moved + y).device.id == 1
    assert cuda.runtime.getDevice() == 0 and x.device.id == 0 and y.device.id == 1
    view = y.reshape(3, 1)[1:]  # views launch no kernel: allowed, and stay on device 1
    assert view.device.id == 1 and y.T.device.id == 1
    with pytest.raises(ValueError, match="Peer access is unavailable"):
        x + y
    assert y.copy().device.id == 0 and y.get().tolist() == [1.0] * 3
    with pytest.raises(cuda.runtime.CUDARuntimeError, match="invalid device ordinal"):
        cuda.Device(2).use()


def test_memory_pool_counts_live_buffers(stand_in) -> None:
    pool = stand_in.get_default_memory_pool()
    gc.collect()
    start = pool.used_bytes()
    x = stand_in.zeros(1000, dtype=np.float32)  # 4,000 bytes: one 4,096-byte block
    view = x[10:]
    assert pool.used_bytes() - start == 4096
    del x
    assert pool.used_bytes() - start == 4096  # the view keeps the buffer alive
    del view
    gc.collect()
    assert pool.used_bytes() == start and pool.free_bytes() >= 4096
    pool.free_all_blocks()
    assert pool.free_bytes() == 0


def test_memory_pool_limit_and_custom_allocator(stand_in) -> None:
    memory = stand_in.cuda.memory
    pool = stand_in.get_default_memory_pool()
    pool.set_limit(size=1 << 20)
    with pytest.raises(memory.OutOfMemoryError, match="Out of memory allocating 2,097,152 bytes"):
        stand_in.zeros(1 << 19, dtype=np.float32)
    sizes = []

    def allocator(size):
        sizes.append(size)
        return pool.malloc(size)

    stand_in.cuda.set_allocator(allocator)
    stand_in.ones(10)
    assert sizes == [80]  # the bytes asked for (the pool rounds them up to 512)


def test_random_states_repeat_when_seeded(stand_in) -> None:
    a = stand_in.random.RandomState(5).standard_normal((3,), dtype=np.float32)
    b = stand_in.random.RandomState(5).standard_normal((3,), dtype=np.float32)
    assert isinstance(a, stand_in.ndarray) and a.dtype == np.float32
    assert a.get().tolist() == b.get().tolist()
    with pytest.raises(TypeError):
        stand_in.random.RandomState(0).standard_normal(3, dtype=np.int32)
    with stand_in.cuda.Device(1):
        assert stand_in.random.permutation(4).device.id == 1
    g = stand_in.random.default_rng(3)
    assert g.integers(0, 5, size=(4,)).dtype == np.int64 and g.random(2).device.id == 0


def test_fuse_runs_elementwise_code_and_refuses_the_rest(stand_in) -> None:
    @stand_in.fuse()
    def momentum_step(param, grad, buf, lr, momentum):
        buf *= momentum
        buf += grad
        param -= lr * buf

    p, g, buf = stand_in.ones(3), stand_in.full(3, 2.0), stand_in.zeros(3)
    assert momentum_step(p, g, buf, np.float64(0.5), np.float64(0.9)) is None
    assert p.get().tolist() == [0.0] * 3 and buf.get().tolist() == [2.0] * 3
    relu_backward = stand_in.fuse(lambda g, x: stand_in.where(x > 0, g, 0))
    assert relu_backward(g, stand_in.arange(-1.0, 2.0)).get().tolist() == [0.0, 0.0, 2.0]
    host = np.ones(2)
    gate = stand_in.fuse(lambda g, x: g * (x > 0))
    assert gate(host, host).tolist() == [1.0, 1.0]  # no cupy argument: plain Python
    with pytest.raises(AttributeError, match="not supported inside a fused function"):
        stand_in.fuse(lambda x: x.sum(axis=0))(p)
    with pytest.raises(TypeError, match="Invalid argument type"):
        stand_in.fuse(lambda x, y: x + y)(p, host)
    with pytest.raises(Exception, match="Can't cast to bool"):
        stand_in.fuse(lambda x: x if x > 0 else -x)(p)


def test_kernels_in_cuda_c_run_their_numpy_twin(stand_in) -> None:
    class Axpy(stand_in.ElementwiseKernel):
        numpy_twin = staticmethod(lambda a, x, y: a * x + y)

    axpy = Axpy("T a, T x, T y", "T z", "z = a * x + y", "axpy")
    assert axpy(np.float32(2), stand_in.ones(2, np.float32), stand_in.ones(2, np.float32)) \
        .get().tolist() == [3.0, 3.0]
    plain = stand_in.ReductionKernel("T x", "T y", "x", "a + b", "y = a", "0", "plain_sum")
    with pytest.raises(NotImplementedError, match="numpy_twin"):
        plain(stand_in.ones(2))


def test_allow_synchronize_catches_transfers_to_the_host(stand_in) -> None:
    import cupyx

    x = stand_in.arange(4.0)
    with cupyx.allow_synchronize(False):
        y = (x * 2).sum()  # no transfer
        for transfer in (lambda: float(y), lambda: x.get(), lambda: x[x > 1],
                         lambda: stand_in.nonzero(x), lambda: x.tolist()):
            with pytest.raises(cupyx.DeviceSynchronized):
                transfer()
    assert float(y) == 12.0


def test_ufunc_methods_and_scatter(stand_in) -> None:
    import cupyx

    x = stand_in.zeros(3)
    stand_in.add.at(x, stand_in.asarray([0, 0, 2]), 1.0)
    cupyx.scatter_add(x, stand_in.asarray([1]), 5.0)
    assert x.get().tolist() == [2.0, 5.0, 1.0]
    assert stand_in.maximum.reduce(x).ndim == 0
    assert isinstance(stand_in.cuda, types.ModuleType) and stand_in.ndarray((2,)).shape == (2,)
