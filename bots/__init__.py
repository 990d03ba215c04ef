"""Channel adapters (WeChat, Alipay, web link) and the channel-neutral conversations.

Handlers return replies; adapters render and send them. Nothing here imports FastAPI.
"""
