"""Signed links (HMAC, expiry, key id) and QR images for joint petitions.

    images.py          QR images of a link: a plain PNG, a path-based SVG, and a printable PNG card with a ...
    links.py           Signed joint-petition links: `PUBLIC_BASE_URL/j/{token}`
"""
