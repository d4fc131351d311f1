"""Teams' legacy ``meetingAttendanceList.csv`` (``Full Name, User Action, Timestamp``; one line per
join or leave).  It names people but has no email addresses, so nobody in it can be matched to a
HubSpot contact: the run stops and says which report to download instead."""

from __future__ import annotations

from .base import Decision, Facts, Profile, SheetLike, any_alias, generic_rules, has_all, head_keys

NAME = "teams_attendance_list"

#: The three headers as Teams wrote them in English, German, French and Spanish.
HEADER_SETS = (
    ("Full Name", "User Action", "Timestamp"),
    ("Vollständiger Name", "Benutzeraktion", "Zeitstempel"),
    ("Nom complet", "Action de l'utilisateur", "Horodatage"),
    ("Nombre completo", "Acción del usuario", "Marca de tiempo"),
)


def matches(sheet: SheetLike) -> float:
    keys = head_keys(sheet)
    if any_alias(keys, "email") or not any(has_all(keys, *heads) for heads in HEADER_SETS):
        return 0.0
    return 0.9


def rules(f: Facts) -> Decision:
    return generic_rules(f)


PROFILE = Profile(
    NAME,
    matches,
    rules,
    platform="Teams",
    refuse=(
        "this is Teams' old meeting attendance list (Full Name, User Action, Timestamp): it has no email "
        "addresses, so nobody in it can be matched to a HubSpot contact and nothing was sent."
    ),
    refuse_hint=(
        "Download the attendance report instead: in Teams open the meeting (calendar or chat), choose "
        "Attendance, then Download (.csv or .xlsx); it lists each participant's email. "
        "Then run the same command on that file."
    ),
)
