"""The HTML report: the markdown report as one self-contained page.

Converts the markdown subset that ``sweeps.report`` writes (headings, paragraphs, ``-`` lists,
pipe tables, ``![caption](plots/x.png)`` images, inline code) to HTML, embedding each image that is
a real PNG/JPEG/GIF in the report's own ``plots`` folder (nothing else, so a sweep description cannot
pull a local file into a shared report) as a base64 ``data:`` URI and styling with an inline stylesheet: no scripts, no external fetches, so the
page renders the same offline, attached to an email, or in a headless browser.
"""
from __future__ import annotations

import base64
import html
import re
from pathlib import Path

_IMAGE = re.compile(r"^!\[(?P<alt>[^\]]*)\]\((?P<src>[^)]+)\)$")
_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;
color:#1d1d1f;line-height:1.45}
h1{border-bottom:2px solid #ddd;padding-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #eee}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0;display:block;overflow-x:auto}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:right}th{background:#f5f5f7}
td:first-child,th:first-child{text-align:left}img{max-width:100%;height:auto;display:block;margin:.8em 0}
code{background:#f5f5f7;padding:0 .25em;border-radius:3px}figure{margin:0}figcaption{color:#666;font-size:.85em}
"""


def _inline(text: str) -> str:
    parts = re.split(r"(`[^`]*`)", text)
    return "".join(f"<code>{html.escape(p[1:-1])}</code>" if p.startswith("`") and p.endswith("`") and len(p) > 1
                   else html.escape(p) for p in parts)


def _cells(row: str) -> list[str]:
    cells = re.split(r"(?<!\\)\|", row.strip().strip("|"))
    return [c.strip().replace("\\|", "|") for c in cells]


_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF87a", "image/gif"),
          (b"GIF89a", "image/gif"))


def _embeddable(src: str, base: Path) -> tuple[Path, str] | None:
    """``(file, mime type)`` if ``src`` is a real PNG/JPEG/GIF inside ``base/plots`` (after resolving
    ``..`` and symlinks), else None: a description's ``![x](/etc/passwd)`` embeds nothing."""
    plots = (base / "plots").resolve()
    path = (base / src).resolve()
    if plots not in path.parents or not path.is_file():
        return None
    with open(path, "rb") as handle:
        head = handle.read(8)
    mime = next((m for magic, m in _MAGIC if head.startswith(magic)), None)
    return (path, mime) if mime else None


def _image(alt: str, src: str, base: Path) -> str:
    found = _embeddable(src, base)
    if found is None:
        return f"<p>[image not embedded: {html.escape(src)} is not an image in this report's plots folder]</p>"
    path, mime = found
    data = base64.b64encode(path.read_bytes()).decode()
    return (f'<figure><img alt="{html.escape(alt)}" src="data:{mime};base64,{data}"><figcaption>{html.escape(alt)}'
            "</figcaption></figure>")


def markdown_to_html(markdown: str, base: Path, title: str) -> str:
    """Render the report's markdown as a standalone HTML document; images under ``base`` are inlined."""
    out: list[str] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        heading = re.match(r"^(#{1,6}) (.*)$", line)
        image = _IMAGE.match(line.strip())
        if heading:
            level = len(heading.group(1))
            out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
            i += 1
        elif image:
            out.append(_image(image.group("alt"), image.group("src"), base))
            i += 1
        elif line.startswith("|"):
            block = []
            while i < len(lines) and lines[i].startswith("|"):
                block.append(lines[i])
                i += 1
            head, body = _cells(block[0]), [_cells(r) for r in block[2:]]
            out.append("<table><thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr></thead><tbody>"
                       + "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in body)
                       + "</tbody></table>")
        elif line.startswith("- "):
            items = []
            while i < len(lines) and lines[i].startswith("- "):
                items.append(f"<li>{_inline(lines[i][2:])}</li>")
                i += 1
            out.append("<ul>" + "".join(items) + "</ul>")
        else:
            para = []
            while i < len(lines) and lines[i].strip() and not re.match(r"^(#|\||- |!\[)", lines[i]):
                para.append(lines[i])
                i += 1
            out.append(f"<p>{_inline(' '.join(para))}</p>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>\n"
            + "\n".join(out) + "\n</body></html>\n")
