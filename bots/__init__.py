"""Channel adapters and channel-neutral conversations. Handlers return replies; adapters render them.

    intake.py          One inbound message, start to finish, inside one database transaction
    replies.py         Replies the conversations return; adapters render them for their channel
    request.py         The plain request object adapters take, so they are tested from fixture files ...
    sms.py             Text messages to phones: one-time codes for co-signers, and progress for those who ...
    texts.py           Rendering of citizen-facing texts from `templates/messages/`
    alipay/            Alipay's open platform
    conversations/     The chat
    fakes/             Loopback fakes of WeChat, Alipay and SMS
    wechat/            The WeChat Official Account
"""
