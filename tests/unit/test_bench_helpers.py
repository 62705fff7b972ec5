"""The benchmarks' pure helpers: percentiles, pre-signed requests, wrk's report, the events."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from hub_shared.web import webhooks
from hub_shared.web.errors import Unauthorized
from hubtools import bench_events, bench_wrk
from hubtools.bench_requests import SOURCE_SECRET, http_request, signed_batch, signed_permits
from hubtools.bench_stats import Latency, percentile
from permit_ingest.schemas import PermitIn


def test_percentile_interpolates_between_ranks() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(values, 50) == 2.5
    assert percentile(values, 99) == pytest.approx(3.97)


def test_percentile_of_nothing_is_nan_and_out_of_range_is_refused() -> None:
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError, match="not within 0-100"):
        percentile([1.0], 101)


def test_latency_reports_milliseconds() -> None:
    lat = Latency.of_seconds([0.001 * i for i in range(1, 101)])
    assert lat.count == 100
    assert lat.p50_ms == pytest.approx(50.5)
    assert lat.max_ms == pytest.approx(100.0)


def test_pre_signed_permits_verify_and_are_unique() -> None:
    requests = signed_permits("AB", 50)
    for r in requests:
        webhooks.verify(SOURCE_SECRET, r.body, r.headers)
        PermitIn.model_validate_json(r.body)
    assert len({r.headers["webhook-id"] for r in requests}) == 50
    assert len({PermitIn.model_validate_json(r.body).permit_no for r in requests}) == 50


def test_a_tampered_pre_signed_body_is_refused() -> None:
    request = signed_permits("AC", 1)[0]
    with pytest.raises(Unauthorized):
        webhooks.verify(SOURCE_SECRET, request.body.replace(b"1250.5", b"1250.6"), request.headers)


def test_the_batch_is_one_signature_over_ndjson_lines() -> None:
    batch = signed_batch("AD", 3, now=datetime.now(UTC))
    webhooks.verify(SOURCE_SECRET, batch.body, batch.headers)
    assert len(batch.body.splitlines()) == 3
    assert batch.headers["Content-Type"] == "application/x-ndjson"


def test_raw_request_carries_the_body_length() -> None:
    request = signed_permits("AE", 1)[0]
    raw = http_request(request, "127.0.0.1:1")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert body == request.body
    assert f"Content-Length: {len(request.body)}".encode() in head


def test_wrk_report_is_read() -> None:
    report = """Running 3s test @ http://127.0.0.1:1/v1/permits
  Latency Distribution
     50%   16.63ms
     75%   18.00ms
     90%   20.00ms
     99%    1.20s
  5704 requests in 3.04s, 1.2MB read
Requests/sec:   1875.77
Transfer/sec:    400.00KB
NOT202 3
"""
    result = bench_wrk.parse(report)
    assert (result.requests, result.per_s, result.not_202) == (5704, 1875.77, 3)
    assert result.p50_ms == pytest.approx(16.63)
    assert result.p99_ms == pytest.approx(1200.0)


def test_generated_events_name_permits_exactly_and_leave_some_uncovered() -> None:
    events = list(bench_events.generate(2000, seed=3))
    permits = {d["permit_no"] for name, _, d in events if name == "permit.issued"}
    assert len(permits) == sum(1 for name, _, _ in events if name == "permit.issued")
    projects = [d for name, _, d in events if d.get("kind") == "project"]
    assert all(d.get("project_name") is None and d.get("project_code") is None for d in projects)
    uncovered = bench_events.expected_uncovered(2000, seed=3)
    assert uncovered < permits
    assert uncovered == permits - {d["permit_no"] for d in projects}
