"""Static checks of an exported page: its links and script sources, parsed as HTML (a text
search would also find URLs inside the embedded plotly.js, which the page never requests)."""

from __future__ import annotations

from html.parser import HTMLParser


class Links(HTMLParser):
    """Every src/href of the page, and the script tags with a src."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.script_srcs: list[str] = []
        self.handlers: list[str] = []  # on* attributes (inline event handlers)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"{tag} {name}")
            if name in ("src", "href") and value is not None:
                self.urls.append(value)
                if tag == "script" and name == "src":
                    self.script_srcs.append(value)


def page_links(page: str) -> Links:
    """Every ``src``/``href`` of ``page`` and the scripts that have a ``src``."""
    parser = Links()
    parser.feed(page)
    return parser
