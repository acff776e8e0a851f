"""Functions that tests/test_distributed.py runs in spawned processes (hl.multiprocessing).

They live in this small module, not in the test file, so that a spawned process imports only
handbook_lib to find them, not the test file's imports (PyTorch among them).
"""
import handbook_lib as hl


def add_rank(index, tensor, queue):
    tensor[index] += 10.0 * (index + 1)
    queue.put(index)


def fail(index):
    if index == 1:
        raise KeyError("worker one failed")


def zero_through_queue(queue):
    weight = queue.get(timeout=30)
    with hl.no_grad():
        weight.zero_()
