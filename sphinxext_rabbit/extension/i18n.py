"""The extension's own words in the document's language: table titles, column headers,
the legend's labels. A message catalog of its own (``sphinxext_rabbit``), read from the
project's ``locale_dirs`` (where a ``<language>/LC_MESSAGES/sphinxext_rabbit.po`` beside
the project's own catalogs translates them), so that they are not the project's
messages: the project's catalogs hold only what the pages say (captions), whose message
ids then stay the same in every language and build."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from sphinx import locale

if TYPE_CHECKING:
    from sphinx.application import Sphinx

CATALOG = "sphinxext_rabbit"
_translate = locale.get_translation(CATALOG)


def translated(message: str) -> str:
    """*message* in the document's language (itself when no catalog translates it)."""
    return str(_translate(message))


def load_catalogs(app: Sphinx, *args: object) -> None:
    """env-before-read-docs: the catalog for this build's language, once Sphinx has compiled
    the project's .po files; a catalog of an earlier build in this process is dropped."""
    locale.translators.pop(("general", CATALOG), None)
    project_dirs = [os.path.join(app.srcdir, folder) for folder in app.config.locale_dirs]
    locale.init(project_dirs, app.config.language, CATALOG)
