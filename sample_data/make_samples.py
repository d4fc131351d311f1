"""Regenerate the sample exports in this folder, byte for byte (run: python sample_data/make_samples.py).

Each file imitates one platform's export as downloaded: encoding, byte-order mark, delimiter, line
endings, title lines and sections.  Every person is invented and uses an example.com/.org/.net address.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from pathlib import Path

import xlsxwriter

HERE = Path(__file__).resolve().parent


def _csv_text(rows: Sequence[Sequence[str]], *, delimiter: str = ",", trailing: bool = False) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow([*row, ""] if trailing else list(row))
    return out.getvalue()


ZOOM_ATTENDEE_HEADER = (
    "Attended,User Name (Original Name),First Name,Last Name,Email,Registration Time,Approval Status,Join Time,"
    "Leave Time,Time in Session (minutes),Is Guest,Country/Region Name,Job Title"
).split(",")
ZOOM_STAFF_HEADER = (
    "Attended,User Name (Original Name),Email,Join Time,Leave Time,Time in Session (minutes),Is Guest,"
    "Country/Region Name"
).split(",")
ZOOM_TOPIC_HEADER = (
    "Topic,Webinar ID,Actual Start Time,Actual Duration (minutes),# Registered,# Cancelled,Unique Viewers,"
    "Total Users,Max Concurrent Views"
).split(",")


def zoom_attendee_report() -> bytes:
    rows: list[list[str]] = [
        ["Attendee Report"],
        ["Report Generated:", "Nov 5, 2024 12:15 PM"],
        ZOOM_TOPIC_HEADER,
        ["Q4 Product Launch Webinar", "812 3456 7890", "Nov 5, 2024 10:55:12", "68", "12", "1", "8", "10", "8"],
        ["Host Details"],
        ZOOM_STAFF_HEADER,
        [
            "Yes",
            "Olivia Host",
            "olivia.host@example.com",
            "Nov 5, 2024 10:50:02",
            "Nov 5, 2024 12:03:40",
            "74",
            "No",
            "United States",
        ],
        ["Panelist Details"],
        ZOOM_STAFF_HEADER,
        [
            "Yes",
            "Pat Panel",
            "pat.panel@example.org",
            "Nov 5, 2024 10:52:10",
            "Nov 5, 2024 12:01:00",
            "69",
            "No",
            "Canada",
        ],
        ["Attendee Details"],
        ZOOM_ATTENDEE_HEADER,
    ]
    people = [
        (
            "Yes",
            "Jane Doe",
            "Jane",
            "Doe",
            "jane.doe@example.com",
            "Oct 28, 2024 09:14:22",
            "approved",
            "Nov 5, 2024 10:58:03",
            "Nov 5, 2024 11:40:10",
            "43",
            "Marketing Manager",
        ),
        (
            "Yes",
            "Jane Doe",
            "Jane",
            "Doe",
            "jane.doe@example.com",
            "Oct 28, 2024 09:14:22",
            "approved",
            "Nov 5, 2024 11:45:30",
            "Nov 5, 2024 12:02:55",
            "18",
            "Marketing Manager",
        ),
        (
            "Yes",
            "Carlos Ruiz",
            "Carlos",
            "Ruiz",
            "Carlos.Ruiz@Example.org",
            "10/29/2024 04:02:11 PM",
            "approved",
            "11/05/2024 10:59:47 AM",
            "11/05/2024 12:00:02 PM",
            "61",
            "Data Analyst",
        ),
        (
            "Yes",
            "Mei Chen (Mei)",
            "Mei",
            "Chen",
            "mei.chen@example.net",
            "Oct 30, 2024 11:20:00",
            "approved",
            "Nov 5, 2024 11:02:15",
            "Nov 5, 2024 11:58:40",
            "57",
            "CTO",
        ),
        (
            "Yes",
            "Ahmed Khan",
            "Ahmed",
            "Khan",
            "ahmed.khan@example.com",
            "Nov 1, 2024 08:45:33",
            "approved",
            "Nov 5, 2024 11:05:09",
            "Nov 5, 2024 11:30:00",
            "25",
            "Consultant",
        ),
        (
            "Yes",
            "Lena Fischer",
            "Lena",
            "Fischer",
            "lena.fischer@example.org",
            "Nov 2, 2024 19:03:41",
            "approved",
            "Nov 5, 2024 10:56:30",
            "Nov 5, 2024 12:03:10",
            "67",
            "Product Owner",
        ),
        (
            "Yes",
            "Tom Baker",
            "Tom",
            "Baker",
            "tom.baker@example.net",
            "Nov 3, 2024 07:30:12",
            "approved",
            "Nov 5, 2024 11:10:45",
            "Nov 5, 2024 11:55:20",
            "45",
            "Engineer",
        ),
        (
            "No",
            "Sam Noshow",
            "Sam",
            "Noshow",
            "sam.noshow@example.com",
            "Nov 4, 2024 15:22:08",
            "approved",
            "--",
            "--",
            "--",
            "Sales Lead",
        ),
        (
            "No",
            "Priya Patel",
            "Priya",
            "Patel",
            "priya.patel@example.org",
            "Nov 4, 2024 17:41:55",
            "approved",
            "--",
            "--",
            "--",
            "Designer",
        ),
        (
            "No",
            "Rex Denied",
            "Rex",
            "Denied",
            "rex.denied@example.net",
            "Nov 4, 2024 18:00:00",
            "denied",
            "--",
            "--",
            "--",
            "Student",
        ),
    ]
    for att, user, first, last, email, reg, status, join, leave, mins, job in people:
        rows.append([att, user, first, last, email, reg, status, join, leave, mins, "No", "United States", job])
    return b"\xef\xbb\xbf" + _csv_text(rows, trailing=True).encode("utf-8")


def zoom_registration_report() -> bytes:
    rows: list[list[str]] = [
        ["Registration Report"],
        ["Report Generated:", "Nov 4, 2024 09:00 AM"],
        ["Topic", "Webinar ID", "Scheduled Time", "# Registered"],
        ["Q4 Product Launch Webinar", "812 3456 7890", "Nov 5, 2024 11:00 AM", "5"],
        ["Registrant Details"],
        ["First Name", "Last Name", "Email", "Registration Time", "Approval Status", "Job Title"],
        ["Jane", "Doe", "jane.doe@example.com", "Oct 28, 2024 09:14:22", "approved", "Marketing Manager"],
        ["Carlos", "Ruiz", "carlos.ruiz@example.org", "Oct 29, 2024 16:02:11", "approved", "Data Analyst"],
        ["Nina", "Wait", "nina.wait@example.net", "Nov 1, 2024 10:00:00", "pending", "Student"],
        ["Rex", "Denied", "rex.denied@example.net", "Nov 4, 2024 18:00:00", "denied", "Student"],
        ["Priya", "Patel", "priya.patel@example.org", "Nov 4, 2024 17:41:55", "approved", "Designer"],
    ]
    return b"\xef\xbb\xbf" + _csv_text(rows, trailing=True).encode("utf-8")


def teams_attendance() -> bytes:
    rows: list[list[str]] = [
        ["1. Summary"],
        ["Meeting title", "Customer Onboarding\nOffice Hours"],
        ["Attended participants", "8"],
        ["Start time", "11/13/24, 2:00:05 PM"],
        ["End time", "11/13/24, 3:05:52 PM"],
        ["Meeting duration", "1h 5m 47s"],
        ["Average attendance time", "48m 12s"],
        [""],
        ["2. Participants"],
        ["Name", "First Join", "Last Leave", "In-Meeting Duration", "Email", "Participant ID (UPN)", "Role"],
        [
            "Megan Organizer",
            "11/13/24, 1:58:40 PM",
            "11/13/24, 3:05:52 PM",
            "1h 7m 12s",
            "megan.organizer@example.com",
            "megan.organizer@example.com",
            "Organizer",
        ],
        [
            "Tom Lee (External)",
            "11/13/24, 2:01:10 PM",
            "11/13/24, 3:00:02 PM",
            "58m 52s",
            "tom.lee@example.net",
            "",
            "Attendee",
        ],
        [
            "Ana Silva",
            "11/13/24, 2:02:33 PM",
            "11/13/24, 3:05:50 PM",
            "1h 3m 17s",
            "ana.silva@example.com",
            "ana.silva@example.com",
            "Presenter",
        ],
        [
            "Mei Chen (External)",
            "11/13/24, 2:05:00 PM",
            "11/13/24, 2:50:41 PM",
            "45m 41s",
            "Mei.Chen@example.net",
            "",
            "Attendee",
        ],
        ["Alex Guest (Unverified)", "11/13/24, 2:07:19 PM", "11/13/24, 2:40:00 PM", "32m 41s", "", "", "Attendee"],
        [
            "Jonas Weber",
            "11/13/24, 2:00:59 PM",
            "11/13/24, 3:05:52 PM",
            "1h 4m 53s",
            "jonas.weber@example.org",
            "jonas.weber@example.org",
            "Attendee",
        ],
        [
            "Grace Kim (External)",
            "11/13/24, 2:13:27 PM",
            "11/13/24, 3:01:15 PM",
            "47m 48s",
            "grace.kim@example.com",
            "",
            "Attendee",
        ],
        [
            "Omar Haddad",
            "11/13/24, 2:03:03 PM",
            "11/13/24, 2:31:00 PM",
            "27m 57s",
            "omar.haddad@example.org",
            "omar.haddad@example.org",
            "Attendee",
        ],
        [""],
        ["3. In-Meeting Activities"],
        ["Name", "Join Time", "Leave Time", "Duration", "Email", "Role"],
        [
            "Megan Organizer",
            "11/13/24, 1:58:40 PM",
            "11/13/24, 3:05:52 PM",
            "1h 7m 12s",
            "megan.organizer@example.com",
            "Organizer",
        ],
        [
            "Tom Lee (External)",
            "11/13/24, 2:01:10 PM",
            "11/13/24, 2:30:00 PM",
            "28m 50s",
            "tom.lee@example.net",
            "Attendee",
        ],
        [
            "Tom Lee (External)",
            "11/13/24, 2:31:12 PM",
            "11/13/24, 3:00:02 PM",
            "28m 50s",
            "tom.lee@example.net",
            "Attendee",
        ],
        [
            "Omar Haddad",
            "11/13/24, 2:03:03 PM",
            "11/13/24, 2:31:00 PM",
            "27m 57s",
            "omar.haddad@example.org",
            "Attendee",
        ],
    ]
    return b"\xff\xfe" + _csv_text(rows, delimiter="\t").encode("utf-16-le")


GENERIC_PEOPLE = [
    # email, record id, first, last, join time (New York wall clock)
    ("jane.doe@example.com", "", "Jane", "Doe", "2024-11-05 10:58:03"),
    ("carlos.ruiz@example.org", "1201", "Carlos", "Ruiz", "2024-11-05 10:59:47"),
    ("Jane.Doe@Example.com", "", "Jane", "Doe", "2024-11-05 11:45:30"),
    ("mei.chen@example.net", "1203", "Mei", "Chen", "2024-11-05 11:02:15"),
    ("ahmed.khan@example.com", "", "Ahmed", "Khan", "2024-11-05 11:05:09"),
    ("lena.fischer@example.org", "1205", "Lena", "Fischer", "2024-11-05 10:56:30"),
    ("tom.baker@@example.net", "", "Tom", "Baker", "2024-11-05 11:10:45"),
    ("unknown.person@example.net", "", "Unknown", "Person", "2024-11-05 11:15:00"),
    ("grace.kim@example.com", "1208", "Grace", "Kim", "2024-11-05 11:00:12"),
    ("omar.haddad@example.org", "", "Omar", "Haddad", "2024-11-05 11:03:03"),
    ("ana.silva@example.com", "1210", "Ana", "Silva", "2024-11-05 10:57:00"),
    ("jonas.weber@example.org", "", "Jonas", "Weber", "2024-11-05 11:20:41"),
]


def generic_attendees_csv() -> bytes:
    rows = [["Email", "Record ID", "First Name", "Last Name", "Join Time"]] + [list(p) for p in GENERIC_PEOPLE]
    return _csv_text(rows).encode("utf-8")


def _workbook(path: Path, fill: object) -> None:
    wb = xlsxwriter.Workbook(str(path), {"in_memory": True})
    wb.set_properties({"created": dt.datetime(2024, 11, 20, 9, 0, 0)})
    fill(wb)  # type: ignore[operator]
    wb.close()


def generic_attendees_xlsx(path: Path) -> None:
    def fill(wb: xlsxwriter.Workbook) -> None:
        ws = wb.add_worksheet("Attendees")
        when = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        for col, head in enumerate(["Email", "Record ID", "First Name", "Last Name", "Join Time"]):
            ws.write_string(0, col, head)
        for r, (email, vid, first, last, join) in enumerate(GENERIC_PEOPLE, start=1):
            ws.write_string(r, 0, email)
            if vid:
                ws.write_number(r, 1, int(vid))
            ws.write_string(r, 2, first)
            ws.write_string(r, 3, last)
            ws.write_datetime(r, 4, dt.datetime.fromisoformat(join), when)

    _workbook(path, fill)


def goto_webinar_attendees(path: Path) -> None:
    def fill(wb: xlsxwriter.Workbook) -> None:
        ws = wb.add_worksheet("Attendee Report")
        when = wb.add_format({"num_format": "mm/dd/yyyy hh:mm AM/PM"})
        ws.write_string(0, 0, "Attendee Report")
        ws.write_string(1, 0, "Report Generated:")
        ws.write_string(1, 1, "Nov 19, 2024 01:30 PM EST")
        ws.write_string(3, 0, "General Information")
        info = ["Webinar Name", "Webinar ID", "Actual Start Date/Time", "Actual Duration", "# Registered", "# Attended"]
        for col, head in enumerate(info):
            ws.write_string(4, col, head)
        for col, value in enumerate(
            ["Data Governance 101", "123-456-789", "Nov 19, 2024 11:00 AM EST", "58 minutes", "9", "6"]
        ):
            ws.write_string(5, col, value)
        ws.write_string(7, 0, "Session Details")
        columns = [
            "Attended",
            "Interest Rating",
            "First Name",
            "Last Name",
            "Email",
            "Registration Date",
            "Join Time",
            "Leave Time",
            "In Session Duration (minutes)",
            "Country/Region",
            "Organization",
        ]
        for col, text in enumerate(columns):
            ws.write_string(8, col, text)
        people = [
            (
                "Yes",
                82,
                "Ana",
                "Silva",
                "ana.silva@example.com",
                "Nov 12, 2024 09:30 AM EST",
                dt.datetime(2024, 11, 19, 11, 1),
                57,
            ),
            (
                "Yes",
                64,
                "Tom",
                "Lee",
                "tom.lee@example.net",
                "Nov 13, 2024 02:15 PM EST",
                dt.datetime(2024, 11, 19, 11, 3),
                40,
            ),
            (
                "Yes",
                90,
                "Grace",
                "Kim",
                "grace.kim@example.com",
                "Nov 14, 2024 10:05 AM EST",
                "Nov 19, 2024 11:02 AM EST",
                55,
            ),
            (
                "Yes",
                71,
                "Jonas",
                "Weber",
                "Jonas.Weber@Example.org",
                "Nov 15, 2024 04:45 PM EST",
                dt.datetime(2024, 11, 19, 11, 9),
                33,
            ),
            (
                "Yes",
                55,
                "Omar",
                "Haddad",
                "omar.haddad@example.org",
                "Nov 15, 2024 05:00 PM EST",
                dt.datetime(2024, 11, 19, 11, 15),
                20,
            ),
            (
                "Yes",
                77,
                "Mei",
                "Chen",
                "mei.chen@example.net",
                "Nov 16, 2024 08:20 AM EST",
                dt.datetime(2024, 11, 19, 11, 0),
                58,
            ),
            ("No", None, "Sam", "Noshow", "sam.noshow@example.com", "Nov 17, 2024 12:00 PM EST", None, None),
            ("No", None, "Priya", "Patel", "priya.patel@example.org", "Nov 18, 2024 07:10 PM EST", None, None),
            ("No", None, "Lena", "Fischer", "lena.fischer@example.org", "Nov 18, 2024 09:55 PM EST", None, None),
        ]
        for r, (att, rating, first, last, email, reg, join, mins) in enumerate(people, start=9):
            ws.write_string(r, 0, att)
            if rating is not None:
                ws.write_number(r, 1, rating)
            ws.write_string(r, 2, first)
            ws.write_string(r, 3, last)
            ws.write_string(r, 4, email)
            ws.write_string(r, 5, reg)
            if isinstance(join, dt.datetime):
                ws.write_datetime(r, 6, join, when)
                ws.write_datetime(r, 7, join + dt.timedelta(minutes=mins or 0), when)
            elif isinstance(join, str):
                ws.write_string(r, 6, join)
                ws.write_string(r, 7, "Nov 19, 2024 11:57 AM EST")
            if mins is not None:
                ws.write_number(r, 8, mins)
            ws.write_string(r, 9, "United States")
            ws.write_string(r, 10, "Example Corp")

    _workbook(path, fill)


def eventbrite_orders() -> bytes:
    head = [
        "Order #",
        "Order Date",
        "First Name",
        "Last Name",
        "Email",
        "Quantity",
        "Ticket Type",
        "Attendee #",
        "Attendee Status",
        "Job Title",
        "Company",
    ]
    people = [
        ("1100201", "11/29/24 22:28", "Jane", "Doe", "jane.doe@example.com", "General Admission", "Attending"),
        ("1100202", "11/30/24 08:05", "Carlos", "Ruiz", "carlos.ruiz@example.org", "General Admission", "Checked In"),
        ("1100203", "11/30/24 09:41", "Mei", "Chen", "mei.chen@example.net", "VIP", "Checked In"),
        ("1100204", "12/01/24 14:12", "Ahmed", "Khan", "ahmed.khan@example.com", "General Admission", "Not Attending"),
        ("1100205", "12/01/24 18:30", "Lena", "Fischer", "lena.fischer@example.org", "Early Bird", "Refunded"),
        ("1100206", "12/02/24 10:00", "Tom", "Baker", "tom.baker@example.net", "General Admission", "Transferred"),
        ("1100207", "12/02/24 10:02", "Grace", "Kim", "grace.kim@example.com", "General Admission", "Attending"),
        ("1100208", "12/03/24 07:55", "Omar", "Haddad", "omar.haddad@example.org", "VIP", "Attending"),
        ("1100209", "12/03/24 16:20", "Ana", "Silva", "ana.silva@example.com", "Early Bird", "Checked In"),
        ("1100210", "12/04/24 12:48", "Jonas", "Weber", "jonas.weber@example.org", "General Admission", "Attending"),
    ]
    rows: list[list[str]] = [head]
    rows += [
        [order, date, first, last, email, "1", ticket, str(int(order) * 10 + 1), status, "Analyst", "Example Corp"]
        for order, date, first, last, email, ticket, status in people
    ]
    return _csv_text(rows).encode("utf-8")


def luma_guests() -> bytes:
    head = [
        "api_id",
        "name",
        "first_name",
        "last_name",
        "email",
        "phone_number",
        "created_at",
        "approval_status",
        "checked_in_at",
        "custom_source",
        "qr_code_url",
        "ticket_name",
    ]
    people = [
        (
            "gst-0001",
            "Jane Doe",
            "jane.doe@example.com",
            "2024-11-20T14:03:11.204Z",
            "approved",
            "2024-12-03T17:58:40.000Z",
        ),
        ("gst-0002", "Carlos Ruiz", "carlos.ruiz@example.org", "2024-11-21T09:12:45.871Z", "approved", ""),
        (
            "gst-0003",
            "Mei Chen",
            "mei.chen@example.net",
            "2024-11-22T16:40:02.015Z",
            "approved",
            "2024-12-03T18:02:13.000Z",
        ),
        ("gst-0004", "Ahmed Khan", "ahmed.khan@example.com", "2024-11-23T11:11:11.111Z", "declined", ""),
        ("gst-0005", "Lena Fischer", "lena.fischer@example.org", "2024-11-24T08:00:59.300Z", "waitlist", ""),
        ("gst-0006", "Tom Baker", "tom.baker@example.net", "2024-11-25T19:20:30.400Z", "pending_approval", ""),
        ("gst-0007", "Grace Kim", "grace.kim@example.com", "2024-11-26T13:14:15.500Z", "invited", ""),
        (
            "gst-0008",
            "Omar Haddad",
            "omar.haddad@example.org",
            "2024-11-27T10:10:10.600Z",
            "approved",
            "2024-12-03T18:10:00.000Z",
        ),
        ("gst-0009", "Ana Silva", "ana.silva@example.com", "2024-11-28T07:07:07.700Z", "approved", ""),
    ]
    rows = [head] + [
        [
            api,
            name,
            *name.split(" ", 1),
            email,
            "",
            created,
            status,
            checked,
            "",
            f"https://lu.ma/check-in/{api}",
            "Standard",
        ]
        for api, name, email, created, status, checked in people
    ]
    return _csv_text(rows, delimiter=",").replace("\r\n", "\n").encode("utf-8")


def deutsch_teilnehmer() -> bytes:
    head = ["Vorname", "Nachname", "E-Mail-Adresse", "Anmeldedatum", "Beitrittszeit", "Teilgenommen", "Firma"]
    people = [
        (
            "Jürgen",
            "Müller",
            "juergen.mueller@example.com",
            "15.10.2024 09:12",
            "22.10.2024 17:04",
            "Ja",
            "Beispiel GmbH",
        ),
        ("Änne", "Schröder", "aenne.schroeder@example.org", "16.10.2024 11:30", "22.10.2024 17:01", "Ja", "Muster AG"),
        ("Björn", "Weiß", "bjoern.weiss@example.net", "17.10.2024 08:45", "", "Nein", "Straße & Co KG"),
        ("Sören", "Groß", "soeren.gross@example.com", "18.10.2024 14:20", "22.10.2024 17:10", "Ja", "Größe GmbH"),
        ("Zoë", "Bäcker", "zoe.baecker@example.org", "19.10.2024 19:05", "", "Nein", "Bäckerei Bäcker"),
        (
            "Lukas",
            "Köhler",
            "lukas.koehler@example.net",
            "20.10.2024 07:55",
            "22.10.2024 17:03",
            "Ja",
            "Köhler & Söhne",
        ),
        ("Hannah", "Fuß", "hannah.fuss@example.com", "21.10.2024 21:40", "22.10.2024 17:20", "Ja", "Fuß OHG"),
    ]
    rows = [head] + [list(p) for p in people]
    return _csv_text(rows, delimiter=";").encode("cp1252")


def hubspot_contacts_export() -> bytes:
    head = ["Record ID", "First Name", "Last Name", "Email", "Lifecycle Stage", "Create Date"]
    people = [
        ("1201", "Carlos", "Ruiz", "carlos.ruiz@example.org", "Lead", "2024-03-02 10:11"),
        ("1202", "Jane", "Doe", "jane.doe@example.com", "Customer", "2023-11-14 08:00"),
        ("1203", "Mei", "Chen", "mei.chen@example.net", "Opportunity", "2024-01-20 12:30"),
        ("1204", "Ahmed", "Khan", "Ahmed.Khan@example.com", "Lead", "2024-05-05 09:45"),
        ("1205", "Lena", "Fischer", "lena.fischer@example.org", "Subscriber", "2024-06-18 16:20"),
        ("1208", "Grace", "Kim", "grace.kim@example.com", "Lead", "2024-07-01 11:00"),
        ("1209", "Omar", "Haddad", "omar.haddad@example.org", "Customer", "2024-08-12 14:14"),
        ("1219", "Omar", "Haddad", "omar.haddad@example.org", "Lead", "2024-09-30 10:05"),
        ("1210", "Ana", "Silva", "ana.silva@example.com", "Customer", "2024-02-29 13:37"),
        ("1211", "Jonas", "Weber", "jonas.weber@example.org", "Lead", "2024-10-10 10:10"),
        ("1212", "No", "Email", "", "Lead", "2024-10-11 10:10"),
    ]
    rows = [head] + [list(p) for p in people]
    return _csv_text(rows).encode("utf-8")


def zoom_meeting_participants() -> bytes:
    """The 2021 participants export: meeting block, a blank line, then the participants with Guest and
    Recording Consent (header as in public copies of the export, e.g. Lightbridge-KS/zoomclass)."""
    rows: list[list[str]] = [
        ["Meeting ID", "Topic", "Start Time", "End Time", "User Email", "Duration (Minutes)", "Participants"],
        [
            "81234567890",
            "Customer Roundtable",
            "11/07/2024 09:55:12 AM",
            "11/07/2024 11:02:40 AM",
            "olivia.host@example.com",
            "68",
            "7",
        ],
        ["", "", "", "", "", "", ""],
        [
            "Name (Original Name)",
            "User Email",
            "Join Time",
            "Leave Time",
            "Duration (Minutes)",
            "Guest",
            "Recording Consent",
        ],
    ]
    people = [
        ("Olivia Host", "olivia.host@example.com", "09:55:12 AM", "11:02:40 AM", "68", "No", ""),
        ("Jane Doe", "jane.doe@example.com", "10:31:05 AM", "11:00:00 AM", "29", "Yes", "Y"),  # rejoin listed first
        ("Jane Doe", "jane.doe@example.com", "09:58:40 AM", "10:29:10 AM", "31", "Yes", "Y"),
        ("Carlos R (Carlos Ruiz)", "Carlos.Ruiz@Example.org", "10:00:03 AM", "11:01:00 AM", "61", "Yes", "Y"),
        ("Mei Chen", "mei.chen@example.net", "10:02:15 AM", "10:45:00 AM", "43", "No", "Y"),
        ("iPhone de Ahmed", "", "10:05:00 AM", "10:20:00 AM", "15", "Yes", ""),
        ("Lena Fischer", "lena.fischer@example.org", "10:12:44 AM", "11:02:00 AM", "50", "Yes", "Y"),
    ]
    for name, email, join, leave, mins, guest, consent in people:
        rows.append([name, email, f"11/07/2024 {join}", f"11/07/2024 {leave}", mins, guest, consent])
    return b"\xef\xbb\xbf" + _csv_text(rows).encode("utf-8")


def zoom_participants_current() -> bytes:
    """Today's portal export: lower-case headers, Email, a waiting-room line per admitted guest."""
    rows: list[list[str]] = [
        ["Topic", "ID", "Duration (minutes)", "Start time", "End time", "Participants"],
        ["Partner Office Hours", "852 1848 6288", "62", "11/14/2024 02:00:05 PM", "11/14/2024 03:02:11 PM", "4"],
        [],
        [
            "Name (original name)",
            "Email",
            "Join time",
            "Leave time",
            "Duration (minutes)",
            "Guest",
            "Recording disclaimer response",
            "In waiting room",
        ],
        ["Tom Lee", "tom.lee@example.net", "11/14/2024 01:58:30 PM", "11/14/2024 02:00:01 PM", "2", "Yes", "", "Yes"],
        ["Tom Lee", "tom.lee@example.net", "11/14/2024 02:00:02 PM", "11/14/2024 03:00:00 PM", "60", "Yes", "OK", "No"],
        [
            "Ana S (Ana Silva)",
            "ana.silva@example.com",
            "11/14/2024 02:01:10 PM",
            "11/14/2024 03:02:11 PM",
            "61",
            "Yes",
            "OK",
            "No",
        ],
        [
            "Grace Kim",
            "grace.kim@example.com",
            "11/14/2024 02:03:27 PM",
            "11/14/2024 02:40:00 PM",
            "37",
            "Yes",
            "OK",
            "No",
        ],
        [
            "Omar Haddad",
            "omar.haddad@example.org",
            "11/14/2024 01:59:00 PM",
            "11/14/2024 02:05:00 PM",
            "6",
            "Yes",
            "",
            "Yes",
        ],
    ]
    return b"\xef\xbb\xbf" + _csv_text(rows).encode("utf-8")


