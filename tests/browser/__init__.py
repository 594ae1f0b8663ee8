"""Layer 1 of ACCESSIBILITY.md: headless Chromium (Playwright) and axe on every page."""
