"""The one table `make bench` prints: a row per figure, each beside its base of the same run."""

from __future__ import annotations

import math
from typing import Any

from rich.table import Table

from hubtools.bench_stats import ratio


def _n(value: float, unit: str = "") -> str:
    return "n/a" if math.isnan(value) else f"{value:,.0f}{unit}"


def _ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.1f} ms"


def _x(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3g}x"


def _intake_rows(table: Table, f: dict[str, Any]) -> None:
    bare = f["bare"]
    table.add_row("intake", "bare FastAPI (PermitIn, 202)",
                  f"{_n(bare['closed']['req_per_s'], ' req/s')}; "
                  f"{_ms(bare['closed']['p50_ms'])} / {_ms(bare['closed']['p99_ms'])}",
                  f"{f['connections']} connections ({bare['closed']['tool']})")  # fmt: skip
    for backend in ("sqlite", "postgres"):
        if backend not in f:
            continue
        c = f[backend]["closed"]
        share = ratio(c["req_per_s"], bare["closed"]["req_per_s"])
        table.add_row("", f"POST /v1/permits, {backend}",
                      f"{_n(c['req_per_s'], ' req/s')}; {_ms(c['p50_ms'])} / {_ms(c['p99_ms'])}",
                      f"hub/bare {_x(share)}; non-202: {c['not_202']}")  # fmt: skip
    for name in ("bare", "sqlite", "postgres"):
        if name not in f:
            continue
        o = f[name]["open"]
        counts = (
            f"answered {o['answered']:,} of {o.get('sent', o['answered']):,} in time, "
            f"non-202 {o['not_202']}, errors {o['errors']}"
        )
        table.add_row("", f"open loop {o['offered_per_s']:,.0f}/s, {name}",
                      f"{_ms(o['p50_ms'])} / {_ms(o['p99_ms'])}", counts)  # fmt: skip
    for backend in ("sqlite", "postgres"):
        if backend in f:
            b = f[backend]["batch"]
            table.add_row("", f"POST /v1/permits:batch, {backend}",
                          _n(b["permits_per_s"], " permits/s"),
                          f"{b['accepted']:,} of {b['permits']:,} accepted")  # fmt: skip


def _e2e_rows(table: Table, f: dict[str, Any]) -> None:
    offered = f"accidents offered {f['offered_per_s']:,.0f}/s for {f['seconds']:,.0f} s"
    table.add_row("end to end", offered,
                  f"accepted {_n(f['accepted_per_s'], '/s')} ({f['accepted']:,} of {f['sent']:,})",
                  "uninsured employers, SQLite, 4 processes; "
                  f"{f.get('errors', 0):,} requests unanswered (connection errors)")  # fmt: skip
    exactly = "yes" if f["exactly_once"] else "NO"
    table.add_row("", "scheduled -> webhook arrival",
                  f"{_ms(f['p50_ms'])} / {_ms(f['p99_ms'])}, max {_ms(f['max_ms'])}",
                  f"exactly once: {exactly} ({f['delivered_alerts']:,} alerts, "
                  f"{f['deliveries']:,} deliveries, {f['distinct_webhook_ids']:,} ids, "
                  f"{f['duplicates']:,} duplicates, {f['missing']:,} accepted but not "
                  f"delivered within {f['drain_timeout_s']:,.0f} s)")  # fmt: skip


def _backlog_rows(table: Table, f: dict[str, Any]) -> None:
    raw = f["raw_consume_per_s"]
    table.add_row("backlog", f"raw aiokafka, {f['events']:,} events",
                  _n(raw, " events/s"), "base: the faster of two runs")  # fmt: skip
    for backend in ("sqlite", "postgres"):
        if backend not in f:
            continue
        b = f[backend]
        agree = "agree" if b["set"]["agrees_with_expected"] else "DIFFER"
        table.add_row("", f"enrollment service, {backend}",
                      _n(b["events_per_s"], " events/s"),
                      f"{ratio(b['events_per_s'], raw):.1%} of raw; peak RSS "
                      f"{b['peak_rss_mib']:,.0f} MiB; "
                      f"uncovered {b['set']['uncovered']:,} ({agree})")  # fmt: skip
    if "peer" in f:
        p = f["peer"]
        peer_agree = "agree" if p["set"]["agrees_with_expected"] else "DIFFER"
        hub = f.get("sqlite", {}).get("events_per_s", math.nan)
        sets = f.get("sets_agree")
        table.add_row("peer", f"Quix Streams, {p['events']:,} events (2 topics)",
                      _n(p["events_per_s"], " events/s"),
                      f"hub SQLite/Quix {_x(ratio(hub, p['events_per_s']))} (target >= 1.5x); "
                      f"uncovered {p['set']['uncovered']:,} ({peer_agree}); "
                      f"hub and Quix sets {'agree' if sets else 'DIFFER'}")  # fmt: skip


def render(figures: dict[str, Any]) -> Table:
    table = Table(title="make bench: the live paths, bases measured in the same run")
    for column in ("part", "measure", "figure (latency p50 / p99)", "compared with"):
        table.add_column(column)
    if "intake" in figures:
        _intake_rows(table, figures["intake"])
    if "e2e" in figures:
        _e2e_rows(table, figures["e2e"])
    if "backlog" in figures:
        _backlog_rows(table, figures["backlog"])
    return table
