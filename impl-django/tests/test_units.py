"""Pure helpers: cursors, entity tags, JSON parsing, the body drain."""

import io

import pytest
from tasks_api.body import parse_json
from tasks_api.errors import ApiError
from tasks_api.middleware import drain_unread_body
from tasks_api.pagination import decode_cursor, encode_cursor
from tasks_api.schemas import MAX_INTEGER_DIGITS, TASK_PATCH, validate

BOUND = {"list": "tasks", "user": 1, "project": 2, "done": True, "priority": None}


def test_cursor_round_trip_and_binding():
    cursor = encode_cursor(BOUND, 41)
    assert decode_cursor(cursor, BOUND) == 41
    for other in ({**BOUND, "user": 2}, {**BOUND, "done": None}, {**BOUND, "list": "projects"}):
        with pytest.raises(ApiError) as caught:
            decode_cursor(cursor, other)
        assert caught.value.slug == "invalid-cursor"


def test_cursor_done_true_is_not_the_integer_one():
    cursor = encode_cursor({**BOUND, "done": 1}, 5)  # a payload whose "done" is 1, not true
    with pytest.raises(ApiError):
        decode_cursor(cursor, BOUND)


@pytest.mark.parametrize(
    "raw", [b"", b"{", b'{"a": NaN}', b"\xff", b'"\\ud800"', b"[" * 100_000, b"\xef\xbb\xbf{}"]
)
def test_malformed_json(raw):
    with pytest.raises(ApiError) as caught:
        parse_json(raw)
    assert caught.value.slug == "malformed-json"


def test_huge_integers_are_valid_json_but_invalid_members():
    document = parse_json(b'{"project_id": ' + b"9" * 5000 + b"}")
    _, problems = validate(document, TASK_PATCH)
    assert problems == [{"pointer": "/project_id", "detail": "must be an integer from 1 to 9007199254740991"}]


def test_integer_text_longer_than_max_integer_digits_is_not_converted():
    assert MAX_INTEGER_DIGITS == 20
    assert parse_json(b"-" + b"1" * 20) == -int("1" * 20)  # 20 digits: converted as it is
    assert parse_json(b"1" * 21) == 10**MAX_INTEGER_DIGITS  # 21: one past every range, unconverted
    assert parse_json(b"-" + b"1" * 21) == -(10**MAX_INTEGER_DIGITS)


class _Socket:
    """What the drain needs of gunicorn's socket: a timeout it can set and put back."""

    timeout: float | None = None

    def gettimeout(self) -> float | None:
        return self.timeout

    def settimeout(self, value: float | None) -> None:
        self.timeout = value


def test_drain_reads_the_rest_of_an_unread_body():
    stream, sock = io.BytesIO(b"x" * 300_000), _Socket()
    drain_unread_body({"wsgi.input": stream, "gunicorn.socket": sock, "CONTENT_LENGTH": "300000"})
    assert stream.read() == b"" and sock.timeout is None


def test_drain_skips_a_request_that_sent_no_body():
    # The hot path's GETs: no Content-Length and no Transfer-Encoding, so not even a socket call.
    stream, sock = io.BytesIO(b"next request"), _Socket()
    sock.timeout = 5.0
    drain_unread_body({"wsgi.input": stream, "gunicorn.socket": sock})
    assert stream.read() == b"next request" and sock.timeout == 5.0


def test_drain_never_reads_without_a_socket_to_bound_it():
    # granian's wsgi.input would wait for a silent client for ever: without a socket, nothing is read.
    stream = io.BytesIO(b"x" * 300_000)
    drain_unread_body({"wsgi.input": stream, "CONTENT_LENGTH": "300000"})
    assert len(stream.read()) == 300_000


def test_config_parses_each_kind_once_and_refuses_bad_values_at_start_up(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured
    from tasks_api import config

    monkeypatch.setenv("X_COUNT", "7")
    monkeypatch.setenv("X_WAIT", "0.5")
    monkeypatch.setenv("X_NAMES", " a, ,b ")
    assert (config.integer("X_COUNT", 1), config.seconds("X_WAIT", 1), config.names("X_NAMES")) == (
        7,
        0.5,
        ["a", "b"],
    )
    assert config.integer("X_UNSET", 3) == 3
    for bad in ("0", "-1", "1.5", "many"):
        monkeypatch.setenv("X_COUNT", bad)
        with pytest.raises(ImproperlyConfigured, match="X_COUNT"):
            config.integer("X_COUNT", 1)
    monkeypatch.setenv("X_WAIT", "nan")
    with pytest.raises(ImproperlyConfigured, match="X_WAIT"):
        config.seconds("X_WAIT", 1)
