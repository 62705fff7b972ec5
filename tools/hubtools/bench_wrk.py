"""Closed-loop load with `wrk` (Debian package `wrk`): its threads cycle once through
pre-signed requests read from a file (no request is sent twice) and stop when theirs run out."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hubtools.bench_requests import Signed

INSTALL_HINT = "wrk is missing: `apt-get install -y wrk` (`make bench` tries that first)"

# One request per line: tab-separated header values, then the body (JSON has no raw tabs
# or newlines). Each thread takes every n-th line, so ids and permit numbers stay unique.
LUA = r"""
local threads = {}
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  local path, nthreads = args[1], tonumber(args[2])
  requests, sent, refused = {}, 0, 0
  local i = 0
  for line in io.lines(path) do
    if i % nthreads == tid then
      local id, ts, sig, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      requests[#requests + 1] = wrk.format("POST", args[3], {
        ["Content-Type"] = "application/json", ["X-Hub-Source"] = args[4],
        ["webhook-id"] = id, ["webhook-timestamp"] = ts, ["webhook-signature"] = sig,
      }, body)
    end
    i = i + 1
  end
end
function request()
  sent = sent + 1
  if sent > #requests then
    wrk.thread:stop()
    return requests[#requests]
  end
  return requests[sent]
end
function response(status, headers, body)
  if status ~= 202 then refused = refused + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("refused") end
  io.write(string.format("NOT202 %d\n", total))
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    per_s: float
    p50_ms: float
    p99_ms: float
    not_202: int


def available() -> bool:
    return shutil.which("wrk") is not None


def write_requests(path: Path, requests: Sequence[Signed]) -> None:
    with path.open("wb") as out:
        for r in requests:
            h = r.headers
            head = "\t".join((h["webhook-id"], h["webhook-timestamp"], h["webhook-signature"]))
            out.write(head.encode() + b"\t" + r.body + b"\n")


def run(
    url: str, requests: Sequence[Signed], workdir: Path, *, connections: int, seconds: float
) -> WrkResult:
    """`wrk -t2 -c<connections> -d<seconds> --latency` over the requests, each sent once."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError(INSTALL_HINT)
    data, script = workdir / "wrk-requests.tsv", workdir / "wrk.lua"
    write_requests(data, requests)
    script.write_text(LUA)
    threads = 2
    source = requests[0].headers["X-Hub-Source"]
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
               "--latency", "--timeout", "10s", "-s", str(script), url, "--",
               str(data), str(threads), requests[0].path, source]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    return parse(done.stdout)


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS_MS[unit]


def parse(output: str) -> WrkResult:
    """The figures of wrk's --latency report."""
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    per_s = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    refused = re.search(r"^NOT202 (\d+)", output, re.M)
    if not (total and per_s and p50 and p99 and refused):
        raise RuntimeError(f"cannot read wrk's report:\n{output}")
    return WrkResult(
        requests=int(total[1]),
        seconds=_ms(total[2] + total[3]) / 1000,
        per_s=float(per_s[1]),
        p50_ms=_ms(p50[1]),
        p99_ms=_ms(p99[1]),
        not_202=int(refused[1]),
    )
