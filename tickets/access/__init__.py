"""Who may do what: officers, API keys, console sessions, texted codes.

    apikeys.py         API keys with roles for the JSON API
    officers.py        Officers who sign in to the console: roles, argon2id password hashes, lock-out after ...
    otp.py             One-time codes texted to a phone to prove it (co-signers outside WeChat and Alipay)
    sessions.py        Server-side sessions of console users: the cookie carries a random token, the table ...
"""
