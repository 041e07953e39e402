"""One escaping rule for every place incident text is shown.

Alarm names, dimension values, AWS error messages, CloudTrail fields and log lines are written
by whoever controls them. Wherever the product turns such data into Markdown or HTML it goes
through one of these helpers, so the data renders as the literal text it is:

- :func:`md_escape`: one value inside Markdown prose (a paragraph, a list item, a heading);
- :func:`md`: a trusted Markdown template with every value escaped (``str.format`` syntax);
- :func:`md_code`: one value as an inline code span; :func:`md_block`: many lines as a code block;
- :func:`text_html`: one value inside HTML text or a quoted attribute;
- :func:`plot_text`: one value inside plotly's text (titles, legend names, hover, annotations);
- :func:`safe_html`: the last line of defence, an allowlist sanitiser (nh3, the Rust ammonia
  sanitiser) that the report applies to every Markdown cell, Markdown output and HTML output,
  so even a string that skipped the rules above cannot add a script, a handler or a link to
  ``javascript:``.

Links are never built from data: none of these helpers makes one, and :func:`md_escape` breaks
the ``scheme:`` and ``www.`` forms that would let a renderer make one by itself.

>>> md("**Alarm history unavailable**: {error}", error="<img src=x onerror=alert(1)>")
'**Alarm history unavailable**: &#60;img src&#61;x onerror&#61;alert&#40;1&#41;&#62;'

Why hand-written: no maintained library escapes for CommonMark-with-raw-HTML as a whole (the
markdown escapers on PyPI backslash-escape punctuation, which raw HTML and autolinks ignore).
Numeric character references are the one form every CommonMark renderer (mistune in nbconvert,
markdown-it in JupyterLab) reads as a literal character and never as syntax.
"""

from __future__ import annotations

import html
import re
import string
from typing import Any

import nh3

__all__ = [
    "md",
    "md_block",
    "md_code",
    "md_escape",
    "plot_text",
    "safe_html",
    "safe_output_html",
    "text_html",
]

#: Characters with a meaning in Markdown, GFM, nbconvert's math, or HTML. Each becomes a
#: numeric character reference (``*`` -> ``&#42;``), which renders as the character itself.
_MD_SPECIAL = frozenset("\\`*_{}[]()#+-.!|~<>&\"':=$^@/%;?")
_MD_TABLE = {ord(c): f"&#{ord(c)};" for c in _MD_SPECIAL}
_NEWLINES = re.compile(r"\r\n|\r|\n|\u2028|\u2029")
_BACKTICKS = re.compile(r"`+")
_FENCE_RUN = re.compile(r"^[ \t]*(`{3,}|~{3,})", re.MULTILINE)
# An entity already in plotly text: kept, so escaping twice shows the same text as once.
_AMP_NOT_ENTITY = re.compile(
    r"&(?!(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});)"
)


def md_escape(value: Any) -> str:
    """``value`` as Markdown that renders as exactly its text: no markup, no HTML, no link.

    Every character that could start Markdown, raw HTML, an autolink, an entity, a table cell
    or math becomes a numeric character reference; line breaks become spaces (the result
    stays inside the paragraph or list item it is put in; use :func:`md_block` for lines).

    >>> md_escape("[x](javascript:alert(1)) *bold*")
    '&#91;x&#93;&#40;javascript&#58;alert&#40;1&#41;&#41; &#42;bold&#42;'
    """
    text = _NEWLINES.sub(" ", _str(value))
    return text.translate(_MD_TABLE)


class _EscapingFormatter(string.Formatter):
    """``str.format`` whose every replacement field is formatted, then :func:`md_escape` d."""

    def format_field(self, value: Any, format_spec: str) -> str:
        return md_escape(format(value, format_spec))


_FORMATTER = _EscapingFormatter()


def md(template: str, /, *args: Any, **values: Any) -> str:
    """Fill a trusted Markdown ``template`` (``str.format`` syntax) with escaped values.

    Format specifications apply before escaping (``{minutes:.0f}``). The template is code,
    never data: pass data only as values.

    >>> md("No CloudTrail changes to **{names}** in the window.", names="fn-<b>1</b>")
    'No CloudTrail changes to **fn&#45;&#60;b&#62;1&#60;&#47;b&#62;** in the window.'
    """
    return _FORMATTER.vformat(template, args, values)


