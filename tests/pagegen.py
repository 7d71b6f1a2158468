"""Pages for the tests, in the shapes portals publish them: CMS templates, PDF, DOCX.

TRS and Hanweb pages come from :mod:`nianbao.demo.portalgen`; this adds a Guangdong gkmlpt page,
a 2008-era layout-table page without a charset (GBK), a list page, PDFs typeset with
reportlab's built-in STSong-Light CID font (no font file needed) and the text of a
new-format (2019/2021) report with its statutory tables.
"""

from __future__ import annotations

import html
import io
from functools import lru_cache

from nianbao.demo.portalgen import Report, docx_bytes, hanweb_page, trs_page


@lru_cache(maxsize=1)
def _s2t():  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC("s2t")


def to_traditional(text: str) -> str:
    return _s2t().convert(text)


def _rows_to_html(lines: list[str]) -> str:
    """Paragraphs, with runs of ``a | b | c`` lines rendered as a table."""
    out: list[str] = []
    table: list[str] = []
    for line in lines + [""]:
        if " | " in line:
            cells = "".join(f"<td>{html.escape(c.strip())}</td>" for c in line.split(" | "))
            table.append(f"<tr>{cells}</tr>")
            continue
        if table:
            out.append("<table border='1'>" + "".join(table) + "</table>")
            table = []
        if line:
            out.append(f"<p>{html.escape(line)}</p>")
    return "\n".join(out)


def gkmlpt_page(title: str, lines: list[str], organ: str, date: str, heading: bool) -> bytes:
    """Guangdong gkmlpt style: generic <title>, metadata table, content in .article-content."""
    h = f"<h1 class='title'>{html.escape(title)}</h1>" if heading else ""
    page = f"""<!DOCTYPE html><html><head><meta charset="UTF-8"><title>{organ}门户网站</title>
<meta name="ColumnName" content="政府信息公开"></head><body>
<div class="header"><a href="/">首页</a> <a href="/gkmlpt/">政府信息公开</a></div>
<div class="classify"><table><tr><td>索引号：</td><td>007216513/{date[:4]}-00{len(title)}</td>
<td>分类：</td><td>其他</td></tr><tr><td>发布机构：</td><td>{organ}</td><td>成文日期：</td><td>{date}</td></tr>
<tr><td>文号：</td><td>无</td><td>发布日期：</td><td>{date}</td></tr></table></div>
<div class="article-content">{h}{_rows_to_html(lines)}</div>
<div class="footer">主办单位：{organ} 网站标识码：4400000001 粤ICP备05070829号</div></body></html>"""
    return page.encode("utf-8")


def old_page(title: str, lines: list[str], organ: str, date: str) -> bytes:
    """A 2008-era page: layout tables, no CMS classes, no charset declared, GBK bytes."""
    page = f"""<html><head><title>{html.escape(title)}</title></head><body>
<table width="980"><tr><td><a href="/">网站首页</a> | <a href="/zwgk/">政务公开</a></td></tr>
<tr><td align="center"><b>{html.escape(title)}</b><br>时间：{date}&nbsp;&nbsp;来源：{organ}</td></tr>
<tr><td>{_rows_to_html(lines)}</td></tr>
<tr><td align="center">{organ} 版权所有 备案号：黑ICP备06000001号</td></tr></table></body></html>"""
    return page.encode("gbk")


def list_page(title: str, lines: list[str], organ: str) -> bytes:
    items = "".join(
        f"<li><a href='/ndbg/t{i}.html'>{html.escape(line.rsplit(' ', 1)[0])}</a>"
        f"<span>{line.rsplit(' ', 1)[-1]}</span></li>"
        for i, line in enumerate(lines)
    )
    page = f"""<html><head><meta charset="utf-8"><title>{title}_{organ}</title></head><body>
<div class="crumb">当前位置：首页 &gt; 政务公开 &gt; {title}</div><div class="list"><ul>{items}</ul></div>
<div class="page">共2页 <a href="index_1.html">下一页</a> <a href="index_1.html">尾页</a></div></body></html>"""
    return page.encode("utf-8")


