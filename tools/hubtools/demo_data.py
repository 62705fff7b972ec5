"""A believable Jining for demos, loaded through the public REST APIs of a running hub.

`python -m hubtools.demo_data --enterprises 2000 --seed 1` (or `make demo`, after `make run`):
enterprises of the key industries across the eleven counties (valid USCCs), employer
enrollments (most enterprises insured, some counties better than others) and accidents of
2020-2025 whose rate falls over the years, a little faster in some counties than in others.

Everything is drawn from the seed and every record has a fixed id (the USCC, `DEMO-E-…`,
`DEMO-A-…`), so a second run with the same arguments sends the same content and changes
nothing (the hub answers 200 instead of 201).
"""

from __future__ import annotations

import asyncio
import json
import math
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Final

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from hub_shared.clock import BEIJING
from hub_shared.clock import today as clock_today
from hub_shared.config import EnvSettings, load_hub_config
from hub_shared.domain.codelists import grade_for
from hub_shared.domain.identifiers import uscc_check_char

YEARS: Final = range(2020, 2026)
ORG_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)
ORG_CHARS: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"

# (industry code, label in names, accidents per 1000 insured in 2020, employees range)
INDUSTRIES: Final = {
    "coal": ("B06", "煤业", 7.0, (400, 3000)),
    "quarry": ("B10", "矿业", 5.0, (40, 300)),
    "chemicals": ("C26", "化工", 4.5, (80, 900)),
    "hazmat_transport": ("G5435", "危险货物运输", 4.0, (30, 200)),
    "metallurgy": ("C31", "钢铁", 4.0, (200, 1500)),
    "building_materials": ("C30", "建材", 3.5, (50, 400)),
    "construction": ("E47", "建设工程", 5.5, (40, 900)),
    "installation": ("E49", "建筑安装", 4.5, (20, 200)),
    "road_transport": ("G54", "运输", 3.0, (30, 400)),
    "machinery": ("C34", "机械", 2.8, (60, 1200)),
    "vehicles": ("C36", "汽车零部件", 2.5, (80, 1500)),
    "pharmaceutical": ("C27", "制药", 1.6, (60, 800)),
    "trade": ("F51", "商贸", 0.6, (10, 120)),
    "software": ("I65", "软件科技", 0.2, (10, 150)),
}
# County: (share of enterprises, share insured, yearly fall of the accident rate, industry
# weights that differ from 1). Local colour: coal in 邹城/兖州/微山, chemicals in 金乡/嘉祥.
COUNTIES: Final[dict[str, tuple[float, float, float, dict[str, float]]]] = {
    "370811": (0.20, 0.94, 0.055, {"construction": 3, "pharmaceutical": 2, "software": 3}),
    "370812": (0.10, 0.90, 0.050, {"coal": 3, "machinery": 2, "vehicles": 2}),
    "370826": (0.07, 0.82, 0.030, {"coal": 3, "road_transport": 2}),
    "370827": (0.05, 0.80, 0.040, {"trade": 2}),
    "370828": (0.07, 0.86, 0.045, {"chemicals": 4, "hazmat_transport": 2}),
    "370829": (0.07, 0.84, 0.035, {"chemicals": 3, "quarry": 2}),
    "370830": (0.06, 0.88, 0.050, {"building_materials": 3}),
    "370831": (0.05, 0.78, 0.025, {"quarry": 2, "construction": 2}),
    "370832": (0.07, 0.83, 0.045, {"road_transport": 3, "hazmat_transport": 2}),
    "370881": (0.08, 0.92, 0.060, {"pharmaceutical": 3, "construction": 2}),
    "370883": (0.18, 0.91, 0.050, {"coal": 4, "metallurgy": 2, "machinery": 2}),
}
COUNTY_SHORT: Final = {
    "370811": "任城", "370812": "兖州", "370826": "微山", "370827": "鱼台", "370828": "金乡",
    "370829": "嘉祥", "370830": "汶上", "370831": "泗水", "370832": "梁山", "370881": "曲阜",
    "370883": "邹城",
}  # fmt: skip
TRADE_NAMES: Final = tuple(
    a + b for a in "鑫金华盛宏恒泰瑞祥福嘉和鲁圣东" for b in "源达昌隆兴润邦通远力"
)
CAUSES: Final = ("高处坠落", "物体打击", "机械伤害", "车辆伤害", "触电", "坍塌", "起重伤害")

console = Console()


@dataclass(frozen=True)
class Enterprise:
    uscc: str
    name: str
    division_code: str
    industry: str
    employees: int
    insured_headcount: int | None  # None: not insured
    valid_from: date


