"""DataLoader worker processes inside MPI ranks, with DistributedSampler (mpiexec -n 2|3).

Workers are forked from a rank that has MPI initialised: they never call MPI and leave with
os._exit (no MPI_Finalize), so the rank's MPI state is untouched. Rank 0 prints ``loader ok``.
"""
import handbook_lib as hl
import handbook_lib.distributed as dist
from handbook_lib.utils.data import DataLoader, DistributedSampler, TensorDataset


def main() -> None:
    dist.init_process_group()
    rank, size = dist.get_rank(), dist.get_world_size()
    dataset = TensorDataset(hl.arange(37), hl.arange(37) * 2)
    sampler = DistributedSampler(dataset, seed=3)
    loader = DataLoader(dataset, batch_size=4, sampler=sampler, num_workers=2)
    for epoch in range(2):
        sampler.set_epoch(epoch)
        seen = hl.cat([x for x, _ in loader])
        assert hl.equal(seen, hl.tensor(list(sampler))), "workers changed the order"
        everyone = [hl.zeros(len(sampler), dtype=hl.int64) for _ in range(size)]
        dist.all_gather(everyone, seen)
        covered = set(hl.cat(everyone).tolist())
        assert covered == set(range(37)), "ranks did not cover the dataset"
        if epoch == 0:
            first = hl.cat(everyone)
    assert not hl.equal(first, hl.cat(everyone)), "set_epoch did not reshuffle"
    t = hl.ones(1)
    dist.all_reduce(t)
    assert t.item() == size
    if rank == 0:
        print("loader ok", size, flush=True)


if __name__ == "__main__":
    main()