def pdf_bytes(lines: list[str], width: int = 34) -> bytes:
    """A text PDF with Chinese in reportlab's built-in STSong-Light (no font file needed),
    each paragraph hard-wrapped every ``width`` characters as typeset reports are."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1)
    y = 800
    for para in lines:
        for i in range(0, max(len(para), 1), width):
            if y < 60:
                c.showPage()
                y = 800
            c.setFont("STSong-Light", 11)
            c.drawString(60, y, para[i : i + width])
            y -= 16
        y -= 6
    c.save()
    return buf.getvalue()


def render(
    template: str,
    title: str,
    lines: list[str],
    organ: str = "方正县人民政府",
    date: str = "2023-01-20",
) -> tuple[bytes, str, str | None]:
    """A page as (body, content type, landing title) in one of the templates."""
    r = Report("9901", title, lines, date, "hanweb" if template == "hanweb" else "trs")
    if template == "trs":
        return trs_page(r, organ.removesuffix("人民政府")), "text/html", None
    if template == "hanweb":
        return hanweb_page(r, organ), "text/html", None
    if template == "gkmlpt":
        return gkmlpt_page(title, lines, organ, date, heading=True), "text/html", None
    if template == "gkmlpt-noheading":  # the title only in the first paragraph
        return gkmlpt_page(title, [title, *lines], organ, date, heading=False), "text/html", None
    if template == "old":
        return old_page(title, lines, organ, date), "text/html", None
    if template == "list":
        return list_page(title, lines, organ), "text/html", None
    if template == "docx":
        return docx_bytes(title, lines), "application/octet-stream", title
    if template == "pdf":
        return pdf_bytes([title, *lines]), "application/pdf", title
    raise ValueError(f"unknown template {template!r}")


def new_format_lines(organ: str, year: int, requests: int = 3) -> list[str]:
    """A report in the 2021 format (国办公开办函〔2021〕30号): six sections, tables 二–四."""
    done = requests - 1
    return [
        "一、总体情况",
        f"{year}年，{organ}认真贯彻落实《中华人民共和国政府信息公开条例》，坚持以公开为常态、"
        "不公开为例外，全面推进决策、执行、管理、服务、结果公开。",
        f"（一）主动公开。全年通过门户网站主动公开政府信息{400 + year % 100}条，其中政策文件12件。",
        f"（二）依申请公开。全年收到政府信息公开申请{requests}件，均在法定期限内答复。",
        "（三）政府信息管理。严格落实保密审查制度，及时清理更新过时信息。",
        "二、主动公开政府信息情况",
        "第二十条第（一）项 | | |",
        "信息内容 | 本年制发件数 | 本年废止件数 | 现行有效件数",
        "规章 | 0 | 0 | 0",
        "行政规范性文件 | 3 | 1 | 15",
        "第二十条第（五）项 | | |",
        "行政许可 | 1260 | |",
        "第二十条第（八）项 | | |",
        "行政事业性收费 | 0 | |",
        "三、收到和处理政府信息公开申请情况",
        "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和） | 自然人 | 商业企业 | 总计",
        f"一、本年新收政府信息公开申请数量 | {requests} | 0 | {requests}",
        "二、上年结转政府信息公开申请数量 | 0 | 0 | 0",
        f"三、本年度办理结果 （一）予以公开 | {done} | 0 | {done}",
        "（三）不予公开 1.属于国家秘密 | 0 | 0 | 0",
        "（四）无法提供 1.本机关不掌握相关政府信息 | 1 | 0 | 1",
        f"（七）总计 | {requests} | 0 | {requests}",
        "四、结转下年度继续办理 | 0 | 0 | 0",
        "四、政府信息公开行政复议、行政诉讼情况",
        "行政复议 | 行政诉讼",
        "结果维持 | 结果纠正 | 其他结果 | 尚未审结 | 总计",
        "0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0",
        "五、存在的主要问题及改进情况",
        "一是政策解读形式不够丰富；二是基层政务公开标准化规范化水平有待提升。下一步将加强培训，"
        "提升公开质量。",
        "六、其他需要报告的事项",
        f"本机关{year}年未收取信息处理费。本年度报告中所列数据的统计期限自{year}年1月1日起至"
        f"{year}年12月31日止。",
    ]
