"""The evaluation conversation after a ticket is resolved, on both backends."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.bots.test_intake import T0, message, say
from tickets import progress, repository
from tickets.lifecycle import Status
from tickets.progress import StatusUpdate
from tickets.storage.schema import evaluations, notifications, outbox


def file_and_resolve(engine: Engine, user: str = "oUser123") -> int:
    say(engine, message(text="垃圾桶满了没人清", user=user))
    say(engine, message(text="人民路9号", user=user))
    say(engine, message(text="1", user=user))
    with engine.begin() as conn:
        [ticket] = repository.list_tickets(conn, repository.TicketFilter()).items
        for status in (Status.ACCEPTED, Status.RESOLVED):
            progress.apply_update(conn, ticket.id, StatusUpdate(status, actor="dispatch", note="已清运"),
                                  T0 + timedelta(hours=1))
    return ticket.id


def rows(engine: Engine, table: sa.Table) -> list[sa.Row[tuple[object, ...]]]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(table)).all())


def status_of(engine: Engine, ticket_id: int) -> Status:
    with engine.connect() as conn:
        return repository.get_ticket(conn, ticket_id).status


def test_satisfied_and_solved_closes_the_ticket(engine: Engine) -> None:
    ticket_id = file_and_resolve(engine)
    assert [(n.purpose, n.status) for n in rows(engine, notifications)] == [
        ("progress", "pending"), ("evaluation", "pending")]
    assert "解决了吗" in say(engine, message(text="1"))
    assert "感谢您的评价" in say(engine, message(text="已解决"))
    assert status_of(engine, ticket_id) is Status.CLOSED
    [rating] = rows(engine, evaluations)
    assert (rating.satisfaction, rating.solved, rating.channel) == ("satisfied", True, "wechat")
    # Nothing pending any more: "1" is a plain message again.
    assert "回复“进度”查看办理情况" in say(engine, message(text="1"))


def test_unsatisfied_reopens_with_the_reason_and_tells_dispatch(engine: Engine) -> None:
    ticket_id = file_and_resolve(engine)
    say(engine, message(text="不满意"))
    assert "哪里不满意" in say(engine, message(text="2"))
    assert "重新交办" in say(engine, message(text="垃圾还在，根本没人来"))
    assert status_of(engine, ticket_id) is Status.REOPENED
    with engine.connect() as conn:
        events = repository.timeline(conn, ticket_id)
        topics = [r.topic for r in conn.execute(sa.select(outbox.c.topic)).all()]
    assert events[-1].note == "垃圾还在，根本没人来" and events[-1].actor == "citizen:wechat"
    assert "dispatch.event" in topics


def test_digits_go_to_an_open_draft_but_words_still_rate(engine: Engine) -> None:
    ticket_id = file_and_resolve(engine)
    say(engine, message(text="另外小区门口积水"))
    assert "地点" in say(engine, message(text="3"))  # taken as the new draft's address, not a rating
    assert "解决了吗" in say(engine, message(text="基本满意"))
    assert "感谢" in say(engine, message(text="解决了"))
    assert status_of(engine, ticket_id) is Status.CLOSED


def test_unclear_short_answer_is_asked_again(engine: Engine) -> None:
    file_and_resolve(engine)
    assert "1满意，2基本满意，3不满意" in say(engine, message(text="嗯"))
    assert "问题在哪里" in say(engine, message(text="楼下的路灯又不亮了，晚上看不清路"))


def test_satisfaction_figures(engine: Engine) -> None:
    file_and_resolve(engine, "a")
    say(engine, message(text="1", user="a"))
    say(engine, message(text="1", user="a"))
    with engine.connect() as conn:
        figures = progress.satisfaction_figures(conn)
    assert figures["total"] == 1 and figures["satisfaction_rate"] == 1.0 and figures["solved_rate"] == 1.0