def zoom_participants_japanese() -> bytes:
    """The Japanese portal's export (header as in yu-9824/zoom_participant's example), year-first dates."""
    rows = [
        ["名前 (元の名前)", "ユーザーメール", "参加時刻", "退出時刻", "所要時間（分）"],
        ["山田 太郎", "taro.yamada@example.jp", "2024/12/10 8:35", "2024/12/10 12:39", "245"],
        ["佐藤 花子", "hanako.sato@example.jp", "2024/12/10 9:01", "2024/12/10 9:56", "55"],
        ["山田 太郎", "taro.yamada@example.jp", "2024/12/10 12:40", "2024/12/10 12:45", "5"],
        ["鈴木 一郎 (Ichiro)", "ichiro.suzuki@example.jp", "2024/12/10 10:13", "2024/12/10 12:39", "146"],
    ]
    return b"\xef\xbb\xbf" + _csv_text(rows).encode("utf-8")


def zoom_participants_with_meeting_data() -> bytes:
    """ "Export with meeting data": the meeting's columns, then the participant's, on every line; the host's
    User Email comes first (column list as microsoft/vivainsights_zoom_int documents it)."""
    head = (
        "Topic,Meeting ID,User Name,User Email,Department,Group,Has Zoom Rooms,Creation Time,Start Time,End Time,"
        "Duration (Minutes),Participants,Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),"
        "Guest,Recording Consent,In Waiting Room"
    ).split(",")
    meeting = ["Quarterly Review", "852 1848 6288", "Olivia Host", "olivia.host@example.com", "Sales", "EMEA", "No",
               "15/11/2024 08:12", "21/11/2024 14:00", "21/11/2024 15:01", "61", "3"]  # fmt: skip
    people = [
        ("Jonas Weber", "jonas.weber@example.org", "21/11/2024 14:00", "21/11/2024 15:01", "61", "No", "", "No"),
        ("Lena Fischer", "lena.fischer@example.org", "21/11/2024 14:04", "21/11/2024 14:58", "54", "Yes", "", "No"),
        ("Priya Patel", "priya.patel@example.org", "21/11/2024 13:58", "21/11/2024 14:01", "3", "Yes", "", "Yes"),
    ]
    rows = [head] + [[*meeting, *p[:4], p[4], p[5], p[6], p[7]] for p in people]
    return _csv_text(rows).encode("utf-8")


