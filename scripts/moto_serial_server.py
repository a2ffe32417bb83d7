"""moto_server, handling one request at a time (same arguments as moto_server).

moto's DynamoDB backend takes no lock: under its threaded server two TransactWriteItems (or
conditional writes) can interleave, and a cancelled transaction's rollback restores a copy
of the whole table taken before it started, silently undoing a transaction that committed
meanwhile. DynamoDB is linearizable per item, so tests of "exactly one winner among
concurrent writers" need the emulator to apply one request at a time. Connections are still
accepted concurrently; requests queue on one lock.
"""

import sys
import threading

from moto import server
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

_LOCK = threading.Lock()
_DISPATCH = DomainDispatcherApplication.__call__


def _one_at_a_time(self, environ, start_response):
    with _LOCK:
        # Materialise the body inside the lock: WSGI bodies may be produced lazily.
        body = _DISPATCH(self, environ, start_response)
        try:
            return list(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()


DomainDispatcherApplication.__call__ = _one_at_a_time

if __name__ == "__main__":
    server.main(sys.argv[1:])
