"""One escaping rule: data rendered through Markdown, HTML or plotly text shows as its text."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

from incident_lib.escape import (
    md,
    md_block,
    md_code,
    md_escape,
    plot_text,
    safe_html,
    safe_output_html,
    text_html,
)
from tests.security.hostile import VECTORS

PAYLOADS = [v.payload for v in VECTORS] + [
    "a `b` ``c``",
    "# heading\n- item\n1. one\n> quote",
    "| a | b |\n|---|---|",
    "&lt;script&gt; &amp; &#60;",
    "line one\n\n    indented code\n<b>",
    "**bold** _it_ ~~del~~ \\*",
    "{{ jinja }} ${x} %{y}",
]


def render(markdown: str) -> str:
    """Markdown as nbconvert's HTML exporter renders it (mistune, raw HTML passed through)."""
    renderer = IPythonRenderer(escape=False, anchor_link_text="¶")
    return MarkdownWithMath(renderer=renderer).render(markdown)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(fragment: str) -> _Tags:
    parser = _Tags()
    parser.feed(fragment)
    parser.close()
    return parser


@pytest.mark.parametrize("payload", PAYLOADS)
def test_md_escape_renders_as_exactly_its_text(payload: str) -> None:
    out = parsed(render(f"Reason: {md_escape(payload)} (end)"))
    assert out.tags == ["p"]
    assert out.attrs == []
    expected = "Reason: " + re.sub(r"\r\n|\r|\n", " ", payload) + " (end)"
    assert "".join(out.text).strip() == expected


@pytest.mark.parametrize("payload", PAYLOADS)
def test_md_escape_holds_in_headings_list_items_and_table_cells(payload: str) -> None:
    text = md_escape(payload)
    source = f"## {text}\n\n- {text}\n\n| a |\n|---|\n| {text} |"
    out = parsed(render(source))
    assert set(out.tags) <= {"h2", "a", "ul", "li", "table", "thead", "tbody", "tr", "th", "td"}
    hrefs = [v for k, v in out.attrs if k == "href"]
    assert all(h and h.startswith("#") for h in hrefs)  # only the heading's own anchor link


@pytest.mark.parametrize("payload", PAYLOADS)
def test_md_code_is_one_literal_code_span(payload: str) -> None:
    out = parsed(render(f"Query {md_code(payload)} failed"))
    assert out.tags == ["p", "code"]
    code = html.unescape(render(md_code(payload)).split("<code>", 1)[1].rsplit("</code>", 1)[0])
    assert code.strip() == re.sub(r"\r\n|\r|\n", " ", payload).strip()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_md_block_shows_every_line_literally(payload: str) -> None:
    rendered = render(md_block(payload))
    out = parsed(rendered)
    assert set(out.tags) <= {"div", "pre", "span"}
    assert "".join(out.text).strip() == payload.strip()


def test_md_fills_a_trusted_template_with_escaped_values() -> None:
    text = md(
        "**{name}** was in ALARM for {minutes:.0f} min: [docs](https://docs.aws.amazon.com/)",
        name="<img src=x onerror=alert(1)>",
        minutes=12.4,
    )
    out = parsed(render(text))
    assert out.tags == ["p", "strong", "a"]
    assert dict(out.attrs)["href"] == "https://docs.aws.amazon.com/"  # the template's own link
    assert "".join(out.text).startswith("<img src=x onerror=alert(1)> was in ALARM for 12 min")


def test_links_are_never_built_from_data() -> None:
    for data in ("[x](javascript:alert(1))", "<https://evil.example>", "https://evil.example"):
        assert "href" not in render(md_escape(data))


def test_text_html_escapes_text_and_both_quotes() -> None:
    assert text_html("<a title='x' href=\"y\">&") == (
        "&lt;a title=&#x27;x&#x27; href=&quot;y&quot;&gt;&amp;"
    )


def test_plot_text_escapes_plotly_markup_idempotently_and_cuts_long_labels() -> None:
    link = "<a href='javascript:alert(1)'>x</a> & <br>"
    once = plot_text(link)
    assert "<" not in once and ">" not in once
    assert plot_text(once) == once
    assert plot_text("a &amp; b") == "a &amp; b"
    assert plot_text("x" * 500, limit=200) == "x" * 199 + "…"


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.id)
def test_safe_html_leaves_nothing_that_runs_fetches_or_navigates(vector) -> None:
    for clean in (safe_html, safe_output_html):
        out = parsed(clean(vector.payload))
        assert not set(out.tags) & {"script", "iframe", "object", "embed", "svg", "math"}
        assert not set(out.tags) & {"form", "input", "base", "meta", "link", "style"}
        for name, value in out.attrs:
            assert not name.startswith("on")
            assert name not in ("srcdoc", "action", "formaction", "xlink:href")
            assert not (value or "").strip().lower().startswith(("javascript:", "data:text"))
            if name == "src":
                assert (value or "").startswith("data:image/")


def test_safe_html_keeps_what_markdown_and_tables_need() -> None:
    fragment = (
        '<h2 id="Traffic">Traffic<a class="anchor-link" href="#Traffic">¶</a></h2>'
        '<table border="1" class="dataframe"><thead><tr style="text-align: right;"><th>a</th>'
        "</tr></thead><tbody><tr><td>&lt;b&gt;</td></tr></tbody></table>"
        '<p><a href="https://docs.aws.amazon.com/">docs</a> <code>x</code></p>'
    )
    out = safe_html(fragment)
    for kept in ('id="Traffic"', 'href="#Traffic"', "<thead>", "text-align:right", "&lt;b&gt;"):
        assert kept in out
    assert 'href="https://docs.aws.amazon.com/"' in out


def test_safe_output_html_keeps_only_links_on_the_page() -> None:
    out = safe_output_html('<a href="https://evil.example/x">e</a><a href="#s">s</a>')
    assert "evil.example" not in out
    assert 'href="#s"' in out