def md_code(value: Any) -> str:
    """``value`` as an inline code span (monospace, shown literally, one line).

    The fence is one backtick longer than the longest run of backticks in the text, so the
    text cannot close it; inside a code span neither HTML nor Markdown is interpreted.

    >>> md_code("<script>alert(1)</script>")
    '`<script>alert(1)</script>`'
    >>> md_code("a `b` c")
    '``a `b` c``'
    """
    text = _NEWLINES.sub(" ", _str(value))
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    if not text.strip(" "):
        return fence + (text or " ") + fence
    pad = " " if text[0] in "` " or text[-1] in "` " else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_block(value: Any) -> str:
    """``value`` (any number of lines) as a fenced code block, shown literally.

    >>> md_block("line 1\\n```\\nline 3")
    '````text\\nline 1\\n```\\nline 3\\n````'
    """
    text = _NEWLINES.sub("\n", _str(value))
    longest = max((len(m.group(1)) for m in _FENCE_RUN.finditer(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def text_html(value: Any) -> str:
    """``value`` escaped for HTML text or a double- or single-quoted attribute.

    >>> text_html('<a href="x">')
    '&lt;a href=&quot;x&quot;&gt;'
    """
    return html.escape(_str(value), quote=True)


def plot_text(value: Any, *, limit: int | None = None) -> str:
    """``value`` escaped for plotly's text (titles, legend names, axis titles, annotations,
    hover text), which plotly reads as a subset of HTML (``<a href>``, ``<b>``, ``<br>`` ...).

    Idempotent: an already escaped text is left as it is, so a figure can be escaped by its
    builder and again by the renderer without showing ``&amp;lt;``. ``limit`` cuts the text
    (a legend name must not carry a whole 1 MB log line).

    >>> plot_text('<a href="javascript:alert(1)">x</a>')
    '&lt;a href="javascript:alert(1)"&gt;x&lt;/a&gt;'
    >>> plot_text(plot_text("a < b & c")) == plot_text("a < b & c")
    True
    """
    text = _str(value)
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    text = _AMP_NOT_ENTITY.sub("&amp;", text)
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _str(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


# -- the sanitiser ---------------------------------------------------------------------------
#: Elements a Markdown cell, a Markdown output or a table may produce. Everything else is
#: dropped (its text kept), and the content of :data:`_DROPPED_WITH_CONTENT` too.
_SAFE_TAGS = frozenset(
    {
        *("h1", "h2", "h3", "h4", "h5", "h6", "p", "div", "span", "br", "hr", "blockquote"),
        *("ul", "ol", "li", "dl", "dt", "dd", "pre", "code", "kbd", "samp", "var"),
        *("em", "strong", "b", "i", "u", "s", "del", "ins", "sub", "sup", "small", "mark"),
        *("abbr", "q", "cite", "figure", "figcaption", "a", "img", "caption"),
        *("details", "summary"),  # folded query text; "open" and handlers are not kept
        *("table", "thead", "tbody", "tfoot", "tr", "th", "td", "colgroup", "col"),
    }
)
_DROPPED_WITH_CONTENT = frozenset(
    {"script", "style", "iframe", "frame", "object", "embed", "template", "noscript", "title"}
    | {"textarea", "select", "svg", "math", "xmp", "noembed", "noframes", "plaintext"}
)
_SAFE_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"class", "title", "lang", "dir", "style"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    **{f"h{n}": {"id"} for n in range(1, 7)},  # nbconvert's heading anchors
    "th": {"colspan", "rowspan", "align"},
    "td": {"colspan", "rowspan", "align"},
    "col": {"span"},
    "table": {"border"},
    "ol": {"start"},
}
#: CSS a table or a Markdown cell may set inline (pandas sets text-align); nothing that can
#: position, overlay or fetch.
_SAFE_STYLE = frozenset(
    {"text-align", "vertical-align", "white-space", "font-weight", "font-style", "color"}
    | {"background-color", "text-decoration", "width", "min-width", "max-width"}
)
_DATA_IMAGE = re.compile(r"^data:image/(?:png|jpe?g|gif|webp);base64,[A-Za-z0-9+/=\s]*$")


def _attribute_filter(element: str, attribute: str, value: str) -> str | None:
    if attribute == "src":  # images come embedded (attachments) or not at all
        return value if _DATA_IMAGE.match(value) else None
    if attribute == "href" and value.strip().lower().startswith("data:"):
        return None
    return value


def _output_attribute_filter(element: str, attribute: str, value: str) -> str | None:
    if attribute == "href":  # outputs may carry data: links stay on the page
        return value if value.startswith("#") else None
    if attribute == "src":
        return None
    return value


def safe_html(fragment: str, *, links: bool = True) -> str:
    """``fragment`` with everything that could run, fetch or navigate removed.

    Allowlist sanitising (nh3): the elements Markdown and tables produce, no event handlers,
    no ``<script>``/``<iframe>``/``<svg>``, links only to ``http``, ``https``, ``mailto`` or
    an anchor on the page, images only as embedded ``data:image/...``. With ``links=False``
    (what cell outputs get: they may carry incident data, and links are never built from
    data) only links to an anchor on the page and no images are kept.

    >>> safe_html('<p onclick="x()">hi<img src=x onerror=alert(1)><script>alert(2)</script></p>')
    '<p>hi<img></p>'
    """
    return nh3.clean(
        fragment if isinstance(fragment, str) else str(fragment),
        tags=set(_SAFE_TAGS),
        clean_content_tags=set(_DROPPED_WITH_CONTENT),
        attributes=_SAFE_ATTRIBUTES,
        attribute_filter=_attribute_filter if links else _output_attribute_filter,
        url_schemes={"http", "https", "mailto", "data"},
        filter_style_properties=set(_SAFE_STYLE),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def safe_output_html(fragment: str) -> str:
    """:func:`safe_html` for a cell's output: no links off the page, no images."""
    return safe_html(fragment, links=False)
