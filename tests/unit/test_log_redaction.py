from __future__ import annotations

import logging

from uvicorn.logging import AccessFormatter

from api.app import UVICORN
from domain.adapters.storage import SIGNING


def access_record(path: str) -> logging.LogRecord:
    """A record as uvicorn's access log makes it: the formatter unpacks its five arguments."""
    return logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 200),
        None,
    )


def test_uvicorns_access_line_keeps_its_shape_without_the_query_string() -> None:
    record = access_record("/graphql?query=%7Bme%7Bid%7D%7D&variables=%7B%22password%22%3A%22rahasia%22%7D")

    assert UVICORN.filter(record)
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False).format(record)

    assert line == '127.0.0.1:5000 - "GET /graphql?[redacted] HTTP/1.1" 200 OK'


def test_a_lower_case_session_token_is_cut_from_a_canonical_request() -> None:
    record = logging.LogRecord(
        "botocore.auth",
        logging.DEBUG,
        __file__,
        1,
        "CanonicalRequest:\n%s",
        ("GET\n/jsc/x\n\nhost:s3\nx-amz-security-token:FwoGZXIvYXdzEBc\n",),
        None,
    )

    assert SIGNING.filter(record)

    assert "FwoGZXIvYXdzEBc" not in record.getMessage()
    assert "x-amz-security-token:[redacted]" in record.getMessage()
