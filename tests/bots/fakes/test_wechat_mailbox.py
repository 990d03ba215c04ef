"""The fake WeChat's mailbox: what it accepted, kept in a folder and read back as a follower's chat."""

from __future__ import annotations

from pathlib import Path

from bots.fakes.wechat import FakeWeChat
from bots.fakes.wechat_mailbox import Mailbox
from tickets.clock import utcnow


def test_pushes_come_back_as_the_followers_chat_and_media_survive_the_fake(tmp_path: Path) -> None:
    box = Mailbox(tmp_path / "dev-wechat")
    now = utcnow()
    box.record("/cgi-bin/message/custom/send", {"touser": "oA", "msgtype": "text", "text": {"content": "您好"}}, now)
    box.record("/cgi-bin/message/custom/send", {"touser": "oB", "msgtype": "text", "text": {"content": "别人"}}, now)
    box.record("/cgi-bin/message/template/send", {"touser": "oA", "template_id": "T", "url": "https://x/t/C",
                                                  "data": {"keyword1": {"value": "20261207-0001"},
                                                           "keyword2": {"value": "已受理"}}}, now)
    with (tmp_path / "dev-wechat" / "sent.jsonl").open("a", encoding="utf-8") as damaged:
        damaged.write("{not json\n")
    fake = FakeWeChat("wxapp", "secret", mailbox=box)
    media_id = fake.add_media("image/png", b"\x89PNG-card")
    box.record("/cgi-bin/message/custom/send", {"touser": "oA", "msgtype": "image", "image": {"media_id": media_id}},
               now)
    text, notice, image = box.pushes_to("oA")
    assert (text.kind, text.text) == ("text", "您好")
    assert (notice.kind, notice.title, notice.text, notice.url) == ("notice", "模板消息", "20261207-0001\n已受理",
                                                                    "https://x/t/C")
    assert (image.kind, image.media_id) == ("image", media_id)
    assert FakeWeChat("wxapp", "secret", mailbox=box).media[media_id] == ("image/png", b"\x89PNG-card")  # restarted
    assert box.media("../sent") is None and box.media("missing") is None
