"""Similar tickets nearby form a cluster; a growing cluster raises warnings; merging tells every reporter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bots.conversations.desk import Desk, DeskConfig
from bots.conversations.draft import Draft
from tickets import clusters, followers, opening, places, progress, repository, warnings, zones
from tickets.clusters import ClusterRule
from tickets.inbox.citizens import CitizenKey, lock_citizen
from tickets.lifecycle import Status
from tickets.outbox import Topic
from tickets.progress import StatusUpdate
from tickets.storage import fastsql
from tickets.storage.schema import notifications, outbox, tickets

CONFIG = DeskConfig(tz=ZoneInfo("Asia/Shanghai"), public_base_url="https://gw.example.cn")
RULE = ClusterRule(radius_m=500, window_hours=72, recent_limit=100, warning_sizes=(2, 3, 5))
T0 = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)
HERE = (34.7500, 113.6200)
NEAR = (34.7520, 113.6210)  # about 240 m away
FAR = (34.8000, 113.7000)  # about 9 km away
LAMP = ["幸福小区3号楼门口的路灯坏了，晚上很黑", "幸福小区3号楼那儿路灯坏了好几天了，晚上太黑",
        "幸福小区3号楼门口灯不亮了，晚上走路看不见", "俺们幸福小区3号楼跟前的路灯一直黑着",
        "幸福小区三号楼门口的灯坏了，晚上很危险"]


def file(engine: Engine, text: str, where: tuple[float, float] | None = HERE, *, user: str,
         at: datetime = T0, zone: str = "") -> int:
    with engine.begin() as conn:
        citizen = lock_citizen(conn, CitizenKey("wechat", "gh", user), at)
        draft = Draft(description=text,
                      location={"latitude": where[0], "longitude": where[1], "label": ""} if where else None)
        ticket_id = Desk(conn, CONFIG, at).open_ticket(citizen, draft).id
        if zone:
            zones.set_zone(conn, ticket_id, zone)
        return ticket_id


def sweep(engine: Engine, now: datetime = T0 + timedelta(minutes=1)) -> int:
    with engine.begin() as conn:
        return clusters.sweep(conn, RULE, now)


def cluster_of(engine: Engine, ticket_id: int) -> int | None:
    with engine.connect() as conn:
        found, _ = clusters.list_clusters(conn)
    return next((c.id for c in found if ticket_id in {m.ticket_id for m in c.members}), None)


def test_helpers() -> None:
    assert 230 < clusters.haversine_m(*HERE, *NEAR) < 260
    assert 8000 < clusters.haversine_m(*HERE, *FAR) < 10000


def test_the_same_problem_at_the_same_place_clusters_and_others_do_not(engine: Engine) -> None:
    first = file(engine, LAMP[0], user="o1", zone="housing_delivery")
    second = file(engine, LAMP[1], NEAR, user="o2", at=T0 + timedelta(minutes=1), zone="winter_heating")
    far = file(engine, LAMP[2], FAR, user="o3")  # the same words 9 km away: another 幸福小区
    other_problem = file(engine, "幸福小区3号楼门口垃圾没人清理，很臭", user="o4")
    other_place = file(engine, "阳光小区5号楼门口的路灯坏了，晚上很黑", None, user="o5")
    late = file(engine, LAMP[4], user="o6", at=T0 + timedelta(hours=80))
    assert sweep(engine) == 6
    assert sweep(engine) == 0  # each ticket is compared once
    assert cluster_of(engine, first) is not None and cluster_of(engine, first) == cluster_of(engine, second)
    for alone in (far, other_problem, other_place, late):  # `late`: its matches are older than the time window
        assert cluster_of(engine, alone) is None, alone
    with engine.connect() as conn:
        [found] = clusters.list_clusters(conn)[0]
    assert all(m.reasons for m in found.members if m.ticket_id == second)  # each member says why


def test_typed_addresses_stand_in_for_coordinates(engine: Engine) -> None:
    first = file(engine, "金水区农业路12号门口的路灯坏了", None, user="o1")
    second = file(engine, "农业路12号那里路灯晚上不亮", None, user="o2")
    sweep(engine)
    assert cluster_of(engine, first) == cluster_of(engine, second) is not None


def test_cluster_warning_raised_once_per_level(engine: Engine) -> None:
    ids = [file(engine, LAMP[0], user="o0")]
    sweep(engine)
    for n, text in enumerate(LAMP[1:3], start=1):
        ids.append(file(engine, text, user=f"o{n}"))
        sweep(engine)
    sweep(engine)
    with engine.connect() as conn:
        raised, total = warnings.list_warnings(conn)
        queued = conn.execute(sa.select(sa.func.count()).select_from(outbox)
                              .where(outbox.c.topic == Topic.WARNING)).scalar_one()
    cluster_id = cluster_of(engine, ids[0])
    assert total == 2 and queued == 2
    assert sorted((w.subject, w.kind, w.level) for w in raised) == [
        (f"cluster:{cluster_id}", "cluster", 1), (f"cluster:{cluster_id}", "cluster", 2)]
    assert max(raised, key=lambda w: w.level).figures["tickets"] == 3


def test_merge_tells_every_reporter_of_the_primary_progress(engine: Engine) -> None:
    ids = [file(engine, text, user=f"o{n}") for n, text in enumerate(LAMP[:3])]
    sweep(engine)
    cluster_id = cluster_of(engine, ids[0])
    assert cluster_id is not None
    with engine.begin() as conn:
        follower = lock_citizen(conn, CitizenKey("wechat", "gh", "oFollower"), T0)
        followers.follow(conn, ids[2], follower.id, T0)  # follows a ticket that gets merged
        merged = clusters.merge(conn, cluster_id, actor="api:officer", note=lambda n: f"并入 {n}", now=T0)
    assert merged.status == clusters.MERGED and merged.primary_ticket_id == ids[0]
    assert [m.status for m in merged.members] == [Status.RECEIVED, Status.MERGED, Status.MERGED]
    with engine.begin() as conn:
        primary = repository.get_ticket(conn, ids[0])
        reporters = [repository.get_ticket(conn, i).citizen_id for i in ids]
        assert progress.audience(conn, primary) == [*reporters, follower.id]
        progress.apply_update(conn, ids[0], StatusUpdate(Status.ACCEPTED, actor="unit", note="已派人维修"), T0)
        told = conn.execute(sa.select(notifications.c.citizen_id, notifications.c.ticket_id, notifications.c.payload)
                            .order_by(notifications.c.id)).all()
    merged_notes = [(r.citizen_id, r.payload["status"]) for r in told if r.ticket_id != ids[0]]
    assert merged_notes == [(reporters[1], "merged"), (reporters[2], "merged"), (follower.id, "merged")]
    assert all(r.payload["note"] == f"并入 {primary.number}" for r in told if r.ticket_id != ids[0])
    assert sorted(r.citizen_id for r in told if r.ticket_id == ids[0]) == sorted([*reporters, follower.id])


def test_a_ticket_routed_after_its_commit_is_compared_once_routed(engine: Engine) -> None:
    with engine.begin() as conn:
        citizen = lock_citizen(conn, CitizenKey("wechat", "gh", "oLater1"), T0)
        draft = Draft(description=LAMP[0], location={"latitude": HERE[0], "longitude": HERE[1], "label": ""})
        later = Desk(conn, CONFIG, T0).open_ticket(citizen, draft, route_later=True).id
    assert sweep(engine) == 0  # its matter and place are read when it is routed (by a worker)
    with engine.begin() as conn:
        opening.route_opened(conn, later, CONFIG.opening, T0 + timedelta(minutes=1))
    assert sweep(engine, T0 + timedelta(minutes=2)) == 1


def test_a_ticket_not_routed_for_long_is_compared_without_it(engine: Engine) -> None:
    with engine.begin() as conn:
        citizen = lock_citizen(conn, CitizenKey("wechat", "gh", "oLater2"), T0)
        draft = Draft(description=LAMP[1], location={"latitude": HERE[0], "longitude": HERE[1], "label": ""})
        Desk(conn, CONFIG, T0).open_ticket(citizen, draft, route_later=True)
    assert sweep(engine, T0 + opening.ROUTING_WAIT - timedelta(seconds=1)) == 0
    assert sweep(engine, T0 + opening.ROUTING_WAIT + timedelta(seconds=1)) == 1  # the workers are down


def test_a_ticket_not_routed_yet_is_compared_by_the_place_its_routing_will_keep(engine: Engine) -> None:
    texts = [("农业路12号幸福小区3号楼下水道堵了，污水漫到路上", "oKeys1"), ("幸福小区5号楼门口下水道堵了", "oKeys2"),
             ("幸福小区3号楼那里下水道又堵了", "oKeys3")]
    ids = []
    with engine.begin() as conn:
        for text, user in texts:
            citizen = lock_citizen(conn, CitizenKey("wechat", "gh", user), T0)
            ids.append(Desk(conn, CONFIG, T0).open_ticket(citizen, Draft(description=text), route_later=True).id)
    probe = clusters.Probe("幸福小区3号楼下水道堵塞，脏水到处都是", place="金水区农业路12号幸福小区",
                           keys=places.place_of("金水区农业路12号幸福小区 幸福小区3号楼下水道堵塞").keys)

    def verdicts() -> list[tuple[int, tuple[str, ...]]]:
        with engine.connect() as conn:
            return [(m.ticket_id, m.why) for m in clusters.find_similar(conn, probe, RULE, T0 + timedelta(minutes=1))]

    unrouted = verdicts()
    with engine.begin() as conn:
        for ticket_id in ids:
            opening.route_opened(conn, ticket_id, CONFIG.opening, T0)
    # Building 5 is another place than building 3 of the same compound, routed or not.
    assert unrouted == verdicts() and [t for t, _ in unrouted] == [ids[2], ids[0]]


def _offer(engine: Engine, probe: clusters.Probe, at: datetime, *, limit: int, fresh_within_s: float = 0.0
           ) -> set[int]:
    with engine.connect() as conn:
        return {m.ticket_id for m in clusters.find_similar(conn, probe, RULE, at, limit=limit,
                                                            fresh_within_s=fresh_within_s)}


def test_the_chat_offer_rereads_only_the_tickets_opened_since_its_last_read(engine: Engine) -> None:
    probe = clusters.Probe(LAMP[3], latitude=NEAR[0], longitude=NEAR[1])
    first = file(engine, LAMP[0], user="o1")
    assert _offer(engine, probe, T0 + timedelta(minutes=1), limit=5, fresh_within_s=60) == {first}
    second = file(engine, LAMP[1], NEAR, user="o2", at=T0 + timedelta(minutes=2))
    # Within the minute the first read is kept and the new ticket read on top of it.
    assert _offer(engine, probe, T0 + timedelta(minutes=3), limit=5, fresh_within_s=60) == {first, second}


def test_the_offer_looks_for_open_tickets_among_the_newest_opened(engine: Engine) -> None:
    lamp = file(engine, LAMP[0], user="o1")
    others = [file(engine, f"人民路{n}号门口垃圾没人清理", None, user=f"p{n}") for n in range(clusters.SCAN_FACTOR)]
    with engine.begin() as conn:  # answered at once: newer than the lamp, and not open
        conn.execute(sa.update(tickets).where(tickets.c.id.in_(others)).values(status=Status.CLOSED.value))
    probe = clusters.Probe(LAMP[1], latitude=NEAR[0], longitude=NEAR[1])
    at = T0 + timedelta(minutes=1)
    assert _offer(engine, probe, at, limit=2) == {lamp}  # the lamp is among the 20 newest
    assert _offer(engine, probe, at, limit=1) == set()  # not among the 10 newest, all closed


def test_the_offer_reads_by_id_whatever_the_planner_knows(engine: Engine) -> None:
    """On every confirmed place the chat's offer reads the newest tickets. Without statistics (SQLite keeps none
    unless ANALYZE runs; PostgreSQL before its first analyze) a filter on status and time in that read made the
    planner take the (status, created_at) index: every open ticket of the window read and sorted each time."""
    with engine.connect() as conn:
        pg = engine.dialect.name == "postgresql"
        text = clusters._NEWER.postgresql if pg else clusters._NEWER.sqlite  # noqa: SLF001 - the statement itself
        params = (0, 2**62, 600, fastsql.bind_time(pg, T0 - timedelta(hours=72)), fastsql.bind_time(pg, T0), 60)
        driver = conn.connection.driver_connection
        plan = " ".join(str(row) for row in driver.execute(("EXPLAIN " if pg else "EXPLAIN QUERY PLAN ") + text,
                                                           params).fetchall())
    assert "ix_tickets_status_created_at" not in plan, plan
