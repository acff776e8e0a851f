"""An HTTP server on 127.0.0.1 for download tests: no test touches the internet."""
from __future__ import annotations

import http.server
import threading

import pytest


class LocalServer:
    """Serves ``files`` (name → bytes) at ``<url><name>`` from a thread.

    ``cut`` names files whose body is broken off halfway (the Content-Length says more);
    ``requests`` records every path asked for.
    """

    def __init__(self, files: dict[str, bytes], cut: tuple[str, ...] = ()) -> None:
        self.files, self.cut, self.requests = files, set(cut), []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                name = self.path.rsplit("/", 1)[-1]
                if name not in server.files:
                    self.send_error(404)
                    return
                data = server.files[name]
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2] if name in server.cut else data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/files/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def local_server():
    """``local_server(files, cut=())`` starts a :class:`LocalServer`, closed after the test."""
    servers: list[LocalServer] = []

    def start(files: dict[str, bytes], cut: tuple[str, ...] = ()) -> LocalServer:
        servers.append(LocalServer(files, cut))
        return servers[-1]

    yield start
    for server in servers:
        server.close()
