"""Petitions and signatures on both backends: counters, one signature per identity, surges, warnings."""

from __future__ import annotations

import importlib.util
import re
import threading
import time
from datetime import timedelta
from types import ModuleType
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.engine import Engine

from tickets import outbox, petitions, progress, warnings
from tickets.clock import utcnow
from tickets.errors import NotFound, PetitionClosed
from tickets.inbox.citizens import CitizenKey, lock_citizen
from tickets.lifecycle import Status
from tickets.outbox import Topic
from tickets.petitions import Signer, SurgeRule
from tickets.progress import StatusUpdate
from tickets.repository import NewTicket, open_ticket
from tickets.storage.db import MIGRATIONS
from tickets.storage.schema import notifications, signatures
from tickets.storage.schema import petitions as petitions_table

KEY = b"k" * 32
TZ = ZoneInfo("Asia/Shanghai")


def _ticket(conn: sa.Connection, citizen_id: int | None = None) -> int:
    new = NewTicket(channel="wechat", citizen_id=citizen_id,
                    description="小区楼下垃圾站夏天臭味严重，影响周边几百户居民生活", address="幸福路1号")
    return open_ticket(conn, new, utcnow(), TZ).id


def _ticket_about(conn: sa.Connection, description: str) -> int:
    return open_ticket(conn, NewTicket(channel="wechat", citizen_id=None, description=description), utcnow(), TZ).id


def _signer(n: int, **kw: object) -> Signer:
    return Signer(identity=petitions.identity_of(KEY, "sms", f"1380000{n:04d}"), channel="sms", **kw)  # type: ignore[arg-type]


def test_start_is_once_per_ticket_and_the_representative_signs_first(engine: Engine) -> None:
    now = utcnow()
    with engine.begin() as conn:
        rep = lock_citizen(conn, CitizenKey("wechat", "gh_x", "o-rep"), now)
        ticket_id = _ticket(conn, rep.id)
        signer = Signer(petitions.identity_of(KEY, "wechat", "o-rep"), "wechat", rep.id, consent=True)
        petition, created = petitions.start(conn, ticket_id, now=now, days=30, representative=signer)
        again, created_again = petitions.start(conn, ticket_id, now=now, days=30)
    assert created and not created_again and again.id == petition.id
    assert petition.signature_count == 1 and petition.representative_id == rep.id
    assert petition.title.endswith("…") and len(petition.title) == petitions.TITLE_CHARS
    assert petition.wechat_scene == f"petition:{petition.id}"
    assert petition.expires_at - now == timedelta(days=30)
    with engine.connect() as conn:
        assert petitions.by_scene(conn, petition.wechat_scene).id == petition.id  # type: ignore[union-attr]
        with pytest.raises(NotFound):
            petitions.start(conn, 999_999, now=now, days=30)


def test_one_signature_per_identity_withdraw_and_sign_again(engine: Engine) -> None:
    now = utcnow()
    with engine.begin() as conn:
        petition, _ = petitions.start(conn, _ticket(conn), now=now, days=30)
        first = petitions.sign(conn, petition.id, _signer(1), now=now, surge=SurgeRule(), thresholds=[])
        twice = petitions.sign(conn, petition.id, _signer(1), now=now, surge=SurgeRule(), thresholds=[])
    assert first.signed and first.signature_count == 1
    assert not twice.signed and twice.signature_count == 1
    with engine.begin() as conn:
        assert petitions.withdraw(conn, petition.id, _signer(1).identity, now)
        assert not petitions.withdraw(conn, petition.id, _signer(1).identity, now)
        assert petitions.get(conn, petition.id).signature_count == 0
        back = petitions.sign(conn, petition.id, _signer(1), now=now, surge=SurgeRule(), thresholds=[])
        assert back.signed and back.signature_count == 1
        assert conn.execute(sa.select(sa.func.count()).select_from(signatures)).scalar_one() == 1