def zoom_registrants() -> bytes:
    """A webinar's registrants with their personal join links (the issue's header)."""
    rows = [["Webinar ID", "Display Name", "Attendee Email", "Attendee Join Link"]]
    for name, email, token in [
        ("Jane Doe", "jane.doe@example.com", "a1"),
        ("Carlos Ruiz", "carlos.ruiz@example.org", "b2"),
        ("Mei Chen", "mei.chen@example.net", "c3"),
        ("Sam Noshow", "sam.noshow@example.com", "d4"),
    ]:
        rows.append(["812 3456 7890", name, email, f"https://example.zoom.us/w/81234567890?tk={token}"])
    return _csv_text(rows).encode("utf-8")


def teams_meeting_attendance_list() -> bytes:
    """Teams' legacy meetingAttendanceList.csv: UTF-16, tabs, a line per join or leave, no emails."""
    rows = [
        ["Full Name", "User Action", "Timestamp"],
        ["Megan Organizer", "Joined", "11/13/2024, 1:58:40 PM"],
        ["Tom Lee", "Joined before", "11/13/2024, 2:01:10 PM"],
        ["Ana Silva", "Joined", "11/13/2024, 2:02:33 PM"],
        ["Tom Lee", "Left", "11/13/2024, 2:30:00 PM"],
    ]
    return b"\xff\xfe" + _csv_text(rows, delimiter="\t").encode("utf-16-le")


