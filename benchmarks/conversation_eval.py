"""Whole conversations replayed against the chat: does each reach the end state a good bot must reach?

    .venv/bin/python benchmarks/conversation_eval.py                   # the test part (measured only)
    .venv/bin/python benchmarks/conversation_eval.py --data tests/data/conversations/dev.jsonl --show

The corpus format is tests/data/briefs/conversation.md's: a conversation's `setup` (the citizen's earlier
requests, a neighbour's petition), its `turns` (texts, voice notes with their recognition text, photos,
location pins, QR scans, progress notices, each `after_seconds` or `after_days` after the one before) and what
must be true at the end (`expect`). Each conversation is a new citizen on one SQLite database.

Every message is built as WeChat pushes it (bots/fakes/wechat_peer.py: the XML with its CreateTime), read
as the webhook reads it (bots/wechat/parse.py) and answered by the intake (bots/intake.py `receive`) at the
conversation's own clock, so bursts of fragments and a rating days later behave as they do in production.
(The HTTP request and its encryption are left out: the webhook answers at the server's clock, which a
conversation that goes on days later cannot have; tests/gateway/test_webhooks.py covers that path.)
The one reply owed after a burst (workers/notify.py `draft_prompt`) is taken when the next turn comes 8 s or
more later, or at the end, as the job would have sent it. A progress notice is the dispatch system's status
event (tickets/progress.py), which is what makes the chat ask for a rating.

Printed: the share of conversations that reach every expected end state (issue 14's target: >= 95%) and the
share per kind of expectation; tickets filed wrongly (one too many or one missing); drafts left open;
whether the first reply to an emergency carried its number; replies longer than a phone screen (150
characters); replies asking more than one question; the cost of a turn.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bots import intake  # noqa: E402
from bots.conversations.desk import DeskConfig  # noqa: E402
from bots.conversations.draft import Draft  # noqa: E402
from bots.conversations.drafting import BURST_S  # noqa: E402
from bots.conversations.states import Intake, Pending  # noqa: E402
from bots.fakes.wechat_peer import WeChatPeer  # noqa: E402
from bots.replies import Reply  # noqa: E402
from bots.wechat.parse import normalise, parse_xml  # noqa: E402
from tickets import opening, petitions, progress  # noqa: E402
from tickets.inbox.citizens import CitizenKey, lock_citizen  # noqa: E402
from tickets.inbox.message import InboundMessage  # noqa: E402
from tickets.lifecycle import Status, can_move  # noqa: E402
from tickets.masking import mask_text  # noqa: E402
from tickets.progress import StatusUpdate  # noqa: E402
from tickets.repository import NewTicket, Ticket, get_ticket  # noqa: E402
from tickets.routing import catalogue  # noqa: E402
from tickets.storage.db import create_db_engine, migrate  # noqa: E402
from tickets.storage.schema import citizens, consultations, evaluations, ticket_routing, tickets  # noqa: E402

DATA = ROOT / "tests" / "data" / "conversations" / "test.jsonl"
ACCOUNT = "gh_benchmark01"
TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)  # 09:30 in Zhengzhou
SCREEN = 150  # characters a reply may take before it no longer fits a phone screen
PATH = (Status.ACCEPTED, Status.DISPATCHED, Status.IN_PROGRESS, Status.RESOLVED)
EMERGENCY_TEMPLATES = frozenset({"emergency", "urgent_advice", "safety_question"})


@dataclass
class Run:
    """One conversation as it went."""

    conversation: dict[str, Any]
    citizen_id: int = 0
    openid: str = ""
    refs: dict[str, Ticket] = field(default_factory=dict)
    petitions: dict[str, petitions.Petition] = field(default_factory=dict)
    first_new_id: int = 0
    turns: list[tuple[str, list[Reply]]] = field(default_factory=list)
    filed_at_turn: int = 0  # the citizen messages it took to the first ticket (0: none filed)
    seconds: list[float] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class Bench:
    """The database, the chat's settings and WeChat's side, shared by the conversations."""

    def __init__(self, folder: Path) -> None:
        url = f"sqlite:///{folder / 'conversations.db'}"
        migrate(url)
        self.engine = create_db_engine(url)
        self.config = DeskConfig(tz=TZ, public_base_url="https://gw.example.cn", secret_key="benchmark-" + "k" * 32)
        self.rules = self.config.opening
        self.clock = START
        self.peer = WeChatPeer("benchmarktoken", "wxbenchmark0001", account=ACCOUNT, clock=lambda: self.clock)
        self.types = catalogue.load_file().type_names
        self.numbers = 0

    # -- the world before the conversation

    def prepare(self, run: Run, index: int) -> None:
        conversation = run.conversation
        run.openid = f"oBench{index:04d}{conversation['id']}"[:28]
        self.clock = START + timedelta(days=3 * index)
        with self.engine.begin() as conn:
            run.citizen_id = lock_citizen(conn, CitizenKey("wechat", ACCOUNT, run.openid), self.clock).id
            setup = conversation.get("setup") or {}
            for row in setup.get("tickets", []):
                run.refs[row["ref"]] = self._earlier(conn, run, row)
            petition = setup.get("petition")
            if petition:
                run.petitions[petition["ref"]] = self._petition(conn, petition, index)
            run.first_new_id = (conn.execute(sa.select(sa.func.max(tickets.c.id))).scalar() or 0) + 1

    def _earlier(self, conn: sa.Connection, run: Run, row: dict[str, Any]) -> Ticket:
        at = self.clock - timedelta(days=float(row.get("days_ago", 7)))
        by_phone = row.get("via") == "phone"
        new = NewTicket("phone" if by_phone else "wechat", None if by_phone else run.citizen_id, row["description"],
                        address=row.get("address", ""))
        ticket = opening.open_ticket(conn, new, self.rules, at, citizen_ref="" if by_phone else "oBench***")
        self._move(conn, ticket.id, Status(row.get("status", "received")), at)
        return get_ticket(conn, ticket.id)

    def _move(self, conn: sa.Connection, ticket_id: int, target: Status, at: datetime, note: str = "") -> None:
        current = get_ticket(conn, ticket_id).status
        ahead = PATH[PATH.index(current) + 1:] if current in PATH else PATH
        for step in ahead:
            if current == target:
                return
            if can_move(current, step) and PATH.index(step) <= PATH.index(target):
                final = step == target
                progress.apply_update(conn, ticket_id, StatusUpdate(step, actor="dispatch:benchmark",
                                                                    note=note if final else ""), at)
                current = step

    def _petition(self, conn: sa.Connection, row: dict[str, Any], index: int) -> petitions.Petition:
        neighbour = lock_citizen(conn, CitizenKey("wechat", ACCOUNT, f"oNeighbour{index:04d}"), self.clock)
        new = NewTicket("wechat", neighbour.id, row["title"])
        ticket = opening.open_ticket(conn, new, self.rules, self.clock - timedelta(days=2), citizen_ref="oNei***")
        petition, _ = petitions.start(conn, ticket.id, now=self.clock - timedelta(days=2), days=30,
                                      title=row["title"])
        return petition

    # -- the conversation

    def play(self, run: Run) -> None:
        turns = run.conversation["turns"]
        for n, turn in enumerate(turns):
            if "after_days" in turn:
                self.clock += timedelta(days=float(turn["after_days"]))
            elif n:
                self.clock += timedelta(seconds=float(turn.get("after_seconds", 30)))
            started = time.perf_counter()
            replies = self._turn(run, turn, n)
            run.seconds.append(time.perf_counter() - started)
            upcoming = turns[n + 1] if n + 1 < len(turns) else None
            if upcoming is None or "after_days" in upcoming or float(upcoming.get("after_seconds", 30)) >= BURST_S:
                replies += self._owed(run)
            run.turns.append((self._shown(turn), replies))
            if not run.filed_at_turn and any(r.template == "opened" for r in replies):
                run.filed_at_turn = sum(1 for t in turns[:n + 1] if "notice" not in t)

    def _turn(self, run: Run, turn: dict[str, Any], n: int) -> list[Reply]:
        if "notice" in turn:
            notice = turn["notice"]
            with self.engine.begin() as conn:
                self._move(conn, run.refs[notice["ticket"]].id, Status(notice["status"]), self.clock,
                           notice.get("note", ""))
            return []
        message = self._message(run, turn, n)
        with self.engine.begin() as conn:
            return intake.receive(conn, message, self.config, self.clock)

    def _message(self, run: Run, turn: dict[str, Any], n: int) -> InboundMessage:
        openid = run.openid
        if "text" in turn:
            xml = self.peer.text_xml(openid, self._filled(run, turn["text"]))
        elif "voice" in turn:
            xml = self.peer.voice_xml(openid, f"VOICE{n}", self._filled(run, turn["voice"]))
        elif "image" in turn:
            xml = self.peer.image_xml(openid, f"MEDIA{n}", f"http://mmbiz.qpic.cn/bench/{n}.jpg")
        elif "location" in turn:
            where = turn["location"]
            xml = self.peer.location_xml(openid, float(where["lat"]), float(where["lon"]), where.get("label", ""))
        elif "scan" in turn:
            scene = run.petitions[turn["scan"]].wechat_scene or ""
            xml = self.peer.event_xml(openid, "SCAN", scene)
        else:
            raise ValueError(f"unknown turn {turn}")
        return normalise(parse_xml(xml))

    def _filled(self, run: Run, text: str) -> str:
        """The corpus's {code:A}, {number:A}, {number:A|spaced} and {number:A|tail6} with the real values."""
        for ref, ticket in run.refs.items():
            digits = ticket.number.replace("-", "")
            text = (text.replace(f"{{code:{ref}}}", ticket.tracking_code)
                    .replace(f"{{number:{ref}|spaced}}", f"{digits[:4]} {digits[4:8]} {digits[8:]}")
                    .replace(f"{{number:{ref}|tail6}}", digits[-6:])
                    .replace(f"{{number:{ref}}}", ticket.number))
        return text

    def _owed(self, run: Run) -> list[Reply]:
        """The reply the burst job would send now, if one is owed."""
        with self.engine.connect() as conn:
            data = conn.execute(sa.select(citizens.c.dialog_data).where(citizens.c.id == run.citizen_id)).scalar()
        mark = (data or {}).get(Pending.BURST)
        if not isinstance(mark, dict) or mark.get("answered"):
            return []
        owed = intake.after_burst(self.engine, run.citizen_id, str(mark.get("at", "")), self.config, self.clock)
        if owed is None:
            return []
        intake.burst_sent(self.engine, run.citizen_id, str(mark.get("at", "")), self.clock)
        return [Reply(text, "after_burst") for text in owed[1]]

    @staticmethod
    def _shown(turn: dict[str, Any]) -> str:
        for key in ("text", "voice"):
            if key in turn:
                return ("[语音] " if key == "voice" else "") + str(turn[key])
        for key, label in (("image", "[照片]"), ("location", "[位置]"), ("scan", "[扫码]"), ("notice", "[进展]")):
            if key in turn:
                return f"{label} {json.dumps(turn[key], ensure_ascii=False) if key != 'image' else ''}".strip()
        return "?"

    # -- what must be true at the end

    def check(self, run: Run) -> None:
        expect = run.conversation["expect"]
        with self.engine.connect() as conn:
            opened = conn.execute(sa.select(tickets).where(tickets.c.citizen_id == run.citizen_id,
                                                           tickets.c.id >= run.first_new_id)
                                  .order_by(tickets.c.id)).all()
            state, data = conn.execute(sa.select(citizens.c.dialog_state, citizens.c.dialog_data)
                                       .where(citizens.c.id == run.citizen_id)).one()
            fail = run.failed.append
            if len(opened) != int(expect.get("tickets_opened", 0)):
                fail(f"tickets_opened {len(opened)} != {expect.get('tickets_opened', 0)}")
            draft_open = state != Intake.IDLE.value and bool(Draft.from_data(dict(data or {})).description)
            if draft_open != bool(expect.get("draft_open", False)):
                fail(f"draft_open {draft_open}")
            if "ticket" in expect and opened:
                self._check_ticket(conn, run, expect["ticket"], opened[0])
            elif "ticket" in expect:
                fail("ticket: none filed")
            if "confidential" in expect and (not opened or bool(opened[0].confidential) != expect["confidential"]):
                fail("confidential")
            self._check_replies(conn, run, expect, opened)

    def _check_ticket(self, conn: sa.Connection, run: Run, want: dict[str, Any], row: Any) -> None:
        place = f"{row.address} {row.location_label}"
        missing = [w for w in want.get("place_has", []) if w not in place]
        if missing:
            run.failed.append(f"place lacks {missing}: {place.strip()!r}")
        lost = [w for w in want.get("description_has", []) if w not in row.description]
        if lost:
            run.failed.append(f"description lacks {lost}")
        if "urgency" in want and row.urgency != want["urgency"]:
            run.failed.append(f"urgency {row.urgency}")
        if "type" in want:
            kind = conn.execute(sa.select(ticket_routing.c.kind).where(ticket_routing.c.ticket_id == row.id)).scalar()
            if self.types.get(str(kind), kind) != want["type"]:
                run.failed.append(f"type {self.types.get(str(kind), kind)} != {want['type']}")

    def _check_replies(self, conn: sa.Connection, run: Run, expect: dict[str, Any], opened: list[Any]) -> None:
        fail = run.failed.append
        every = [reply for _, replies in run.turns for reply in replies]
        said = "\n".join(reply.text for reply in every)
        templates = {reply.template for reply in every}
        if "emergency_first" in expect:
            number = str(expect["emergency_first"])
            danger = next((replies for _, replies in run.turns
                           if replies and replies[0].template in EMERGENCY_TEMPLATES), None)
            first = danger[0].text if danger else ""
            ok = ("燃气" in first or "119" in first) if number == "gas" else number in first
            if not ok:
                fail(f"emergency_first {number}: {first[:40]!r}")
        if expect.get("asked_safety") and "safety_question" not in templates:
            fail("asked_safety")
        if expect.get("redirected") and ("redirect" not in templates or opened):
            fail("redirected")
        if "answered" in expect:
            topics = set(conn.execute(sa.select(consultations.c.topic)
                                      .where(consultations.c.citizen_id == run.citizen_id)).scalars())
            if expect["answered"] not in topics:
                fail(f"answered {expect['answered']} not in {sorted(topics)}")
        for ref in expect.get("progress_of", []):
            ticket = run.refs[ref]
            if ticket.number not in said and ticket.tracking_code not in said:
                fail(f"progress_of {ref}")
        if "withdrawn" in expect:
            status = get_ticket(conn, run.refs[expect["withdrawn"]].id).status
            if status is not Status.WITHDRAWN:
                fail(f"withdrawn: {status.value}")
        if "rated" in expect:
            self._check_rating(conn, run, expect["rated"])
        if "signed" in expect:
            petition = next(iter(run.petitions.values()))
            identity = petitions.identity_of(self.config.identity_key, "wechat", run.openid)
            signed = petitions.signature_status(conn, petition.id, identity) == "signed"
            if signed != bool(expect["signed"]):
                fail(f"signed {signed}")

    def _check_rating(self, conn: sa.Connection, run: Run, want: dict[str, Any]) -> None:
        ticket = run.refs[want["ticket"]]
        rating = conn.execute(sa.select(evaluations.c.satisfaction).where(evaluations.c.ticket_id == ticket.id)
                              .order_by(evaluations.c.id.desc()).limit(1)).scalar()
        satisfied = rating in ("satisfied", "basically")
        if rating is None or satisfied != bool(want.get("satisfied")):
            run.failed.append(f"rated {rating}")
        if want.get("reopened") and get_ticket(conn, ticket.id).status is not Status.REOPENED:
            run.failed.append("not reopened")


