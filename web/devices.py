"""A short, human description of a browser from its User-Agent, for "my sessions"."""

from __future__ import annotations

BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("SamsungBrowser", "Samsung Internet"),
            ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Chromium/", "Chromium"),
            ("Safari/", "Safari"))
SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"),
           ("Windows", "Windows"), ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"),
           ("Linux", "Linux"))


def describe_device(user_agent: str | None) -> str | None:
    """"Firefox, Windows" — or None when nothing is recognisable."""
    if not user_agent:
        return None
    browser = next((name for marker, name in BROWSERS if marker in user_agent), None)
    system = next((name for marker, name in SYSTEMS if marker in user_agent), None)
    parts = [part for part in (browser, system) if part]
    return ", ".join(parts) or None