def _org_check(body: str) -> str:
    values = [int(c) if c.isdigit() else ord(c) - ord("A") + 10 for c in body]
    remainder = 11 - sum(v * w for v, w in zip(values, ORG_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


def make_uscc(rng: random.Random, division: str) -> str:
    """A valid USCC: 9 (market regulation), 1 (enterprise), the division, an org code."""
    org = "MA" + "".join(rng.choice(ORG_CHARS) for _ in range(6))
    first17 = f"91{division}{org}{_org_check(org)}"
    return first17 + uscc_check_char(first17)


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: the means here are small (a few accidents a year per enterprise).
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def enterprises(count: int, rng: random.Random) -> list[Enterprise]:
    codes = list(COUNTIES)
    shares = [COUNTIES[c][0] for c in codes]
    kinds = list(INDUSTRIES)
    seen: set[str] = set()
    made: list[Enterprise] = []
    while len(made) < count:
        division = rng.choices(codes, shares)[0]
        _, insured_share, _, weights = COUNTIES[division]
        kind = rng.choices(kinds, [weights.get(k, 1.0) for k in kinds])[0]
        _code, label, _rate, (low, high) = INDUSTRIES[kind]
        uscc = make_uscc(rng, division)
        name = f"{COUNTY_SHORT[division]}{rng.choice(TRADE_NAMES)}{label}有限公司"
        if uscc in seen:
            continue
        seen.add(uscc)
        employees = int(math.exp(rng.uniform(math.log(low), math.log(high))))
        insured = rng.random() < insured_share
        headcount = max(1, int(employees * rng.uniform(0.7, 1.0))) if insured else None
        start = date(2015, 1, 1) + timedelta(days=rng.randrange(365 * 7))
        made.append(Enterprise(uscc, name, division, kind, employees, headcount, start))
    return made


def accidents(enterprise: Enterprise, rng: random.Random, today: date) -> Iterator[dict[str, Any]]:
    """The enterprise's accidents of 2020-2025: fewer each year, at its county's pace."""
    code, _label, rate, _range = INDUSTRIES[enterprise.industry]
    fall = COUNTIES[enterprise.division_code][2]
    exposed = enterprise.insured_headcount or enterprise.employees
    for year in YEARS:
        mean = exposed / 1000 * rate * max(0.3, 1 - fall * (year - 2020))
        for n in range(_poisson(rng, mean)):
            day = date(year, 1, 1) + timedelta(days=rng.randrange(365))
            if day >= today:
                continue
            deaths = 1 if rng.random() < 0.04 else 0
            serious = rng.choice((0, 0, 1, 1, 2))
            at = datetime(year, day.month, day.day, rng.randrange(7, 19), rng.randrange(60))
            yield {
                "report_id": f"DEMO-A-{enterprise.uscc}-{year}-{n}",
                "occurred_at": at.replace(tzinfo=BEIJING).isoformat(),
                "division_code": enterprise.division_code,
                "employer": {"name": enterprise.name, "uscc": enterprise.uscc},
                "industry_code": code,
                "grade": grade_for(deaths, serious),
                "deaths": deaths,
                "serious_injuries": serious,
                "minor_injuries": rng.randrange(3),
                "summary": rng.choice(CAUSES),
            }


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    body: dict[str, Any]
    token: str
    # A signed webhook: the headers for the body's exact bytes, made at each attempt.
    signer: Callable[[bytes], dict[str, str]] | None = None


def calls(
    count: int, seed: int, *, enrollment_url: str, incidents_url: str, tokens: tuple[str, str]
) -> dict[str, list[Call]]:
    """Every request of a run, per phase, in the order they must be sent."""
    agency, emergency = tokens
    today = clock_today()
    # Seeded, reproducible demo data: not a secret, so a plain PRNG is the right tool.
    made = enterprises(count, random.Random(seed))  # noqa: S311
    phases: dict[str, list[Call]] = {"企业": [], "参保登记": [], "事故": []}
    for e in made:
        body = {
            "name": e.name,
            "division_code": e.division_code,
            "industry_code": INDUSTRIES[e.industry][0],
            "employees": e.employees,
        }
        phases["企业"].append(
            Call("PUT", f"{enrollment_url}/v1/enterprises/{e.uscc}", body, agency)
        )
        if e.insured_headcount is not None:
            enrollment = {
                "enrollment_id": f"DEMO-E-{e.uscc}",
                "kind": "employer",
                "employer_uscc": e.uscc,
                "employer_name": e.name,
                "division_code": e.division_code,
                "insured_headcount": e.insured_headcount,
                "valid_from": e.valid_from.isoformat(),
            }
            phases["参保登记"].append(
                Call("POST", f"{enrollment_url}/v1/enrollments", enrollment, agency)
            )
        # One generator per enterprise: its accidents do not depend on the others.
        rng = random.Random(f"{seed}-{e.uscc}")  # noqa: S311
        for accident in accidents(e, rng, today):
            phases["事故"].append(
                Call("POST", f"{incidents_url}/v1/accidents", accident, emergency)
            )
    return phases


async def _send(client: httpx.AsyncClient, call: Call) -> str:
    """'created', 'unchanged' or the failure; transport faults and 5xx are retried."""
    headers = {"Authorization": f"Bearer {call.token}"}
    raw = json.dumps(call.body, ensure_ascii=False).encode()
    for attempt in range(4):
        try:
            if call.signer is not None:
                response = await client.request(
                    call.method, call.url, content=raw, headers=call.signer(raw)
                )
            else:
                response = await client.request(
                    call.method, call.url, json=call.body, headers=headers
                )
        except httpx.TransportError as exc:
            failure = f"{type(exc).__name__}: {exc}"
        else:
            if response.status_code == 201:
                return "created"
            if response.status_code == 200:
                return "unchanged"
            failure = f"{response.status_code} {call.method} {call.url}: {response.text[:300]}"
            if response.status_code < 500:
                return failure
        await asyncio.sleep(0.5 * 2**attempt)
    return failure


async def load(phases: dict[str, list[Call]], concurrency: int) -> Counter[str]:
    """Send each phase with `concurrency` requests in flight; count the outcomes."""
    outcomes: Counter[str] = Counter()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        with Progress(*columns, console=console) as progress:
            for name, batch in phases.items():
                task = progress.add_task(name, total=len(batch))
                queue: asyncio.Queue[Call] = asyncio.Queue()
                for call in batch:
                    queue.put_nowait(call)

                async def worker(task_id: Any = task, jobs: asyncio.Queue[Call] = queue) -> None:
                    while not jobs.empty():
                        outcome = await _send(client, jobs.get_nowait())
                        if outcome not in ("created", "unchanged"):
                            console.print(f"[red]{outcome}[/]")
                            outcome = "failed"
                        outcomes[outcome] += 1
                        progress.advance(task_id)

                await asyncio.gather(*(worker() for _ in range(concurrency)))
    return outcomes


def _token(client_id: str) -> str:
    hub = load_hub_config(EnvSettings().config)
    for client in hub.clients:
        if client.id == client_id:
            return client.token.get_secret_value()
    raise typer.BadParameter(f"no client {client_id!r} in {EnvSettings().config}")


def _platform() -> tuple[str, str] | None:
    """The first training source of HUB_CONFIG: (id, secret), for signed completions."""
    hub = load_hub_config(EnvSettings().config)
    source = next((s for s in hub.sources if s.kind == "training"), None)
    return None if source is None else (source.id, source.secret.get_secret_value())


def main(
    enterprises: Annotated[int, typer.Option("--enterprises", min=1)] = 2000,
    seed: Annotated[int, typer.Option()] = 1,
    enrollment_url: Annotated[str, typer.Option()] = "http://127.0.0.1:8002",
    incidents_url: Annotated[str, typer.Option()] = "http://127.0.0.1:8003",
    agency_token: Annotated[
        str | None, typer.Option(help="default: client jining-sso-agency of HUB_CONFIG")
    ] = None,
    emergency_token: Annotated[
        str | None, typer.Option(help="default: client jining-emergency of HUB_CONFIG")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=64)] = 16,
) -> None:
    """Load a seeded, believable Jining into a running hub (`make run` first)."""
    tokens = (
        agency_token or _token("jining-sso-agency"),
        emergency_token or _token("jining-emergency"),
    )
    phases = calls(
        enterprises, seed, enrollment_url=enrollment_url, incidents_url=incidents_url, tokens=tokens
    )
    phases |= demo_goals.goal_calls(
        enterprises, seed, incidents_url=incidents_url, health=_token("jining-health"),
        staff=_token("jining-hrss-reports"), platform=_platform(), today=clock_today(),
    )  # fmt: skip
    outcomes = asyncio.run(load(phases, concurrency))
    table = Table(title="demo data")
    for column in ("created", "unchanged", "failed"):
        table.add_column(column, justify="right")
    table.add_row(*(str(outcomes[c]) for c in ("created", "unchanged", "failed")))
    console.print(table)
    if outcomes["failed"]:
        raise typer.Exit(1)


from hubtools import demo_goals  # noqa: E402  (it imports this module's Call)

if __name__ == "__main__":
    typer.run(main)