def kind_of(conversation: dict[str, Any]) -> str:
    """The kind a conversation tests, from its note (`[report] ...`) or its expectations."""
    note = str(conversation.get("note", ""))
    if note.startswith("["):
        return note[1:note.index("]")] if "]" in note else note
    return next((k for k in ("rated", "signed", "withdrawn", "progress_of", "answered", "redirected",
                             "emergency_first", "asked_safety", "ticket") if k in conversation["expect"]), "other")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--show", action="store_true", help="print the failed conversations (dev sets only)")
    args = parser.parse_args()
    conversations = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as folder:
        bench = Bench(Path(folder))
        runs = []
        for index, conversation in enumerate(conversations):
            run = Run(conversation)
            bench.prepare(run, index)
            bench.play(run)
            bench.check(run)
            runs.append(run)
        bench.engine.dispose()
    report(runs, args.data, show=args.show)


def report(runs: list[Run], data: Path, *, show: bool) -> None:
    total = len(runs)
    good = sum(not r.failed for r in runs)
    print(f"conversations: {data} ({total})")
    print(f"reach every expected end state  {good / total:6.1%}  ({good}/{total}; target >= 95%: "
          f"{'met' if good / total >= 0.95 else 'MISSED'})")
    by_kind: dict[str, list[bool]] = {}
    for run in runs:
        by_kind.setdefault(kind_of(run.conversation), []).append(not run.failed)
    for kind, results in sorted(by_kind.items()):
        print(f"  {kind:<14} {sum(results) / len(results):6.1%}  ({sum(results)}/{len(results)})")
    failures = Counter(f.split(" ")[0].rstrip(":") for r in runs for f in r.failed)
    print("failed checks: " + (", ".join(f"{k} {v}" for k, v in failures.most_common()) or "none"))
    extra = sum(1 for r in runs for f in r.failed if f.startswith("tickets_opened") and
                int(f.split()[1]) > int(f.split()[3]))
    missing = sum(1 for r in runs for f in r.failed if f.startswith("tickets_opened") and
                  int(f.split()[1]) < int(f.split()[3]))
    print(f"tickets filed that should not be: {extra}; tickets not filed that should be: {missing}")
    print(f"drafts left open against the script: {failures.get('draft_open', 0)}")
    dangers = [r for r in runs if "emergency_first" in r.conversation["expect"]]
    first_ok = sum(not any(f.startswith("emergency_first") for f in r.failed) for r in dangers)
    print(f"emergency number in the first reply: {first_ok}/{len(dangers)}")
    replies = [reply for r in runs for _, rs in r.turns for reply in rs]
    echoes = [reply for reply in replies if mask_text(reply.text) != reply.text]
    print(f"replies showing a personal number (phone, ID, bank card) unmasked: {len(echoes)}")
    to_ticket = [r.filed_at_turn for r in runs if r.filed_at_turn]
    if to_ticket:
        print(f"citizen messages to a ticket: mean {statistics.mean(to_ticket):.1f}, "
              f"median {statistics.median(to_ticket):.0f} ({len(to_ticket)} tickets)")
    long = [reply for reply in replies if len(reply.text) > SCREEN]
    asks = [reply for reply in replies if reply.text.count("？") > 1]
    print(f"replies: {len(replies)}; longer than {SCREEN} characters: {len(long)} "
          f"(longest {max((len(x.text) for x in replies), default=0)}); asking more than one question: {len(asks)}")
    print(f"by template, the long ones: {dict(Counter(x.template for x in long).most_common(5))}")
    seconds = [s for r in runs for s in r.seconds]
    print(f"cost of a turn (database included): median {statistics.median(seconds) * 1000:.1f} ms, "
          f"p90 {statistics.quantiles(seconds, n=10)[-1] * 1000:.1f} ms")
    if show:
        for run in runs:
            if run.failed:
                print(f"\n--- {run.conversation['id']} {run.conversation.get('note', '')}: {'; '.join(run.failed)}")
                for said, answered in run.turns:
                    print(f"  > {said}")
                    for reply in answered:
                        print("    " + reply.text.replace("\n", "\n    "))


if __name__ == "__main__":
    main()
