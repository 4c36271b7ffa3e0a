"""Run the portal with uvicorn: in the foreground (``accueil portal``) or in a thread (``accueil demo``).

uvicorn's own access log is off: it would print each ``/m/TOKEN`` path. The portal logs its own
lines with the token cut out (``portal.app.SecurityHeaders``).
"""

from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit

import uvicorn

from core.bootstrap import Accueil
from portal.app import create_app


def config(accueil: Accueil, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(create_app(accueil), host=host, port=port, access_log=False, log_level="warning",
                          server_header=False, proxy_headers=True, lifespan="off")


def serve(accueil: Accueil, host: str, port: int) -> None:
    uvicorn.Server(config(accueil, host, port)).run()


def default_port(base_url: str) -> int:
    parts = urlsplit(base_url)
    return parts.port or (443 if parts.scheme == "https" else 80)


class ThreadedServer:
    """A uvicorn server in a daemon thread; ``start`` returns once it listens (or raises)."""

    def __init__(self, accueil: Accueil, host: str, port: int, *, dispose: bool = False) -> None:
        self.accueil, self.dispose = accueil, dispose  # dispose: the server owns this clinic's engine
        self.server = uvicorn.Server(config(accueil, host, port))
        self.thread = threading.Thread(target=self.server.run, name="accueil-portal", daemon=True)

    def start(self, timeout: float = 10.0) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise OSError("the portal could not start (is the port already in use?)")
            time.sleep(0.01)
        return self

    @property
    def port(self) -> int:
        sockets = [s for server in self.server.servers for s in server.sockets]
        return sockets[0].getsockname()[1] if sockets else self.server.config.port

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        if self.dispose:
            self.accueil.dispose()


__all__ = ["ThreadedServer", "default_port", "serve"]