def webex_attendees() -> bytes:
    """Webex attendee report: a line per session joined (breakouts repeat people), guest placeholders."""
    head = ["Meeting Name", "Meeting Start Time", "Meeting End Time", "Session Name", "Display Name",
            "Attendee Email", "Join Time", "Leave Time", "Attendance Duration"]  # fmt: skip
    meeting = ["Partner Enablement", "11/20/2024 10:00 AM", "11/20/2024 11:05 AM"]
    people = [
        ("Main session", "Ana Silva", "ana.silva@example.com", "11/20/2024 10:01 AM", "11/20/2024 11:05 AM", "64 mins"),
        (
            "Breakout session 1",
            "Ana Silva",
            "ana.silva@example.com",
            "11/20/2024 10:30 AM",
            "11/20/2024 10:45 AM",
            "15 mins",
        ),
        (
            "Main session",
            "Jonas Weber",
            "Jonas.Weber@example.org",
            "11/20/2024 09:58 AM",
            "11/20/2024 11:00 AM",
            "62 mins",
        ),
        (
            "Main session",
            "Guest 7",
            "b5f0c1d2@guest.webex.localhost",
            "11/20/2024 10:07 AM",
            "11/20/2024 10:20 AM",
            "13 mins",
        ),
        ("Main session", "Mei Chen", "mei.chen@example.net", "11/20/2024 10:12 AM", "11/20/2024 10:55 AM", "43 mins"),
    ]
    rows = [head] + [[*meeting, *p] for p in people]
    return _csv_text(rows).encode("utf-8")


