"""A real headless Chromium for tests that click, scroll, screenshot or read computed styles.

Debian's ``chromium`` and ``chromium-driver`` (scripts/setup.sh) driven by selenium. Pages
are opened from the build folder through ``file://`` URLs, so links between pages of the
built project work as they do for a reader who opens the files.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return str(found)
    pytest.fail(f"{names[0]} is needed for the browser tests: bash scripts/setup.sh installs it")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """A selenium WebDriver on headless Chromium, 1,280 x 1,000 px, shared by a module."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = _binary("chromium", "chromium-browser")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--no-first-run", "--disable-sync",
                     "--disable-background-networking", "--disable-component-update",
                     "--allow-file-access-from-files", "--window-size=1280,1000",
                     "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(argument)
    service = Service(executable_path=_binary("chromedriver"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def open_page(driver, page: Path) -> None:
    driver.get(page.resolve().as_uri())
