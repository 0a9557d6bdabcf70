"""Headless Chromium for the browser tests: Debian's `chromium` (scripts/install-browser.sh puts it
there; `PAYREQ_CHROMIUM` may name another), driven by Playwright's bundled driver. Playwright's own
browser downloads are never used."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

# Headless, and quiet: no first-run UI, no background calls home, no QUIC to local servers.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_executable() -> Path:
    configured = os.environ.get("PAYREQ_CHROMIUM")
    found = configured or shutil.which("chromium")
    if not found or not os.access(found, os.X_OK):
        raise FileNotFoundError(
            f"no Chromium at {configured!r}" if configured else "no `chromium` on PATH: run scripts/install-browser.sh"
        )
    return Path(found)


def launch(playwright: Playwright) -> Browser:
    """Chromium on a fresh profile (Playwright makes a throwaway user-data dir per launch); each
    `browser.new_context()` is then a separate person with their own cookies, as a second browser is."""
    return playwright.chromium.launch(executable_path=chromium_executable(), args=list(CHROMIUM_ARGS), headless=True)
