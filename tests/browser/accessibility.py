"""Accessibility checks run in the page: labels of form fields, keyboard reach, WCAG contrast of text colours."""

from __future__ import annotations

import re

from playwright.sync_api import Page

_RGB = re.compile(r"rgba?\(\s*(\d+),\s*(\d+),\s*(\d+)(?:,\s*([\d.]+))?\s*\)")

# Form fields a person fills in, and whether each has a name a screen reader reads (label or aria-label).
UNLABELLED_FIELDS = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden')
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
  .map(el => el.name || el.id || el.outerHTML.slice(0, 60))"""

# The effective colours of an element: its text colour and the first opaque background behind it.
COLOURS = """(selector) => { const el = document.querySelector(selector); if (!el) return null;
  let bg = null; for (let n = el; n; n = n.parentElement) { const c = getComputedStyle(n).backgroundColor;
    if (c && c !== 'transparent' && !c.startsWith('rgba(0, 0, 0, 0)')) { bg = c; break; } }
  const s = getComputedStyle(el);
  return {fg: s.color, bg: bg || 'rgb(255, 255, 255)', size: parseFloat(s.fontSize), weight: s.fontWeight}; }"""


def _rgb(css: str) -> tuple[int, int, int]:
    found = _RGB.match(css)
    assert found, f"not an rgb colour: {css}"
    return int(found.group(1)), int(found.group(2)), int(found.group(3))


def luminance(css: str) -> float:
    """WCAG 2 relative luminance of an `rgb(...)` colour."""
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(v) for v in _rgb(css))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two colours (1 to 21)."""
    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def text_contrast(page: Page, selector: str) -> tuple[float, float]:
    """The contrast ratio of the element's text against its background, and its font size in px."""
    found = page.evaluate(COLOURS, selector)
    assert found is not None, f"{selector} is not on {page.url}"
    return contrast(found["fg"], found["bg"]), float(found["size"])


def unlabelled_fields(page: Page) -> list[str]:
    """Names of visible form fields without a label."""
    result: list[str] = page.evaluate(UNLABELLED_FIELDS)
    return result


def tabs_to(page: Page, selector: str, limit: int = 15) -> int:
    """Press Tab from the top of the page until `selector` has focus; the number of presses (fails past limit)."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    target = page.locator(selector)
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return presses
    raise AssertionError(f"Tab never reached {selector} in {limit} presses")