def generic_zoned_times() -> bytes:
    """A check-in sheet whose headers name the zones: registration in GMT+2 (dotted dates), check-in in UTC,
    and a badge-printing time the import does not use."""
    rows = [
        ["Email", "Full Name", "Registration date (GMT+2)", "Check-in time (UTC)", "Badge printed at"],
        ["ana.silva@example.com", "Ana Silva", "28.10.2024 09:15", "2024-11-05 13:02", "2024-11-05 13:01"],
        ["tom.lee@example.net", "Tom Lee", "30.10.2024 18:40", "2024-11-05 13:10:30", "2024-11-05 13:09"],
        ["grace.kim@example.com", "Grace Kim", "01.11.2024 07:05", "2024-11-05 12:58", "2024-11-05 12:57"],
    ]
    return _csv_text(rows).encode("utf-8")


def goto_meeting_attendees() -> bytes:
    """GoTo Meeting attendee report: a line per join, the organizer's own columns beside the attendee's."""
    head = ["meetingId", "meetingInstanceKey", "subject", "startTime", "endTime", "organizerkey", "firstName",
            "lastName", "email", "attendeeName", "attendeeEmail", "joinTime", "leaveTime", "duration",
            "conferenceCallInfo", "numAttendees"]  # fmt: skip
    meeting = ["123456789", "9876543", "Partner sync", "2024-11-19T16:00:00Z", "2024-11-19T17:05:00Z", "5550001",
               "Olivia", "Host", "olivia.host@example.com"]  # fmt: skip
    people = [
        ("Ana Silva", "ana.silva@example.com", "2024-11-19T16:01:12Z", "2024-11-19T16:40:00Z", "39", "VoIP"),
        ("Tom Lee", "tom.lee@example.net", "2024-11-19T15:59:30Z", "2024-11-19T17:05:00Z", "66", "VoIP"),
        ("Ana Silva", "ana.silva@example.com", "2024-11-19T16:45:05Z", "2024-11-19T17:05:00Z", "20", "VoIP"),
        ("Caller 1", "", "2024-11-19T16:03:00Z", "2024-11-19T16:50:00Z", "47", "PSTN"),
        ("Mei Chen", "mei.chen@example.net", "2024-11-19T16:05:00Z", "2024-11-19T17:00:00Z", "55", "VoIP"),
    ]
    rows = [head] + [[*meeting, *p, "5"] for p in people]
    return _csv_text(rows).encode("utf-8")


