"""A message's blocks as HTML laid out the way Slack's phone client lays them out, and
measured in headless Chromium.

Slack renders a `table` block as a grid that scrolls sideways inside the message when it
is wider than the message; a column with ``is_wrapped`` wraps its text at spaces, the
others stay on one line. This page models that with a plain HTML table in a box with
``overflow-x: auto``: wrapped cells ``white-space: normal`` (a browser shrinks such a
column towards its longest word when the table is too wide), the others ``nowrap``.
A section with ``expand: false`` shows its first four lines and "Show more", as Slack
folds long text. The message sits where Slack's phone client puts it: 16 px screen margin, a 36 px
avatar and an 8 px gap on the left, 16 px on the right. Text is 15 px Liberation Sans
(metric-compatible with Arial, a little wider than Slack's Lato, so the check errs on
the narrow side).

Deterministic: a fixed viewport, a fixed font, no network, no animation; the page
measures itself on load and Chromium prints the resulting DOM (``--dump-dom``).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

LEFT_GUTTER, RIGHT_GUTTER = 16 + 36 + 8, 16

PAGE = """<!doctype html>
<html><head><meta charset="utf-8">
<meta name="viewport" content="width={width}">
<style>
  html, body {{ margin: 0; padding: 0; width: {width}px; }}
  body {{ font: 15px/1.46 "Liberation Sans", sans-serif; color: #1d1c1d; }}
  .message {{ margin: 0 {right}px 0 {left}px; }}
  .header {{ font-weight: bold; font-size: 18px; margin: 4px 0; }}
  .context {{ font-size: 13px; color: #616061; margin: 4px 0; }}
  .section {{ margin: 4px 0; white-space: pre-wrap; overflow-wrap: anywhere; }}
  .folded {{ max-height: calc(15px * 1.46 * 4); overflow: hidden; }}
  .more {{ color: #1264a3; font-size: 13px; margin-bottom: 6px; }}
  .scroll {{ overflow-x: auto; margin: 4px 0; }}
  table {{ border-collapse: collapse; }}
  td {{ border: 1px solid #dddddd; padding: 6px 10px; vertical-align: top;
        white-space: nowrap; }}
  td.wrapped {{ white-space: normal; }}
  td.right {{ text-align: right; }}
  tr:first-child td {{ font-weight: bold; }}
</style></head>
<body><div class="message" id="message">{blocks}</div>
<pre id="measured"></pre>
<script>
  const box = document.getElementById("message").getBoundingClientRect();
  const tables = [...document.querySelectorAll("table")].map((table) => {{
    const scroll = table.parentElement.getBoundingClientRect();
    return {{
      scroll_right: scroll.right,
      rows: [...table.rows].map((row) => [...row.cells].map((cell) => {{
        const r = cell.getBoundingClientRect();
        return {{ text: cell.innerText, left: r.left, right: r.right }};
      }})),
    }};
  }});
  document.getElementById("measured").textContent = JSON.stringify({{
    viewport: document.body.getBoundingClientRect().width, message_right: box.right,
    page_width: document.documentElement.scrollWidth, tables: tables,
  }});
</script></body></html>
"""


def chromium() -> str | None:
    """The headless browser's path, or None when it is not installed."""
    for name in ("chromium", "chromium-browser", "google-chrome", "headless_shell"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _mrkdwn(text: str) -> str:
    """Slack mrkdwn as the text a person sees: <url|name> shows the name."""
    text = re.sub(r"<[^|>]+\|([^>]+)>", r"\1", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return html.escape(text.replace("*", ""))


def _table(block: dict) -> str:
    settings = block.get("column_settings") or []
    rows = []
    for row in block["rows"]:
        cells = []
        for i, cell in enumerate(row):
            setting = settings[i] if i < len(settings) and settings[i] else {}
            classes = []
            if setting.get("is_wrapped"):
                classes.append("wrapped")
            if setting.get("align") == "right":
                classes.append("right")
            text = html.escape(cell.get("text", "")).replace("\n", "<br>")
            cells.append(f'<td class="{" ".join(classes)}">{text}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return '<div class="scroll"><table>' + "".join(rows) + "</table></div>"


def to_html(message: dict, width: int = 375) -> str:
    """The message's header, section, context and table blocks as a page ``width`` wide."""
    parts = []
    for block in message["blocks"]:
        kind = block["type"]
        if kind == "header":
            parts.append(f'<div class="header">{html.escape(block["text"]["text"])}</div>')
        elif kind == "section" and block.get("expand") is False:  # Slack folds long text
            text = _mrkdwn(block["text"]["text"])
            parts.append(
                f'<div class="section folded">{text}</div><div class="more">Show more</div>'
            )
        elif kind == "section":
            parts.append(f'<div class="section">{_mrkdwn(block["text"]["text"])}</div>')
        elif kind == "context":
            texts = " ".join(_mrkdwn(e.get("text", "")) for e in block["elements"])
            parts.append(f'<div class="context">{texts}</div>')
        elif kind == "table":
            parts.append(_table(block))
    return PAGE.format(width=width, left=LEFT_GUTTER, right=RIGHT_GUTTER, blocks="\n".join(parts))


def measure(page: str, work: Path, width: int = 375, browser: str | None = None) -> dict:
    """Lay ``page`` out in headless Chromium at ``width`` px and return what it measured:
    the viewport, the message box's right edge, and every table cell's left and right."""
    browser = browser or chromium()
    if browser is None:
        raise FileNotFoundError("chromium is not installed")
    source = work / "card.html"
    source.write_text(page, encoding="utf-8")
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--hide-scrollbars",
            f"--user-data-dir={work / 'profile'}",
            f"--window-size={width},900",
            "--force-device-scale-factor=1",
            "--dump-dom",
            source.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    found = re.search(r'<pre id="measured">(.*?)</pre>', done.stdout, re.S)
    if done.returncode != 0 or not found or not found.group(1).strip():
        raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(html.unescape(found.group(1)))


def screenshot(page: str, out: Path, width: int = 375, browser: str | None = None) -> None:
    """A PNG of the page at ``width`` px, to look at (not used by the assertions)."""
    browser = browser or chromium()
    assert browser is not None
    source = out.with_suffix(".html")
    source.write_text(page, encoding="utf-8")
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={out.parent / 'profile'}",
            f"--window-size={width},1400",
            "--force-device-scale-factor=1",
            f"--screenshot={out}",
            source.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