def test_closed_and_expired_petitions_take_no_signature(engine: Engine) -> None:
    now = utcnow()
    with engine.begin() as conn:
        closed, _ = petitions.start(conn, _ticket(conn), now=now, days=30)
        petitions.close(conn, closed.id, now)
        short, _ = petitions.start(conn, _ticket(conn), now=now - timedelta(days=2), days=1)
    for petition_id, status in ((closed.id, "closed"), (short.id, "expired")):
        with engine.begin() as conn, pytest.raises(PetitionClosed) as caught:
            petitions.sign(conn, petition_id, _signer(2), now=now, surge=SurgeRule(), thresholds=[])
        assert caught.value.status == status
    with engine.begin() as conn:
        assert petitions.expire_due(conn, now) == 1
        assert petitions.get(conn, short.id).status == "expired"
        assert conn.execute(sa.select(sa.func.count()).select_from(signatures)).scalar_one() == 0


def test_a_petition_closed_while_a_signer_waits_for_its_counter_takes_no_signature(engine: Engine) -> None:
    """PostgreSQL (SQLite has one writer): the signer's statement reads the petition open, then waits for the counter
    row that a closing transaction holds; once that commits, the signature is refused and nothing of it stays."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's writers take the database's one lock before they read")
    now = utcnow()
    with engine.begin() as conn:
        petition, _ = petitions.start(conn, _ticket(conn), now=now, days=30)
        count = petitions.get(conn, petition.id).signature_count
    outcome: list[BaseException | petitions.SignOutcome] = []

    def sign() -> None:
        try:
            with engine.begin() as conn:
                outcome.append(petitions.sign(conn, petition.id, _signer(7), now=now, surge=SurgeRule(), thresholds=[]))
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            outcome.append(exc)

    with engine.connect() as closer:
        closing = closer.begin()
        petitions.close(closer, petition.id, now)  # holds the petition's row until it commits
        signer = threading.Thread(target=sign)
        signer.start()
        with engine.connect() as watcher:  # the signer waits on that row's lock
            waited = 0.0
            while not watcher.execute(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND state = 'active'"
                    " AND query LIKE 'WITH p AS%'")).scalar_one():
                assert waited < 10 and signer.is_alive(), outcome
                time.sleep(0.02)
                waited += 0.02
        closing.commit()
    signer.join(10)
    [result] = outcome
    assert isinstance(result, PetitionClosed) and result.status == "closed", result
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(signatures)
                            .where(signatures.c.identity == _signer(7).identity)).scalar_one() == 0
        assert petitions.get(conn, petition.id).signature_count == count


def test_surge_from_one_block_is_flagged_counted_apart_and_raises_nothing(engine: Engine) -> None:
    now = utcnow()
    surge = SurgeRule(per_block=3, per_device=100)
    with engine.begin() as conn:
        petition, _ = petitions.start(conn, _ticket(conn), now=now, days=30)
        outcomes = [petitions.sign(conn, petition.id, _signer(n, source_block="blockA"), now=now, surge=surge,
                                   thresholds=[5]) for n in range(8)]
    assert [o.flagged for o in outcomes] == [False] * 3 + [True] * 5
    assert outcomes[-1].signature_count == 3 and outcomes[-1].flagged_count == 5
    with engine.connect() as conn:
        assert warnings.list_warnings(conn)[1] == 0  # 8 signatures, but only 3 trusted: below 5
        flagged = petitions.list_signatures(conn, petition.id, flagged=True)
    assert len(flagged) == 5 and {s.flag_reason for s in flagged} == {"source_block"}
    with engine.begin() as conn:
        assert petitions.review(conn, petition.id, flagged[0].id, accept=True, now=now)
        assert not petitions.review(conn, petition.id, flagged[0].id, accept=True, now=now)
        assert petitions.review(conn, petition.id, flagged[1].id, accept=False, now=now)
        after = petitions.get(conn, petition.id)
    assert (after.signature_count, after.flagged_count) == (4, 3)


def test_thresholds_raise_each_level_once_with_an_outbox_row(engine: Engine) -> None:
    now = utcnow()
    with engine.begin() as conn:
        petition, _ = petitions.start(conn, _ticket(conn), now=now, days=30)
        for n in range(6):
            petitions.sign(conn, petition.id, _signer(n), now=now, surge=SurgeRule(), thresholds=[2, 4, 50])
        petitions.withdraw(conn, petition.id, _signer(0).identity, now)
        petitions.sign(conn, petition.id, _signer(0), now=now, surge=SurgeRule(), thresholds=[2, 4, 50])
        found, total = warnings.list_warnings(conn)
        rows = outbox.due(conn, now)
    assert total == 2 and sorted(w.level for w in found) == [1, 2]
    assert {w.figures["threshold"] for w in found} == {2, 4}
    assert sorted(r.payload["warning_id"] for r in rows if r.topic == Topic.WARNING) == sorted(w.id for w in found)
    with engine.begin() as conn:
        acked = warnings.acknowledge(conn, found[0].id, by="officer:1", note="已安排", now=now)
        again = warnings.acknowledge(conn, found[0].id, by="officer:2", note="", now=now)
        assert warnings.list_warnings(conn, acknowledged=False)[1] == 1
    assert acked.acknowledged_by == again.acknowledged_by == "officer:1"


def test_velocity_against_the_petitions_own_rate(engine: Engine) -> None:
    now = utcnow()
    with engine.begin() as conn:
        petition, _ = petitions.start(conn, _ticket(conn), now=now - timedelta(days=3), days=30)
        # A steady 2 per hour over the day before, then 12 in the last hour: 12 >= 3 x 2 and >= 10.
        for n in range(48):
            petitions.sign(conn, petition.id, _signer(n), now=now - timedelta(hours=25) + timedelta(minutes=30 * n),
                           surge=SurgeRule(), thresholds=[])
        assert warnings.scan_velocity(conn, now, levels=[10, 30], factor=3.0) == []
        for n in range(100, 112):
            petitions.sign(conn, petition.id, _signer(n), now=now - timedelta(minutes=n - 99),
                           surge=SurgeRule(), thresholds=[])
        raised = warnings.scan_velocity(conn, now, levels=[10, 30], factor=3.0)
        assert warnings.scan_velocity(conn, now, levels=[10, 30], factor=3.0) == []
        found = warnings.get(conn, raised[0])
    assert len(raised) == 1 and found.kind == "velocity" and found.level == 1
    assert found.figures["last_hour"] == 12 and found.figures["baseline_per_hour"] == 2.0


def test_consenting_co_signers_hear_of_progress_and_withdrawn_ones_do_not(engine: Engine) -> None:
    now = utcnow()
    with engine.begin() as conn:
        rep = lock_citizen(conn, CitizenKey("wechat", "gh_x", "o-rep"), now)
        ids = [lock_citizen(conn, CitizenKey("wechat", "gh_x", f"o-{n}"), now).id for n in range(4)]
        ticket_id = _ticket(conn, rep.id)
        rep_signer = Signer(petitions.identity_of(KEY, "wechat", "o-rep"), "wechat", rep.id, consent=True)
        petition, _ = petitions.start(conn, ticket_id, now=now, days=30, representative=rep_signer)
        for n, citizen_id in enumerate(ids):
            signer = Signer(petitions.identity_of(KEY, "wechat", f"o-{n}"), "wechat", citizen_id, consent=n != 3)
            petitions.sign(conn, petition.id, signer, now=now, surge=SurgeRule(), thresholds=[])
        petitions.withdraw(conn, petition.id, petitions.identity_of(KEY, "wechat", "o-2"), now)
        progress.apply_update(conn, ticket_id, StatusUpdate(Status.ACCEPTED, actor="t", note="已受理"), now)
        told = sorted(r.citizen_id for r in conn.execute(sa.select(notifications.c.citizen_id)))
    assert told == sorted([rep.id, ids[0], ids[1]])


def test_only_the_filer_is_asked_to_rate_and_co_signers_hear_it_is_resolved(engine: Engine) -> None:
    now = utcnow()
    with engine.begin() as conn:
        rep = lock_citizen(conn, CitizenKey("wechat", "gh_x", "o-rep"), now)
        other = lock_citizen(conn, CitizenKey("wechat", "gh_x", "o-other"), now)
        ticket_id = _ticket(conn, rep.id)
        petition, _ = petitions.start(conn, ticket_id, now=now, days=30)
        signer = Signer(petitions.identity_of(KEY, "wechat", "o-other"), "wechat", other.id, consent=True)
        petitions.sign(conn, petition.id, signer, now=now, surge=SurgeRule(), thresholds=[])
        for status in (Status.ACCEPTED, Status.RESOLVED):
            progress.apply_update(conn, ticket_id, StatusUpdate(status, actor="t", note="已修复"), now)
        told = set(conn.execute(sa.select(notifications.c.citizen_id, notifications.c.purpose)).all())
        data = dict(conn.execute(sa.text("SELECT id, dialog_data FROM citizens")).all())
    assert told == {(rep.id, "progress"), (other.id, "cosigned_progress"), (rep.id, "evaluation")}
    assert "evaluation" not in str(data[other.id])


# A description whose number the 20-character title cuts in the middle, and one the title holds whole.
CUT_ID = "身份证410105199001011234被冒用办了营业执照"
WHOLE_PHONE = "电话13812345678路灯不亮"


def _no_long_digit_run(title: str) -> bool:
    return re.search(r"\d{7}", title) is None


def test_titles_are_masked_before_they_are_cut(engine: Engine) -> None:
    now = utcnow()
    with engine.begin() as conn:
        cut, _ = petitions.start(conn, _ticket_about(conn, CUT_ID), now=now, days=30)
        whole, _ = petitions.start(conn, _ticket_about(conn, WHOLE_PHONE), now=now, days=30)
        given, _ = petitions.start(conn, _ticket_about(conn, "井盖丢失"), now=now, days=30,
                                   title="请回电 139 1234 5678")
        stored = conn.execute(sa.select(petitions_table.c.title).order_by(petitions_table.c.id)).scalars().all()
    assert cut.title == "身份证410105********12…" and whole.title == "电话138****5678路灯不亮"
    assert given.title == "请回电 139 **** 5678"
    assert stored == [cut.title, whole.title, given.title]  # stored masked, not only shown masked


def test_a_title_stored_unmasked_is_shown_masked(engine: Engine) -> None:
    now = utcnow()
    with engine.begin() as conn:
        petition, _ = petitions.start(conn, _ticket_about(conn, WHOLE_PHONE), now=now, days=30)
        conn.execute(sa.update(petitions_table).values(title=WHOLE_PHONE))
        assert petitions.get(conn, petition.id).title == "电话138****5678路灯不亮"
        assert [p.title for p in petitions.list_petitions(conn)[0]] == ["电话138****5678路灯不亮"]


def _migration(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, MIGRATIONS / "versions" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_masks_titles_already_stored(engine: Engine) -> None:
    now = utcnow()
    with engine.begin() as conn:
        ids = [petitions.start(conn, _ticket_about(conn, text), now=now, days=30)[0].id
               for text in (CUT_ID, WHOLE_PHONE, "井盖丢失", "垃圾站臭味")]
        legacy = ["身份证4101051990010112…", "电话13812345678路灯不亮", "井盖丢了，王先生13912345678", "垃圾站臭味"]
        for petition_id, title in zip(ids, legacy, strict=True):
            conn.execute(sa.update(petitions_table).where(petitions_table.c.id == petition_id)
                         .values(title=title, wechat_media_id="media-with-the-old-title", wechat_media_at=now))
        with Operations.context(MigrationContext.configure(conn)):
            _migration("0009_petition_titles_masked").upgrade()
        rows = conn.execute(sa.select(petitions_table.c.title, petitions_table.c.wechat_media_id)
                            .order_by(petitions_table.c.id)).all()
    assert [r.title for r in rows] == ["身份证410105********12…", "电话138****5678路灯不亮",
                                       "井盖丢了，王先生139****5678", "垃圾站臭味"]
    assert all(_no_long_digit_run(r.title) for r in rows)
    assert [r.wechat_media_id for r in rows] == ["", "", "", "media-with-the-old-title"]  # redrawn when changed


@pytest.mark.parametrize(("written", "masked"), [
    ("电话 139 1234 5678", "电话 139 **** 5678"), ("+86 137-1234-5678", "+86 137-****-5678"),
    ("１３９１２３４５６７８", "１３９****５６７８"), ("410105 19900101 1234", "410105 ******** 1234"),
    ("0371-6123 4567", "0371-**** 4567"), ("6222 0212 3456 7890", "**** **** **** 7890"),
    ("工单20261203-0042，3000元，12号楼3单元502", "工单20261203-0042，3000元，12号楼3单元502"),
])
def test_the_migrations_own_copy_of_the_masking(written: str, masked: str) -> None:
    """The migration cannot import tickets/masking.py (storage is a leaf); its copy masks as mask_text did."""
    assert _migration("0009_petition_titles_masked").mask_text(written) == masked


def _move(conn: sa.Connection, ticket_id: int, *statuses: Status) -> None:
    for status in statuses:
        progress.apply_update(conn, ticket_id, StatusUpdate(status, actor="dispatch"), utcnow())


def _sign_one(conn: sa.Connection, petition_id: int, n: int) -> None:
    petitions.sign(conn, petition_id, _signer(n), now=utcnow(), surge=SurgeRule(), thresholds=[])


def test_a_petition_closes_with_its_ticket(engine: Engine) -> None:
    """Resolved: still open (the filer's rating may reopen it); closed, rejected, merged: closed with a reason."""
    with engine.begin() as conn:
        rated, rejected, merged = (_ticket(conn) for _ in range(3))
        made = {t: petitions.start(conn, t, now=utcnow(), days=30)[0].id for t in (rated, rejected, merged)}
        _move(conn, rated, Status.ACCEPTED, Status.RESOLVED)
        _sign_one(conn, made[rated], 1)  # resolved, not rated yet: the rating may reopen it
        progress.evaluate(conn, rated, channel="wechat", satisfaction=progress.Satisfaction.SATISFIED, solved=True,
                          reason="", now=utcnow())
        _move(conn, rejected, Status.REJECTED)
        _move(conn, merged, Status.MERGED)
    with engine.begin() as conn:
        for ticket_id, reason in ((rated, "ticket_closed"), (rejected, "ticket_rejected"), (merged, "ticket_merged")):
            petition = petitions.get(conn, made[ticket_id])
            assert (petition.status, petition.closed_reason) == (petitions.CLOSED, reason)
            assert petition.closed_at is not None
            with pytest.raises(PetitionClosed):
                _sign_one(conn, petition.id, 2)


def test_an_unsatisfied_rating_keeps_it_open_and_a_reopened_ticket_reopens_what_closed_with_it(
        engine: Engine) -> None:
    with engine.begin() as conn:
        unhappy, closed, by_rep = (_ticket(conn) for _ in range(3))
        made = {t: petitions.start(conn, t, now=utcnow(), days=30)[0].id for t in (unhappy, closed, by_rep)}
        for ticket_id in made:
            _move(conn, ticket_id, Status.ACCEPTED, Status.RESOLVED)
        progress.evaluate(conn, unhappy, channel="web", satisfaction=progress.Satisfaction.UNSATISFIED, solved=False,
                          reason="还是很臭", now=utcnow())
        petitions.close(conn, made[by_rep], utcnow())  # its representative ended it before
        for ticket_id in (closed, by_rep):
            _move(conn, ticket_id, Status.CLOSED, Status.REOPENED)
    with engine.connect() as conn:
        states = {t: (p.status, p.closed_reason) for t in made if (p := petitions.get(conn, made[t]))}
    assert states == {unhappy: (petitions.OPEN, ""), closed: (petitions.OPEN, ""),
                      by_rep: (petitions.CLOSED, petitions.BY_REPRESENTATIVE)}