def on24_attendees() -> bytes:
    """ON24 audience export: live viewers, a recording-only viewer, a no-show registrant, a blocked user."""
    head = ["email", "eventuserid", "exteventusercd", "userstatus", "isblocked", "engagementscore", "liveminutes",
            "liveviewed", "firstliveactivity", "lastliveactivity", "archiveminutes", "archiveviewed",
            "firstarchiveactivity", "lastarchiveactivity", "askedquestions", "resourcesdownloaded", "answeredpolls",
            "answeredsurveys", "launchmode"]  # fmt: skip
    rows = [
        head,
        ["ana.silva@example.com", "49502149", "1502", "active", "N", "8.5", "40", "1", "2024-11-20T10:01:42-05:00",
         "2024-11-20T10:41:42-05:00", "0", "0", "", "", "2", "2", "2", "1", "At the Venue"],
        ["tom.lee@example.net", "49502161", "1504", "active", "N", "4.1", "15", "1", "", "", "32", "1",
         "2024-11-21T06:14:17-05:00", "2024-11-21T06:46:48-05:00", "0", "0", "0", "0", ""],
        ["grace.kim@example.com", "49502162", "1505", "active", "N", "4.1", "0", "0", "", "", "32", "1",
         "2024-11-21T08:14:17-05:00", "2024-11-21T08:46:48-05:00", "0", "0", "0", "0", ""],
        ["rex.blocked@example.net", "49502170", "1510", "active", "Y", "0.5", "5", "1", "2024-11-20T10:03:00-05:00",
         "2024-11-20T10:08:00-05:00", "0", "0", "", "", "0", "0", "0", "0", ""],
        ["mei.chen@example.net", "49502175", "1512", "active", "N", "0", "0", "0", "", "", "0", "0", "", "", "0", "0",
         "0", "0", ""],
    ]  # fmt: skip
    return _csv_text(rows).encode("utf-8")


