"""``handbook_lib.nn.parallel``: data parallelism over devices and over processes."""
from .data_parallel import DataParallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]
