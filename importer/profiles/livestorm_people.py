"""Livestorm people export (event > People > Export), written in the workspace's language.

Header set (French export, as a public script that cleans it reads it: mxou-954/LiveStorm-Extract-
to-NoCRM ``main.py``): ``Email, Prénom, Nom, Présent, Taux de présence, Company, Job title, Phone
number`` and ``Code d'accès au webinar, Lien d'accès, Ville (depuis IP), Pays (depuis IP), Ip country
name, Date d'inscription, Durée de la présence (en seconde), Nombre de sessions inscrites, Nombre
de sessions participées, Sessions inscrites, Sessions participées, A vu le replay, Inscrit à la
demande, ..., Referrer, Source (UTM), ..., Is guest speaker, Is team member``.  The last two stay in
English in every language, which is how the layout is recognised.

Everyone listed registered (at ``Date d'inscription``); ``Présent`` true means attended (the export
has no join time: the event's start).  Team members run the event and guest speakers present it:
both are skipped, as Zoom's hosts and panelists are.
"""

from __future__ import annotations

from ..models import Reason, State
from .base import YES, Decision, Facts, Profile, SheetLike, count_in, generic_rules, head_keys

NAME = "livestorm_people"


def matches(sheet: SheetLike) -> float:
    keys = head_keys(sheet)
    marks = count_in(keys, "Is guest speaker", "Is team member")
    if not marks:
        return 0.0
    return min(0.55 + 0.15 * marks + 0.05 * count_in(keys, "Ip country name", "Taux de présence"), 0.95)


def rules(f: Facts) -> Decision:
    d = generic_rules(f, default=State.REGISTER)
    d.skip(
        f.is_in("team_member", YES),
        Reason.ORGANIZER,
        "Row {row} ({who}) is a member of the Livestorm team running the event; organizers are not recorded as "
        "participants.",
        first=True,
    )
    d.skip(
        f.is_in("speaker", YES),
        Reason.PANELIST,
        "Row {row} ({who}) is a guest speaker of the event; speakers are not recorded as participants.",
    )
    return d


PROFILE = Profile(
    NAME,
    matches,
    rules,
    aliases={
        "speaker": ("Is guest speaker",),
        "team_member": ("Is team member",),
        "duration": ("Durée de la présence (en seconde)",),
    },
    platform="Livestorm",
)