LIVESTORM_HEADER = [
    "Email", "Prénom", "Nom", "Présent", "Taux de présence", "Company", "Job title", "Phone number",
    "Code d'accès au webinar", "Lien d'accès", "Ville (depuis IP)", "Pays (depuis IP)", "Ip country name",
    "Date d'inscription", "Durée de la présence (en seconde)", "Nombre de sessions inscrites",
    "Nombre de sessions participées", "Sessions inscrites", "Sessions participées", "A vu le replay",
    "Inscrit à la demande", "Nombre de messages", "Nombre de questions", "Nb de sondages répondus",
    "Nombre d'upvotes questions", "Referrer", "Source (UTM)", "Médium (UTM)", "Term (UTM)", "Content (UTM)",
    "Campaign (UTM)", "Version du navigateur", "Navigateur", "Système d'exploitation",
    "Version du système d'exploitation", "Hauteur de l'écran", "Largeur de l'écran", "Is guest speaker",
    "Is team member",
]  # fmt: skip
#: email, first, last, attended, rate, registered at (Paris wall clock), seconds, guest speaker, team member
LIVESTORM_PEOPLE = [
    ("megan.organizer@example.com", "Megan", "Organizer", True, "100%", "2024-11-04 10:00:00", 3600, False, True),
    ("paul.speaker@example.org", "Paul", "Speaker", True, "100%", "2024-11-05 11:20:00", 3500, True, False),
    ("ana.silva@example.com", "Ana", "Silva", True, "92%", "2024-11-12 09:30:15", 3300, False, False),
    ("jonas.weber@example.org", "Jonas", "Weber", False, "0%", "2024-11-14 18:02:00", 0, False, False),
    ("lena.fischer@example.org", "Léna", "Fischer", True, "61%", "2024-11-18 08:45:00", 2200, False, False),
]


def livestorm_people(path: Path) -> None:
    """Livestorm people export from a French workspace (.xlsx): booleans, date cells, English flag columns."""

    def fill(wb: xlsxwriter.Workbook) -> None:
        ws = wb.add_worksheet("People")
        when = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        for col, head in enumerate(LIVESTORM_HEADER):
            ws.write_string(0, col, head)
        at = {head: col for col, head in enumerate(LIVESTORM_HEADER)}
        for r, (email, first, last, came, rate, registered, seconds, speaker, team) in enumerate(
            LIVESTORM_PEOPLE, start=1
        ):
            ws.write_string(r, at["Email"], email)
            ws.write_string(r, at["Prénom"], first)
            ws.write_string(r, at["Nom"], last)
            ws.write_boolean(r, at["Présent"], came)
            ws.write_string(r, at["Taux de présence"], rate)
            ws.write_string(r, at["Lien d'accès"], f"https://app.livestorm.co/p/abc/live?s={r}")
            ws.write_string(r, at["Pays (depuis IP)"], "France")
            ws.write_datetime(r, at["Date d'inscription"], dt.datetime.fromisoformat(registered), when)
            ws.write_number(r, at["Durée de la présence (en seconde)"], seconds)
            ws.write_number(r, at["Nombre de sessions inscrites"], 1)
            ws.write_number(r, at["Nombre de sessions participées"], 1 if came else 0)
            ws.write_boolean(r, at["A vu le replay"], False)
            ws.write_boolean(r, at["Is guest speaker"], speaker)
            ws.write_boolean(r, at["Is team member"], team)

    _workbook(path, fill)


