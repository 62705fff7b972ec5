"""The batch form of the matcher, for replay: fold a whole event log into its final state,
judge every subject once with the same rules and alert drafts as the live matcher, and
yield the rows to write in chunks. Same events, any order, any duplicates: same final state.

Rows are named tuples (enrollment.replay_rows), so a million events fit in well under a
GiB, and every row is built once: folded from the event's JSON, then written as it is.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache, partial
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel

from enrollment.drafts import (
    AlertDraft,
    finding_alert,
    incident_alert,
    incident_kind,
    match_evidence,
)
from enrollment.names import name_key
from enrollment.replay_alerts import PermitAlerts, raised_row, resolved_row
from enrollment.replay_decode import decode
from enrollment.replay_rows import (
    AlertRow,
    EnrollmentRow,
    EnterpriseRow,
    FindingRow,
    IncidentRow,
    PermitRow,
    finished,
)
from enrollment.rules import Policy, employer_coverage, permit_coverage, project_in_force
from hub_shared.envelope import Envelope
from hub_shared.events import (
    AccidentData,
    DiseaseData,
    EnrollmentData,
    EnterpriseData,
    Evidence,
    FindingData,
    PermitData,
)
from hub_shared.industries import normalize_industry_code

M = TypeVar("M", bound=BaseModel)
V = TypeVar("V")
R = TypeVar("R")
Data = bytes | Mapping[str, Any]  # a record's JSON value, or an envelope's parsed data
CONSUMER = "matcher"
_REPLAYED = "replayed"  # content_hash of rebuilt rows: their content is the event's


def _parse(model: type[M], data: Data) -> M:
    if isinstance(data, bytes):
        return decode(model, data)  # as model_validate_json, quicker
    return model.model_validate(data)


_same = sys.intern  # one string object for the many repeats of a division code or a name


# The registry's row types: handed over as the fold changes them (FinalState.take_changes),
# complete once the log is read.
REGISTRY_ROWS = (EnterpriseRow, EnrollmentRow, FindingRow, IncidentRow)


class FinalState:
    """What the log says in the end, whatever order it was read in."""

    def __init__(self) -> None:
        self.enterprises: dict[str, EnterpriseRow] = {}
        self.enrollments: dict[str, EnrollmentRow] = {}
        self.permits: dict[str, PermitRow] = {}
        self.findings: dict[str, FindingRow] = {}
        self.incidents: dict[str, IncidentRow] = {}
        self.applied: set[str] = set()
        self._inbox_ids: list[str] = []  # applied since the last take_inbox(), and their
        self._inbox_topics: list[str] = []  # topics: the inbox rows' columns
        self.stamp = datetime.now(UTC)  # created_at, updated_at, processed_at of rebuilt rows
        self._values: dict[Any, Any] = {}
        # Registry rows changed since take_changes(): by row type and whether their key had
        # a row before (True) or is new (False).
        self._changed: dict[tuple[type[Any], bool], list[Any]] = defaultdict(list)

    def one(self, value: V) -> V:
        """One object for each distinct date or time, as `_same` for strings: a log repeats
        a few days many times, and pickling to the writer memoizes by object."""
        same: V = self._values.setdefault(value, value)
        return same

    def add(self, topic: str, e: Envelope) -> None:
        self.apply(topic, e.id, e.name, e.data)

    def apply(self, topic: str, event_id: str, name: str, data: Data) -> None:
        """Fold one event; ValueError (pydantic's included) when its data is unreadable."""
        if event_id in self.applied:
            return
        fold = _fold_of(name)
        if fold is not None:
            fold(self, event_id, data)
        self.applied.add(event_id)
        self._inbox_ids.append(event_id)
        self._inbox_topics.append(_same(topic))

    def take_inbox(self) -> list[list[Any]]:
        """The inbox rows (InboxRow) of the events applied since the last call, column by
        column: a million events need no tuple each."""
        ids, topics = self._inbox_ids, self._inbox_topics
        self._inbox_ids, self._inbox_topics = [], []
        return [[CONSUMER] * len(ids), ids, topics, [self.stamp] * len(ids)]

    def take_changes(self) -> list[tuple[list[Any], bool]]:
        """The registry rows (enterprises, enrollments, findings, incidents) that the events
        applied since the last call changed, a list per row type, each in the order of its
        changes, with whether they replace rows handed over before: first the rows of new
        keys, then (True) the changes of known ones. Written in that order, each replacing
        the row of its key, they leave every key's final row: replay writes them while the
        log is still being read. (Permits go when judged: Judge.rows.)"""
        changed, self._changed = self._changed, defaultdict(list)
        return sorted(((rows, again) for (_, again), rows in changed.items()), key=itemgetter(1))

    def _store(self, rows: dict[str, R], key: str, row: R) -> None:
        self._changed[type(row), key in rows].append(row)
        rows[key] = row

    def _enterprise(self, _event_id: str, data: Data) -> None:
        d = _parse(EnterpriseData, data)
        industry = normalize_industry_code(d.industry_code)  # the registry keeps the division
        self._store(self.enterprises, d.uscc, EnterpriseRow(
            d.uscc, d.name, _same(d.division_code), _same(industry), d.employees, self.stamp
        ))  # fmt: skip

    def _enrollment(self, _event_id: str, data: Data) -> None:
        d = _parse(EnrollmentData, data)
        known = self.enrollments.get(d.enrollment_id)
        if known is not None and (known.terminated_on or not d.terminated_on):
            return  # the first registration stands; a termination is never undone
        self._store(self.enrollments, d.enrollment_id, EnrollmentRow(
            d.enrollment_id, _same(d.kind), d.permit_no, d.project_code, d.project_name,
            name_key(d.project_name) if d.project_name else None, d.employer_uscc,
            _same(d.employer_name), _same(d.division_code), d.insured_headcount,
            self.one(d.valid_from), self.one(d.valid_to), self.one(d.terminated_on), _REPLAYED,
            self.stamp,
        ))  # fmt: skip

    def _permit(self, event_id: str, data: Data) -> None:
        d = _parse(PermitData, data)
        known = self.permits.get(d.permit_no)
        first_id = event_id if d.revision == 1 or known is None else known.event_id
        if known is None or d.revision >= known.revision:
            # project_name_key, due_at and checked_at: set when judged (replay_rows.finished)
            self.permits[d.permit_no] = PermitRow(
                d.permit_no, first_id, d.revision, d.project_code, d.project_name, "",
                _same(d.division_code), d.contractor.uscc, _same(d.contractor.name),
                self.one(d.received_at), self.one(d.received_at), None,
            )  # fmt: skip
        elif d.revision == 1:
            self.permits[d.permit_no] = known._replace(event_id=event_id)

    def _finding(self, _event_id: str, data: Data) -> None:
        d = _parse(FindingData, data)
        if d.finding_id not in self.findings:  # the first report stands
            self._store(self.findings, d.finding_id, FindingRow(
                d.finding_id, d.uscc, d.name, _same(d.division_code), self.one(d.found_on),
                _same(d.source_department), d.note, _REPLAYED,
            ))  # fmt: skip

    def _accident(self, event_id: str, data: Data) -> None:
        a = _parse(AccidentData, data)
        if a.report_id not in self.incidents:  # the first report stands
            self._store(self.incidents, a.report_id, IncidentRow(
                a.report_id, "accident", event_id, a.employer.uscc, a.employer.name,
                self.one(a.occurred_at.date()), a.permit_no, _same(a.division_code),
            ))  # fmt: skip

    def _disease(self, event_id: str, data: Data) -> None:
        d = _parse(DiseaseData, data)
        if d.diagnosis_id not in self.incidents:  # the first report stands
            self._store(self.incidents, d.diagnosis_id, IncidentRow(
                d.diagnosis_id, "disease", event_id, d.employer.uscc, d.employer.name,
                self.one(d.diagnosed_on), None, _same(d.division_code),
            ))  # fmt: skip


Fold = Callable[[FinalState, str, Data], None]
_FOLDS: dict[str, Fold] = {
    "enterprise": FinalState._enterprise,
    "enrollment": FinalState._enrollment,
    "permit": FinalState._permit,
    "enterprise.uninsured": FinalState._finding,
    "accident.reported": FinalState._accident,
    "disease.diagnosed": FinalState._disease,
}


@lru_cache(maxsize=256)
def _fold_of(name: str) -> Fold | None:
    """By event name, or for enterprise, enrollment and permit events by family."""
    return _FOLDS.get(name) or _FOLDS.get(name.partition(".")[0])


class Staged(NamedTuple):
    """An alert event the rebuilt state stages in its outbox."""

    name: str  # "alert.raised" | "alert.resolved"
    alert_id: str
    kind: str
    subject_key: str


class Alerts(NamedTuple):
    """A chunk of alert rows, and for each the event it stages ("alert.raised",
    "alert.resolved"), or None: the writer builds the outbox rows (enrollment.replay_outbox)."""

    rows: list[AlertRow]
    events: list[str | None]


class Permits(NamedTuple):
    """A chunk of permit rows as judged (replay_rows.finished): name key, grace period."""

    rows: list[PermitRow]


class Complete(NamedTuple):
    """No more rows of this type follow: the writer may build its table's indexes now."""

    row_type: type[Any]


Chunk = Permits | Alerts | Complete


class Judge:
    """Every subject judged once; alerts already published (`loaded`, by id, as last seen on
    alerts.v1) are kept, none raised twice. `rows()` yields the permits and alerts in chunks of
    one row type (the registry's rows went as they changed); `staged` fills as it goes.
    Permits are judged as finished (replay_rows.finished); an incident's permit is read as
    folded, which judges alike: the rules score a permit's name itself and read its name key
    only when the name is empty, and then the key is empty too."""

    def __init__(
        self, state: FinalState, loaded: dict[str, AlertRow], policy: Policy, now: datetime
    ) -> None:
        self.state, self.loaded, self.policy, self.now = state, loaded, policy, now
        self._today = now.date()  # coverage in force today: read once, not per permit
        self.staged: list[Staged] = []
        self._permit_alert = PermitAlerts(policy, now)
        self._open = {(a.kind, a.subject_key): a.alert_id for a in loaded.values()
                      if a.status == "open"}  # fmt: skip
        self._raised: list[AlertRow] = []  # not yet yielded
        self._resolved: set[str] = set()  # ids of loaded alerts resolved
        # Project enrollments by employer, by permit number and by project code (the keys
        # of the live matcher's candidate query, matcher.project_candidates); employer
        # enrollments by employer. Maps by plain keys: a million events make ~800,000 keys,
        # and a (kind, key) tuple each would be 45 MB.
        self._projects: dict[str, list[EnrollmentRow]] = defaultdict(list)
        self._by_permit: dict[str, list[EnrollmentRow]] = defaultdict(list)
        self._by_code: dict[str, list[EnrollmentRow]] = defaultdict(list)
        self._employers: dict[str, list[EnrollmentRow]] = defaultdict(list)

    def rows(self, chunk: int = 5000) -> Iterator[Chunk]:
        """The permits and alerts in chunks of one type, each type followed by its Complete
        marker once its last row is out; the alerts raised come out as they accumulate."""
        state = self.state
        for e in state.enrollments.values():
            if e.kind == "employer":
                self._employers[e.employer_uscc].append(e)
                continue
            self._projects[e.employer_uscc].append(e)
            if e.permit_no is not None:
                self._by_permit[e.permit_no].append(e)
            if e.project_code is not None:
                self._by_code[e.project_code].append(e)
        grace = timedelta(seconds=self.policy.grace_seconds)
        permits: list[PermitRow] = []
        for folded in state.permits.values():
            p = finished(folded, grace, self.now)
            permits.append(p)
            if p.checked_at is not None:  # its grace period is over
                self._judge_permit(p)
            if len(permits) >= chunk:
                yield Permits(permits)
                permits = []
            if len(self._raised) >= chunk:
                yield from self._take_raised(chunk)
        if permits:
            yield Permits(permits)
        yield Complete(PermitRow)
        wanted = {f.uscc for f in state.findings.values()}
        projects: dict[str, list[str]] = defaultdict(list)
        for p in state.permits.values():
            if p.contractor_uscc in wanted:
                projects[p.contractor_uscc].append(p.permit_no)
        for f in sorted(state.findings.values()):
            covered = employer_coverage(self._employers.get(f.uscc, ()), f.uscc, self._today)
            self._decide(("enterprise_uninsured", f.uscc),
                         self._drafted(partial(finding_alert, f, projects[f.uscc])),
                         covered[0] if covered else None)  # fmt: skip
        for i in state.incidents.values():
            self._judge_incident(i)
        yield from self._take_raised(chunk)
        for part in _chunked(list(self.loaded.values()), chunk):  # after every resolution above
            yield Alerts(part, [_RESOLVED if a.alert_id in self._resolved else None
                                for a in part])  # fmt: skip
        yield Complete(AlertRow)

    def _take_raised(self, chunk: int) -> Iterator[Alerts]:
        raised, self._raised = self._raised, []
        for part in _chunked(raised, chunk):
            yield Alerts(part, [_RAISED] * len(part))

    def _candidates(self, p: PermitRow) -> list[EnrollmentRow]:
        """As matcher.project_candidates: the project enrollments of the permit's contractor,
        of its number or of its project code, each once (when the contractor's are all, its
        list in the map itself: to be read, not changed)."""
        found = self._projects.get(p.contractor_uscc, [])
        by_code = self._by_code.get(p.project_code, ()) if p.project_code else ()
        others = [e for e in (*self._by_permit.get(p.permit_no, ()), *by_code)
                  if e.employer_uscc != p.contractor_uscc]  # fmt: skip
        if not others:
            return found
        return found + list({id(e): e for e in others}.values())

    def _judge_permit(self, p: PermitRow) -> None:
        key = ("project_not_enrolled", p.permit_no)
        today = self._today
        if key not in self._open and any(
            project_in_force(e, today) for e in self._by_permit.get(p.permit_no, ())
        ):
            return  # covered by its number (the rules' first match), and no alert to resolve
        matches = permit_coverage(self._candidates(p), p, today, self.policy.name_threshold)
        self._decide(
            key,
            partial(self._permit_alert, p),
            matches[0].enrollment_id if matches else None,
            lambda: [match_evidence(matches[0])],
        )

    def _judge_incident(self, i: IncidentRow) -> None:
        by = employer_coverage(self._employers.get(i.employer_uscc, ()), i.employer_uscc,
                               i.occurred_on)  # fmt: skip
        permit = self.state.permits.get(i.permit_no or "")
        if not by and permit is not None:
            matched = permit_coverage(
                self._candidates(permit), permit, i.occurred_on, self.policy.name_threshold
            )
            by = [m.enrollment_id for m in matched]
        self._decide((incident_kind(i), i.incident_id),
                     self._drafted(partial(incident_alert, i)), by[0] if by else None)  # fmt: skip

    def _drafted(self, draft: Callable[[], AlertDraft]) -> Callable[[], AlertRow]:
        return lambda: raised_row(draft(), self.now)

    def _decide(
        self,
        key: tuple[str, str],
        raise_row: Callable[[], AlertRow],
        covered_by: str | None,
        evidence: Callable[[], list[Evidence]] = list,
    ) -> None:
        """Resolve the open alert of (kind, subject) if covered, raise one if not. The alert
        and the evidence are built only when an alert changes: most subjects need neither."""
        current = self._open.get(key)
        if covered_by and current is not None:
            # Only a loaded alert can be open here: each subject is judged once.
            alert = resolved_row(self.loaded[current], covered_by, evidence(), self.now)
            self.loaded[current] = alert
            del self._open[key]
            self._resolved.add(current)
            self._stage(_RESOLVED, alert)
        elif not covered_by and current is None:
            alert = raise_row()
            assert (alert.kind, alert.subject_key) == key
            self._open[key] = alert.alert_id
            self._raised.append(alert)
            self._stage(_RAISED, alert)

    def _stage(self, name: str, alert: AlertRow) -> None:
        self.staged.append(Staged(name, alert.alert_id, alert.kind, alert.subject_key))


_RAISED, _RESOLVED = "alert.raised", "alert.resolved"


def _chunked(rows: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
