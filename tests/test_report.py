"""The HTML report: self-contained, findings first, code hidden, incident text escaped.

Most tests build an executed notebook in-process from the real producers (the plotly renderer,
pandas' HTML repr, the findings and section bundles), so they run without a kernel. The tests
marked ``notebooks`` execute a fixture notebook on the python3 kernel, as papermill would.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from incident_lib.errors import BadInputError
from incident_lib.findings import FINDINGS_MIMETYPE, SECTION_MIMETYPE
from incident_lib.plotting import PLOTLY_MIMETYPE, IncidentRenderer, timeseries
from incident_lib.report import (
    PLOT_DATA_TYPE,
    content_security_policy,
    export_html,
    render_report,
    templates_dir,
)
from tests.htmlcheck import page_links as _links

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
HOSTILE_NOTEBOOK = FIXTURES / "hostile_incident_two_plots.ipynb"
PLOTLY_BANNER = "plotly.js (basic - minified) v"  # the licence header of the embedded bundle
MAX_REPORT_BYTES = 6 * 1024 * 1024

LOG_SCRIPT = "ERROR <script>alert('log')</script> upstream failed"
LOG_IMG = "WARN <img src=x onerror=alert('img')> retrying"


def _display(data: dict) -> NotebookNode:
    return new_output("display_data", data=data)


def _incident_metadata() -> dict:
    return {
        "alarm": {
            "name": "orders-api-5xx",
            "arn": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:orders-api-5xx",
            "region": "eu-west-1",
            "account": "123456789012",
            "new_state": "ALARM",
            "previous_state": "OK",
            "state_change_time": "2026-03-01T10:50:00+00:00",
            "reason": "Threshold Crossed: <script>alert('reason')</script>",
        },
        "alert_type": "apigw_5xx",
        "source": "demo",
        "window": {"start": "2026-03-01T10:00:00+00:00", "end": "2026-03-01T12:00:00+00:00"},
        "generated_at": "2026-03-01T10:51:02+00:00",
    }


def _findings_bundle() -> dict:
    doc = {
        "summary": "5XX began after deploy <b>v42</b>.",
        "findings": [
            {
                "kind": "onset",
                "title": "Errors began at 10:45 UTC",
                "detail": "first line\nsecond line",
                "severity": "critical",
                "time": "2026-03-01T11:45:00+01:00",
                "evidence": [{"label": "5XX series", "ref": "metric:m0"}],
                "data": {},
            },
            {
                "kind": "new_signature",
                "title": "New signature <img src=x onerror=alert('finding')>",
                "severity": "warning",
            },
        ],
        "sections": [],
    }
    return {
        FINDINGS_MIMETYPE: doc,
        "text/html": "<p>FINDINGS-FALLBACK-HTML</p>",
        "text/plain": "- Errors began at 10:45 UTC",
    }


def _built_notebook(figures: int = 2) -> NotebookNode:
    """An executed notebook as papermill leaves it, with outputs from the real producers."""
    times = pd.date_range("2026-03-01T10:00Z", periods=120, freq="1min")
    frame = pd.DataFrame({"id": "m0", "label": "5XX", "timestamp": times, "value": 1.0})
    renderer = IncidentRenderer()
    logs = pd.DataFrame({"@timestamp": times[:2], "@message": [LOG_SCRIPT, LOG_IMG]})
    params = new_code_cell("alert = 'x'", metadata={"tags": ["parameters"]})
    params.outputs = [new_output("stream", name="stdout", text="PARAMETERS-OUTPUT\n")]
    injected = new_code_cell("alert = 'y'", metadata={"tags": ["injected-parameters"]})
    injected.outputs = [new_output("stream", name="stdout", text="INJECTED-OUTPUT\n")]
    removed = new_code_cell("print('x')", metadata={"tags": ["remove-cell"]})
    removed.outputs = [new_output("stream", name="stdout", text="REMOVED-CELL-OUTPUT\n")]
    plots = new_code_cell("SOURCE-CODE-OF-PLOTS = 1")
    plots.outputs = [
        _display(renderer.to_mimebundle(timeseries(frame, title=f"Plot {i}").to_dict()))
        for i in range(figures)
    ]
    table = new_code_cell("logs")
    table.outputs = [
        new_output(
            "execute_result",
            data={"text/html": logs._repr_html_(), "text/plain": repr(logs)},
            execution_count=4,
        )
    ]
    sections = new_code_cell("case.show(...)")
    sections.outputs = [
        _display(
            {
                SECTION_MIMETYPE: {
                    "name": "Dependencies",
                    "status": "failed",
                    "error": "access denied: <script>alert('section')</script>",
                },
                "text/html": "<div>SECTION-FALLBACK-HTML</div>",
                "text/plain": "Section failed: Dependencies",
            }
        ),
        _display({SECTION_MIMETYPE: {"name": "Traffic", "status": "ok", "error": ""}}),
        _display(
            {
                SECTION_MIMETYPE: {"name": "Siblings", "status": "empty", "error": "no data"},
                "text/plain": "No data: Siblings",
            }
        ),
    ]
    findings = new_code_cell("case.record(...)")
    findings.outputs = [_display(_findings_bundle())]
    nb = new_notebook(
        cells=[
            params,
            injected,
            removed,
            new_markdown_cell("# Investigation\n\n## Traffic & errors"),
            plots,
            new_markdown_cell("### Log lines <em>sampled</em>"),
            table,
            sections,
            findings,
        ]
    )
    nb.metadata.incident = _incident_metadata()
    return nb


@pytest.fixture(scope="module")
def page() -> str:
    return export_html(_built_notebook())


def test_no_external_script_style_or_link(page: str) -> None:
    links = _links(page)
    assert links.script_srcs == []
    external = [u for u in links.urls if re.match(r"^\s*(https?:)?//", u, re.IGNORECASE)]
    assert external == []
    assert "<script src=" not in page and "<link" not in page


def test_plotly_js_is_embedded_exactly_once(page: str) -> None:
    assert page.count(PLOTLY_BANNER) == 1
    head = page[: page.index("<body")]
    assert PLOTLY_BANNER in head


def test_each_figure_appears_exactly_once_drawn_from_its_json(page: str) -> None:
    assert page.count('class="plotly-graph-div"') == 2
    assert (
        page.count('<script data-plot="ir-plot-') + page.count(f'<script type="{PLOT_DATA_TYPE}"')
        == 2
    )
    assert page.count("Plotly.newPlot(") == 1  # in the page's one draw script


def test_csp_allows_exactly_the_pages_own_scripts(page: str) -> None:
    import base64
    import hashlib

    csp = re.search(r'<meta content="([^"]+)" http-equiv="Content-Security-Policy"', page)
    assert csp is not None
    policy = csp.group(1)
    assert policy.startswith("default-src 'none'")
    assert "'unsafe-eval'" not in policy and "script-src 'unsafe-inline'" not in policy
    assert page.index("Content-Security-Policy") < page.index("<script")
    bodies = re.findall(r"<script(?: id=\"plotly-js\")?>(.*?)</script>", page, re.DOTALL)
    assert len(bodies) == 3
    for body in bodies:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert sorted(policy.split("script-src ", 1)[1].split()) == sorted(
        re.findall(r"'sha256-[^']+'", content_security_policy())
    )


def test_markdown_and_html_outputs_are_cleaned_and_cells_keep_their_links() -> None:
    nb = _built_notebook(figures=0)
    out = new_code_cell("show(...)")
    out.outputs = [
        _display({"text/markdown": "**x** <img src=x onerror=alert(1)> [l](javascript:alert(2))"}),
        _display(
            {"text/html": '<b>y</b><script>alert(3)</script><a href="https://e.example">e</a>'}
        ),
        _display({"application/javascript": "alert(4)"}),
    ]
    nb.cells += [
        out,
        new_markdown_cell("[AWS docs](https://docs.aws.amazon.com/) <script>alert(5)</script>"),
    ]
    page = export_html(nb)
    body = page[page.index("<body") :]
    live = _links(body)
    assert not [u for u in live.urls if u.lower().startswith(("javascript:", "https://e.example"))]
    assert live.handlers == []
    for raw in ("alert(2)", "alert(3)", "alert(4)", "alert(5)", "e.example"):
        assert raw not in body, raw
    assert "<strong>x</strong>" in body and "<b>y</b>" in body
    assert 'href="https://docs.aws.amazon.com/"' in body


def test_secrets_in_outputs_and_metadata_are_masked_in_the_page() -> None:
    nb = _built_notebook(figures=0)
    nb.metadata.incident["alarm"]["reason"] = "password=hunter2 AKIAIOSFODNN7EXAMPLE"
    leak = new_code_cell("x")
    leak.outputs = [new_output("stream", name="stdout", text="token=abc123def\n")]
    nb.cells.append(leak)
    page = export_html(nb)
    for secret in ("hunter2", "IOSFODNN7EXAMPLE", "abc123def"):
        assert secret not in page


def test_banner_findings_and_notice_precede_the_first_output(page: str) -> None:
    first_output = page.index("jp-OutputArea-output", page.index("<body"))
    markers = ('class="ir-banner', 'class="ir-findings', 'class="ir-partial')
    positions = [page.index(marker) for marker in markers]
    assert positions == sorted(positions)
    assert positions[-1] < first_output
    assert "orders-api-5xx" in page[: positions[1]]
    assert "Errors began at 10:45 UTC" in page[positions[1] : first_output]
    # The finding time is shown in UTC whatever offset it was recorded with.
    assert "2026-03-01 10:45:00 UTC" in page


def test_findings_are_shown_once_from_the_bundle(page: str) -> None:
    assert page.count("Errors began at 10:45 UTC") == 1
    assert "FINDINGS-FALLBACK-HTML" not in page
    assert page.count("metric:m0") == 1


def test_failed_section_is_listed_and_shown_readably(page: str) -> None:
    start = page.index('class="ir-partial')
    notice = page[start : page.index("</section>", start)]
    assert "Partial report: 1 section(s) failed" in notice and "Dependencies" in notice
    assert "Section failed: Dependencies" in page
    assert "No data: Siblings" in page
    assert "SECTION-FALLBACK-HTML" not in page
    assert "Traffic" not in notice


def test_incident_text_and_log_lines_are_escaped(page: str) -> None:
    for raw in ("<script>alert(", "<img src=x", "<b>v42</b>"):
        assert raw not in page
    assert "Threshold Crossed: &lt;script&gt;alert(" in page  # alarm reason
    assert "access denied: &lt;script&gt;" in page  # section error
    assert "New signature &lt;img src=x onerror=alert(" in page  # finding title
    assert "5XX began after deploy &lt;b&gt;v42&lt;/b&gt;." in page  # summary


def test_pandas_escapes_log_text_in_dataframe_html() -> None:
    table = pd.DataFrame({"@message": [LOG_SCRIPT, LOG_IMG]})._repr_html_()
    assert "<script>" not in table and "<img" not in table
    assert "&lt;script&gt;alert(&#x27;log&#x27;)&lt;/script&gt;" in table or (
        "&lt;script&gt;alert('log')&lt;/script&gt;" in table
    )


def test_code_and_tagged_cells_are_left_out(page: str) -> None:
    for text in ("SOURCE-CODE-OF-PLOTS", "PARAMETERS-OUTPUT", "INJECTED-OUTPUT", "REMOVED-CELL"):
        assert text not in page


def test_contents_link_to_every_heading(page: str) -> None:
    toc = page[page.index('class="ir-toc"') : page.index("</nav>")]
    anchors = re.findall(r'href="#([^"]+)"', toc)
    assert len(anchors) == 3
    for anchor in anchors:
        assert f'id="{anchor}"' in page
    assert "Traffic &amp; errors" in toc and "Log lines sampled" in toc


def test_report_is_small(page: str) -> None:
    assert len(page.encode("utf-8")) < MAX_REPORT_BYTES


def test_notebook_without_incident_or_findings_still_reports() -> None:
    nb = new_notebook(cells=[new_markdown_cell("# Plain")])
    nb.metadata.title = "Ad-hoc run"
    page = export_html(nb)
    assert "No findings were recorded." in page
    assert "Ad-hoc run" in page
    assert 'class="ir-partial' not in page
    assert page.count(PLOTLY_BANNER) == 1


def test_a_cell_that_raised_makes_the_report_partial() -> None:
    nb = _built_notebook(figures=0)
    crashed = new_code_cell("1/0")
    crashed.outputs = [
        new_output(
            "error",
            ename="ValueError",
            evalue="bad line <script>alert('evalue')</script>",
            traceback=["ValueError: bad line <script>alert('evalue')</script>"],
        )
    ]
    nb.cells.append(crashed)
    page = export_html(nb)
    assert "Partial report: 2 section(s) failed" in page
    assert "notebook stopped" in page
    assert "ValueError: bad line &lt;script&gt;alert(" in page
    assert "<script>alert(" not in page


def test_widget_state_does_not_pull_scripts_from_a_cdn() -> None:
    nb = _built_notebook(figures=0)
    nb.metadata.widgets = {
        "application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}
    }
    assert _links(export_html(nb)).script_srcs == []


def test_render_report_writes_atomically_from_a_path(tmp_path: Path) -> None:
    source = tmp_path / "run.ipynb"
    nbformat.write(_built_notebook(figures=1), source)
    out = tmp_path / "nested" / "report.html"
    out.parent.mkdir()
    out.write_text("old report", encoding="utf-8")
    assert render_report(source, out) == out
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]


def test_render_report_of_a_missing_notebook_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="cannot read notebook"):
        render_report(tmp_path / "missing.ipynb", tmp_path / "report.html")


def test_templates_can_be_overridden_by_environment(tmp_path: Path, monkeypatch) -> None:
    shutil.copytree(templates_dir() / "report", tmp_path / "report")
    index = tmp_path / "report" / "index.html.j2"
    index.write_text(index.read_text().replace("Incident report generated", "OVERRIDDEN"))
    monkeypatch.setenv("INCIDENT_TEMPLATES", str(tmp_path))
    assert templates_dir() == tmp_path
    assert "OVERRIDDEN" in export_html(new_notebook())
    monkeypatch.setenv("INCIDENT_TEMPLATES", str(tmp_path / "nowhere"))
    with pytest.raises(BadInputError, match="INCIDENT_TEMPLATES"):
        templates_dir()


# -- executed on a kernel ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def executed() -> NotebookNode:
    from nbclient import NotebookClient

    nb = nbformat.read(HOSTILE_NOTEBOOK, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    return nb


@pytest.mark.notebooks
def test_kernel_figures_carry_html_and_plotly_json(executed: NotebookNode) -> None:
    figures = [
        o
        for cell in executed.cells
        for o in cell.get("outputs", [])
        if PLOTLY_MIMETYPE in o.get("data", {})
    ]
    assert len(figures) == 2
    assert all("Plotly.newPlot" in o["data"]["text/html"] for o in figures)


@pytest.mark.notebooks
def test_executed_notebook_report_is_offline_escaped_and_complete(
    executed: NotebookNode, tmp_path: Path
) -> None:
    out = render_report(executed, tmp_path / "report.html")
    page = out.read_text(encoding="utf-8")
    assert _links(page).script_srcs == []
    assert page.count(PLOTLY_BANNER) == 1
    assert page.count('class="plotly-graph-div"') == 2
    assert "Content-Security-Policy" in page
    assert "<script>alert(" not in page and "<img src=x" not in page
    assert "ERROR &lt;script&gt;alert(4)&lt;/script&gt; upstream failed" in page
    assert page.index('class="ir-findings') < page.index(
        "jp-OutputArea-output", page.index("<body")
    )
    assert "REMOVED-CELL-OUTPUT" not in page and "alert_name" not in page
    assert out.stat().st_size < MAX_REPORT_BYTES


def test_a_trace_type_the_basic_bundle_lacks_gets_the_full_bundle() -> None:
    import plotly.graph_objects as go

    from incident_lib.report import BASIC_TRACE_TYPES, trace_types

    nb = _built_notebook(figures=1)
    basic = export_html(nb)
    assert trace_types(nb) <= BASIC_TRACE_TYPES
    assert "plotly.js (basic - minified) v" in basic and len(basic) < 1_500_000
    heat = new_code_cell("heatmap")
    heat.outputs = [
        _display(
            IncidentRenderer().to_mimebundle(go.Figure(go.Heatmap(z=[[1, 2], [3, 4]])).to_dict())
        )
    ]
    nb.cells.append(heat)
    assert "heatmap" in trace_types(nb)
    full = export_html(nb)
    assert "plotly.js (basic" not in full and "* plotly.js v" in full
    csp = re.search(r'<meta content="([^"]+)" http-equiv="Content-Security-Policy"', full)
    assert csp is not None and csp.group(1) == content_security_policy(full=True)
    assert content_security_policy(full=True) != content_security_policy()


def test_lab_stylesheet_is_cut_to_the_page() -> None:
    from incident_lib.csscompact import compact_css

    css = (
        "/* c */ :root { --jp-used: red; --jp-unused: url(data:x); --jp-chain: var(--jp-used) }"
        " .jp-Present .x { color: var(--jp-chain) } .jp-Absent { color: blue }"
        " @media print { .jp-Absent { color: red } .jp-Present { margin: 0  auto } }"
        " body { margin: 0 }"
    )
    (out,) = compact_css([css], {"jp-Present"})
    assert "--jp-unused" not in out and "jp-Absent" not in out and "/*" not in out
    assert "--jp-used:red" in out and "--jp-chain:var(--jp-used)" in out
    assert ".jp-Present .x{color:var(--jp-chain)}" in out
    assert "@media print{.jp-Present{margin:0 auto}}" in out and "body{margin:0}" in out
