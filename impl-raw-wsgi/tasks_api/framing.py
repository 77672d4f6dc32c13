"""HTTP/1.1 framing the servers leave to the application: Host, transfer codings, closing after an error."""

from __future__ import annotations

import re
from wsgiref.types import WSGIEnvironment

from tasks_api.errors import ApiError
from tasks_api.http import BODY_READ_KEY, CLOSE_KEY

# RFC 9110 7.2 / RFC 3986: uri-host [ ":" port ], never empty for an http URI. The reg-name leaves out
# "," on purpose: a server that receives two Host fields may join them with a comma (granian does), and
# two Host fields are a 400. (granian also passes a missing Host on as an empty one.)
_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%!$&'()*+;=-]+)(?::[0-9]*)?")


def check_request(environ: WSGIEnvironment) -> None:
    """Refuse what the server let through: a bad Host (400) or a transfer coding it cannot decode (501)."""
    host = environ.get("HTTP_HOST") or None
    if host is None:
        # RFC 9112 3.2: an HTTP/1.1 request without Host is a 400 (HTTP/1.0 had no Host).
        if environ.get("SERVER_PROTOCOL") == "HTTP/1.1":
            raise ApiError("bad-request", "An HTTP/1.1 request needs a Host header.")
    elif not _HOST.fullmatch(host):
        raise ApiError("bad-request", "The Host header must be one host[:port].")
    coding = environ.get("HTTP_TRANSFER_ENCODING")
    if coding is not None and coding.strip().lower() != "chunked":
        # gunicorn passes `gzip, chunked` on with the gzip still applied: the body is not JSON text.
        raise ApiError("not-implemented", "The only transfer coding accepted is chunked.")


def must_close(environ: WSGIEnvironment, status: int) -> bool:
    """Whether the connection must end with this response: an error sent before the body was read.

    The bytes after the head then are a body nobody read, or (413, Expect: 100-continue) a body that
    never comes; reading past them for a next request would wait for it, or serve what a client hid
    in it. The server's worker reads the mark (gunicorn.conf.py); PEP 3333 lets an application set
    no `Connection` header itself.
    """
    has_body = environ.get("CONTENT_LENGTH", "") not in ("", "0") or "HTTP_TRANSFER_ENCODING" in environ
    close = status >= 400 and has_body and not environ.get(BODY_READ_KEY)
    environ[CLOSE_KEY] = close
    return close
