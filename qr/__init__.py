"""Signed links (HMAC, expiry, key id) and QR images for joint petitions."""
