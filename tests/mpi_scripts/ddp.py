"""DistributedDataParallel checks under mpiexec -n 2 (or 3); rank 0 prints ``ddp ok``.

1. Ranks seeded differently before wrapping; 20 SGD steps on each rank's share of the batch
   equal 20 steps of one process on the whole batch (1e-5, float32).
2. Inside no_sync() the gradients stay local; no_sync accumulation then one synced step
   equals one big step on everything.
3. The first bucket's all-reduce starts before backward reaches the first layer (overlap).
4. Unused parameters: PyTorch's error without find_unused_parameters; with it, the
   globally unused parameter keeps grad None. Shapes that differ are named at construction.
"""
import copy

import numpy as np

import handbook_lib as hl
import handbook_lib.distributed as dist
from handbook_lib import nn
from handbook_lib.nn.parallel import DistributedDataParallel as DDP


def make_model() -> nn.Module:
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(),
                         nn.Linear(16, 3))


def full_batch(step: int, size: int):
    g = hl.Generator().manual_seed(1000 + step)
    return hl.randn(4 * size, 5, generator=g), hl.randn(4 * size, 3, generator=g)


def train_equals_single_process(rank: int, size: int) -> None:
    hl.manual_seed(rank)  # different initial weights on every rank: DDP must take rank 0's
    model = make_model()
    ddp = DDP(model, bucket_cap_mb=0.001)
    assert len(ddp._buckets) > 1
    reference = copy.deepcopy(model)  # rank 0's weights, after the construction broadcast
    opt = hl.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    ref_opt = hl.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.MSELoss()
    for step in range(20):
        x, y = full_batch(step, size)
        mine = slice(4 * rank, 4 * rank + 4)
        opt.zero_grad()
        loss_fn(ddp(x[mine]), y[mine]).backward()
        opt.step()
        ref_opt.zero_grad()
        loss_fn(reference(x), y).backward()
        ref_opt.step()
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        diff = (p - q).abs().max().item()
        assert diff < 1e-5, f"{name} differs from the single-process run by {diff}"
    gathered = [hl.zeros(model[0].weight.shape) for _ in range(size)]
    dist.all_gather(gathered, model[0].weight.detach().contiguous())
    assert all(hl.equal(g, gathered[0]) for g in gathered), "ranks drifted apart"
    assert list(ddp.state_dict())[0] == "module.0.weight"


def no_sync_is_local_and_accumulates(rank: int, size: int) -> None:
    hl.manual_seed(0)
    model = make_model()
    ddp = DDP(model)
    reference = copy.deepcopy(model)
    loss_fn = nn.MSELoss()
    x, y = full_batch(99, size)
    x2, y2 = full_batch(100, size)
    mine = slice(4 * rank, 4 * rank + 4)
    with ddp.no_sync():
        loss_fn(ddp(x[mine]), y[mine]).backward()
    local = copy.deepcopy(model)
    local.zero_grad()
    loss_fn(local(x[mine]), y[mine]).backward()  # this rank alone, no communication
    for p, q in zip(model.parameters(), local.parameters()):
        assert hl.allclose(p.grad, q.grad, atol=1e-7), "no_sync communicated"
    others = [hl.zeros(model[0].weight.shape) for _ in range(size)]
    dist.all_gather(others, model[0].weight.grad.contiguous())
    assert not hl.allclose(others[0], others[1]), "grads inside no_sync are equal on ranks"
    loss_fn(ddp(x2[mine]), y2[mine]).backward()  # synced: averages the accumulated sum
    total = sum(loss_fn(reference(xs[4 * r:4 * r + 4]), ys[4 * r:4 * r + 4])
                for xs, ys in ((x, y), (x2, y2)) for r in range(size)) / size
    total.backward()
    for p, q in zip(model.parameters(), reference.parameters()):
        assert hl.allclose(p.grad, q.grad, atol=1e-6), "accumulation != one big step"


def buckets_overlap_backward(rank: int, size: int) -> None:
    hl.manual_seed(0)
    model = make_model()
    ddp = DDP(model, bucket_cap_mb=0.001)
    events = []
    original = dist.all_reduce

    def logged(tensor, *args, **kwargs):
        events.append(f"all_reduce {tensor.numel()}")
        return original(tensor, *args, **kwargs)

    dist.all_reduce = logged
    try:
        model[0].weight.register_hook(lambda g: events.append("grad of first layer"))
        x, y = full_batch(0, size)
        nn.MSELoss()(ddp(x[:4]), y[:4]).backward()
    finally:
        dist.all_reduce = original
    first_layer = events.index("grad of first layer")
    launches = [i for i, e in enumerate(events) if e.startswith("all_reduce")]
    assert len(launches) == len(ddp._buckets) > 2, events
    assert launches[0] < first_layer, f"no overlap: {events}"
    if rank == 0:
        print("event order:", events, flush=True)


class TwoBranches(nn.Module):
    def __init__(self):
        super().__init__()
        self.used = nn.Linear(3, 1)
        self.unused = nn.Linear(3, 1)

    def forward(self, x):
        return self.used(x)


def unused_parameters(rank: int, size: int) -> None:
    ddp = DDP(TwoBranches())
    ddp(hl.ones(2, 3)).sum().backward()
    try:
        ddp(hl.ones(2, 3))
    except RuntimeError as error:
        assert "find_unused_parameters=True" in str(error)
    else:
        raise AssertionError("no error for an unused parameter")
    model = TwoBranches()
    ddp = DDP(model, find_unused_parameters=True)
    for _ in range(2):
        ddp(hl.ones(2, 3) * (rank + 1)).sum().backward()
    assert model.unused.weight.grad is None
    assert hl.allclose(model.used.weight.grad, hl.full((1, 3), 2.0 * (size + 1)))  # 2 steps x mean 2(r+1)


def shapes_must_match(rank: int) -> None:
    model = nn.Sequential(nn.Linear(4, 2 + rank), nn.Linear(2 + rank, 1))
    try:
        DDP(model)
    except RuntimeError as error:
        message = str(error)
        assert "0.weight" in message and "rank 1: [3, 4]" in message, message
    else:
        raise AssertionError("different shapes were accepted")


def buffers_come_from_rank_0(rank: int) -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    model[1].running_mean.fill_(float(rank))
    DDP(model)
    assert hl.equal(model[1].running_mean, hl.zeros(2))


def main() -> None:
    dist.init_process_group()
    rank, size = dist.get_rank(), dist.get_world_size()
    train_equals_single_process(rank, size)
    no_sync_is_local_and_accumulates(rank, size)
    buckets_overlap_backward(rank, size)
    unused_parameters(rank, size)
    shapes_must_match(rank)
    buffers_come_from_rank_0(rank)
    if rank == 0:
        print("ddp ok", size, flush=True)


if __name__ == "__main__":
    main()
