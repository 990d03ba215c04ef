"""The FastAPI application and the command line: the composition root of the gateway.

    app.py             The FastAPI application factory
    busy.py            The event loop's database writes (the webhooks' intake) when another process holds the ...
    cli.py             The `petition-gateway` command: serve, migrate, create-api-key, create-user
    deps.py            Request-scoped accessors, the capped body reader, and the bounded types of ids and ...
    errors.py          HTTP status codes for the gateway's exception tree (chosen here and nowhere else)
    health.py          Liveness and readiness
    limits.py          Rate limits of the co-sign pages: fixed windows per scope and key, in Redis or in ...
    pages.py           Jinja2 rendering of HTML pages (autoescaped), sharing labels with the chat messages
    security.py        Keys and seals shared by the web surfaces (co-sign pages, console, mini-program)
    simulator.py       `/dev/wechat`: play the citizen in dev mode (on only with generated, not real, ...
    state.py           What the running application holds: settings, the database engine, channel adapters
    tracking.py        `/t/{code}`: the public progress page of a ticket (no personal data), and its ...
    uploads.py         Uploaded photos: the checks on what a citizen sends, and the folder they are kept in
    webhooks.py        The platforms' webhooks: `/webhooks/wechat` (URL verification, messages and events) ...
    api/               `/api/v1`
    console/           `/console`
    cosign/            `/j/{token}`
    miniapp/           `/api/v1/miniapp`
    open311/           `/open311/v2`
"""
