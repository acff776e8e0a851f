"""Nothing may hang: DataLoader workers outlive no parent, downloads have a deadline."""
from __future__ import annotations

import http.server
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time

import pytest

import handbook_lib as hl
from handbook_lib.utils import data as hud

ROOT = pathlib.Path(hl.__file__).parent.parent

PARENT = """
import sys, time
import numpy as np
import handbook_lib as hl
from handbook_lib.utils.data import DataLoader, Dataset

class Big(Dataset):  # 1 MiB per item: far more than a pipe holds
    def __len__(self):
        return 1000
    def __getitem__(self, i):
        return np.ones(2**18, dtype=np.float32)

loader = DataLoader(Big(), batch_size=4, num_workers=2, prefetch_factor=4)
iterator = iter(loader)
next(iterator)
print(" ".join(str(w.pid) for w in iterator._workers), flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead, only not yet reaped by init
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses fork and /proc (Linux)")
def test_workers_exit_when_the_main_process_is_killed():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True)
    workers = []
    try:
        line = parent.stdout.readline()  # the script's own bound: it sleeps 600 s at most
        workers = [int(pid) for pid in line.split()]
        assert len(workers) == 2, line
        time.sleep(0.5)  # let the workers fill the pipe with batches nobody reads
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        deadline = time.monotonic() + 20
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in workers), "workers outlived their parent"
    finally:
        parent.kill()
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


class Slow(hud.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        time.sleep(5)
        return i


def test_dataloader_timeout_raises_pytorchs_error_in_time():
    loader = hud.DataLoader(Slow(), num_workers=1, timeout=0.5)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"^DataLoader timed out after 0.5 seconds$"):
        next(iter(loader))
    assert time.monotonic() - start < 4


# --- downloads -------------------------------------------------------------------------------------
class _Trickle:
    """An HTTP server on 127.0.0.1 that sends ``size`` bytes one at a time, ``pause`` apart."""

    def __init__(self, size: int, pause: float) -> None:
        self.stop = threading.Event()
        stop = self.stop

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                for _ in range(size):
                    if stop.wait(pause):
                        return
                    try:
                        self.wfile.write(b"x")
                        self.wfile.flush()
                    except OSError:
                        return

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/slow.bin"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


def test_a_trickling_download_hits_its_deadline(tmp_path):
    from handbook_lib.vision.datasets.utils import download_url

    with _Trickle(size=1000, pause=0.1) as server:
        start = time.monotonic()
        with pytest.raises(TimeoutError, match=r"slow\.bin took longer than its deadline of 1 s"):
            download_url(server.url, tmp_path, timeout=5, deadline=1.0, stall_timeout=None)
        assert time.monotonic() - start < 4
    assert list(tmp_path.iterdir()) == []  # no partial file, no temporary


def test_a_trickling_download_counts_as_stalled(tmp_path):
    from handbook_lib.vision.datasets.utils import download_url

    with _Trickle(size=1000, pause=0.1) as server:
        start = time.monotonic()
        with pytest.raises(TimeoutError, match=r"slow\.bin stalled: fewer than 16384 bytes"):
            download_url(server.url, tmp_path, timeout=5, deadline=None, stall_timeout=1.0)
        assert time.monotonic() - start < 4


def test_a_steady_download_passes_the_checks(tmp_path):
    from handbook_lib.vision.datasets.utils import download_url

    with _Trickle(size=20, pause=0.01) as server:
        path = download_url(server.url, tmp_path, timeout=5, deadline=10, stall_timeout=10)
    assert pathlib.Path(path).read_bytes() == b"x" * 20
