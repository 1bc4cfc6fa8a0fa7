"""Text the booking system should never have held, through every format of a real report.

A staff name of 10 kB with a NUL, a line break, a right-to-left override and an emoji; a
venue name with control characters, isolates and Hebrew. Each report still shows every
figure on the page, and no file carries a character its reader cannot show.
"""

import datetime as dt
import io
import shutil
import zipfile

import openpyxl
import pypdf
import pytest
import sqlalchemy as sa

from backroom_reporting.rendering.build import ReportBuilder, Subject
from backroom_reporting.rendering.charts import ChartRenderer
from backroom_reporting.rendering.formats import render
from backroom_reporting.rendering.layouts import load_layouts
from backroom_reporting.rendering.model import FORMATS
from backroom_reporting.rendering.periods import period_containing
from backroom_reporting.rendering.text import LONGEST
from backroom_reporting.warehouse.database import Database
from tests.rendering.conftest import LAYOUTS_DIR

NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
SATURDAY = dt.date(2026, 11, 21)
WEEK = period_containing("business_week", SATURDAY)
STAFF_NAME = "Zoë \u202e" + "x" * 10_000 + "\x00\r\n🎉 done"
VENUE_NAME = "The Backroom\x00\nLeeds\x07 🎉 \u2066לידס\u2069\x1b"
UNREADABLE = ["\x00", "\x07", "\x1b", "\r", "\u202e", "\u2066", "\u2069"]


@pytest.fixture(scope="module")
def hostile(reporting_world, tmp_path_factory):
    """A copy of the warehouse whose names are hostile, and the week's best bar sales per hour
    (the top bar performer's)."""
    copy = tmp_path_factory.mktemp("hostile") / "warehouse.db"
    shutil.copy(reporting_world.databases.warehouse_url.removeprefix("sqlite:///"), copy)
    engine = sa.create_engine(f"sqlite:///{copy}")
    with engine.begin() as conn:
        week = {"first": WEEK.first_day.isoformat(), "last": WEEK.last_day.isoformat()}
        staff_id, per_hour = conn.execute(
            sa.text(
                "SELECT staff_id, SUM(bar_sales_pence) / SUM(hours_on_shift) AS per_hour "
                "FROM staff_performance WHERE business_date BETWEEN :first AND :last AND role = 'bar' "
                "GROUP BY staff_id "
                "HAVING SUM(hours_on_shift) > 0 ORDER BY per_hour DESC LIMIT 1"
            ),
            week,
        ).one()
        conn.execute(
            sa.text("UPDATE staff_performance SET staff_name = :name WHERE staff_id = :id"),
            {"name": STAFF_NAME, "id": staff_id},
        )
        conn.execute(sa.text("UPDATE raw_venues SET name = :name"), {"name": VENUE_NAME})
    engine.dispose()
    return Database(f"sqlite:///{copy}"), per_hour


@pytest.fixture(scope="module")
def files(hostile):
    db, _ = hostile
    layouts = load_layouts(LAYOUTS_DIR)
    rendered = {}
    with ChartRenderer() as charts:
        for template, day in (("daily_summary", SATURDAY), ("weekly_summary", WEEK.first_day)):
            layout = layouts[template]
            period = period_containing(layout.period, day)
            report = ReportBuilder(db, layout, period, Subject("backroom-leeds"), NOW).build()
            produced, _ = render(report, FORMATS, charts, LAYOUTS_DIR)
            rendered[template] = {f.format: f.content for f in produced}
    return rendered


def texts_of(template_files: dict[str, bytes]) -> dict[str, str]:
    """What a reader of each text format sees: the HTML, every CSV, every cell of the workbook."""
    out = {"html": template_files["html"].decode()}
    csv = template_files["csv"]
    if csv.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(csv)) as archive:
            out["csv"] = "\n".join(archive.read(n).decode("utf-8-sig") for n in archive.namelist())
    else:
        out["csv"] = csv.decode("utf-8-sig")
    book = openpyxl.load_workbook(io.BytesIO(template_files["xlsx"]))
    out["xlsx"] = "\n".join(
        str(cell.value)
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, str)
    )
    return out


@pytest.mark.parametrize("template", ["daily_summary", "weekly_summary"])
def test_no_format_carries_a_character_its_reader_cannot_show(files, template):
    for fmt, text in texts_of(files[template]).items():
        for char in UNREADABLE:
            assert char not in text.replace("\r\n", "\n"), (fmt, repr(char))
        assert "x" * (LONGEST + 1) not in text, fmt  # the 10 kB name is cut
        assert "The Backroom Leeds" in text or fmt != "html", fmt


def test_a_long_staff_name_is_cut_and_its_figures_stay_on_the_page(files, hostile):
    _, per_hour = hostile
    html = files["weekly_summary"]["html"].decode()
    assert "Zoë x" in html and "…" in html
    pdf = pypdf.PdfReader(io.BytesIO(files["weekly_summary"]["pdf"]))
    text = "\n".join(page.extract_text() for page in pdf.pages)
    assert f"£{per_hour / 100:,.2f}" in text  # the top bar performer's sales per hour, on a page
    for page in pdf.pages:
        assert not text_beyond_the_page(page)


def text_beyond_the_page(page: pypdf.PageObject) -> list[float]:
    """Where each run of text on `page` starting left or right of it starts (x, in points)."""
    width, beyond = float(page.mediabox.width), []

    def outside(operator, _args, cm, tm):
        if operator in (b"Tj", b"TJ"):  # each run of text shown starts at the text matrix
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            if not 0 <= x <= width:
                beyond.append(x)

    page.extract_text(visitor_operand_before=outside)
    return beyond


def test_scripts_and_emoji_are_kept(files):
    html = files["daily_summary"]["html"].decode()
    assert "The Backroom Leeds 🎉 לידס" in html