BIGMARKER_ATTENDEE_HEADER = [
    "id", "bmid", "conference_id", "email", "first_name", "last_name", "edited_in_room_display_name",
    "browser_name", "browser_version", "device_name", "entered_at", "leaved_at", "total_duration",
    "engaged_duration", "chats_count", "qas_count", "polls_count", "time_zone", "country",
]  # fmt: skip


def bigmarker_attendees() -> bytes:
    """BigMarker conference attendees: a line per person who entered the room."""
    people = [
        ("ana.silva@example.com", "Ana", "Silva", "2024-11-21T15:02:11Z", "2024-11-21T15:58:00Z", "3349"),
        ("jonas.weber@example.org", "Jonas", "Weber", "2024-11-21T14:58:40Z", "2024-11-21T16:00:00Z", "3680"),
        ("mei.chen@example.net", "Mei", "Chen", "2024-11-21T15:10:05Z", "2024-11-21T15:40:00Z", "1795"),
    ]
    rows: list[list[str]] = [BIGMARKER_ATTENDEE_HEADER]
    for i, (email, first, last, entered, left, seconds) in enumerate(people, start=1):
        rows.append([f"a{i}", f"bm{i:04d}", "c7a1e2", email, first, last, "", "Chrome", "130.0", "Desktop", entered,
                     left, seconds, seconds, "0", "0", "1", "Europe/London", "United Kingdom"])  # fmt: skip
    return _csv_text(rows).encode("utf-8")


def bigmarker_registrants() -> bytes:
    """BigMarker conference registrants: who registered, when, and their personal room link."""
    head = ["id", "custom_user_id", "email", "first_name", "last_name", "conference_id", "enter_url", "bmid",
            "referral_domain", "source", "tracking_code", "time_zone", "country", "registered_at"]  # fmt: skip
    people = [
        ("ana.silva@example.com", "Ana", "Silva", "2024-11-10T08:15:00Z"),
        ("jonas.weber@example.org", "Jonas", "Weber", "2024-11-12T17:40:22Z"),
        ("sam.noshow@example.com", "Sam", "Noshow", "2024-11-15T12:00:00Z"),
    ]
    rows: list[list[str]] = [head]
    for i, (email, first, last, registered) in enumerate(people, start=1):
        link = f"https://www.bigmarker.com/c7a1e2?u=r{i}"
        rows.append([f"r{i}", "", email, first, last, "c7a1e2", link, f"bm{i:04d}", "linkedin.com", "Website", "",
                     "Europe/London", "United Kingdom", registered])  # fmt: skip
    return _csv_text(rows).encode("utf-8")


def demio_participants() -> bytes:
    """Demio session participants: attended true/false and a status; a custom Last Name and Website field."""
    rows = [
        ["email", "name", "Last Name", "Website", "attended", "status"],
        ["john.doe@example.com", "John", "Doe", "https://example.com", "true", "completed"],
        ["jane.doe@example.com", "Jane Doe", "", "", "false", "did not attend"],
        ["ana.silva@example.com", "Ana", "Silva", "", "true", "left early"],
        ["rex.banned@example.net", "Rex", "Banned", "", "true", "banned"],
        ["tom.lee@example.net", "Tom", "Lee", "", "true", "attended"],
    ]
    return _csv_text(rows).encode("utf-8")


#: Google names the report after the meeting's date and start: the only place the date is written.
GOOGLE_MEET_SAMPLE = "2024-11-21 14-00 Partner sync - Attendance Report.csv"


def google_meet_attendance() -> bytes:
    """Google Meet attendance report: times of day without a date, durations like '1 hr 2 min'."""
    rows = [
        ["First name", "Last name", "Email", "Duration", "Time joined", "Time exited"],
        ["Ana", "Silva", "ana.silva@example.com", "1 hr 2 min", "1:58 PM", "3:00 PM"],
        ["Tom", "Lee", "tom.lee@example.net", "45 min", "2:05 PM", "2:50 PM"],
        ["Mei", "Chen", "mei.chen@example.net", "30 sec", "2:10 PM", "2:10 PM"],
        ["Guest", "", "", "12 min", "2:20 PM", "2:32 PM"],
    ]
    return _csv_text(rows).encode("utf-8")


def main() -> None:
    texts = {
        "zoom_attendee_report.csv": zoom_attendee_report(),
        "zoom_registration_report.csv": zoom_registration_report(),
        "teams_attendance.csv": teams_attendance(),
        "eventbrite_orders.csv": eventbrite_orders(),
        "luma_guests.csv": luma_guests(),
        "generic_attendees.csv": generic_attendees_csv(),
        "deutsch_teilnehmer.csv": deutsch_teilnehmer(),
        "hubspot_contacts_export.csv": hubspot_contacts_export(),
        "zoom_meeting_participants.csv": zoom_meeting_participants(),
        "zoom_participants_current.csv": zoom_participants_current(),
        "zoom_participants_ja.csv": zoom_participants_japanese(),
        "zoom_participants_meeting_data.csv": zoom_participants_with_meeting_data(),
        "zoom_registrants.csv": zoom_registrants(),
        "teams_meetingAttendanceList.csv": teams_meeting_attendance_list(),
        "webex_attendees.csv": webex_attendees(),
        "generic_zoned_times.csv": generic_zoned_times(),
        "goto_meeting_attendees.csv": goto_meeting_attendees(),
        "on24_attendees.csv": on24_attendees(),
        "bigmarker_attendees.csv": bigmarker_attendees(),
        "bigmarker_registrants.csv": bigmarker_registrants(),
        "demio_participants.csv": demio_participants(),
        GOOGLE_MEET_SAMPLE: google_meet_attendance(),
    }
    for name, data in texts.items():
        (HERE / name).write_bytes(data)
    generic_attendees_xlsx(HERE / "generic_attendees.xlsx")
    goto_webinar_attendees(HERE / "goto_webinar_attendees.xlsx")
    livestorm_people(HERE / "livestorm_people.xlsx")


if __name__ == "__main__":
    main()
