"""The domain: tickets, citizens per channel, the lifecycle, the outbox and their storage.

This package imports nothing else of ours; every other package may import it.
"""
