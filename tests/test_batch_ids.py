"""Golden batch ids: a resumed run and the journal find a batch again by its id, so the ids of a
fixed input are pinned byte for byte (state, endpoint, index and the digest of its contacts and
times).  A rewrite of the chunker must keep every one of them."""

from __future__ import annotations

import hashlib
from pathlib import Path

from row_objects import Also, Row, rows_to_table

from importer import chunker
from importer.chunker import batches, chunk, merge
from importer.cli import main
from importer.models import Outcome, RowRef, State
from importer.reporter import read_report
from importer.sandbox import DEFAULT_TOKEN, Sandbox

SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"
A, R, C = State.ATTEND, State.REGISTER, State.CANCEL


def row(n: int, vid: int | None, state: State, when: int, email: str | None = None, reg: int | None = None) -> Row:
    also = Also(State.REGISTER, reg) if reg is not None else None
    return Row(ref=RowRef("a.csv", n), email=email, vid=vid, state=state, when_ms=when, also=also)


def batch_ids(rows: list[Row], event_id: str, size: int) -> list[tuple[str, list[str]]]:
    """Each batch's id with the keys (vid, or email for email-create) it carries, in order."""
    return [(b.id, [p.key for p in b.items]) for b in batches(chunk(merge(rows_to_table(rows), event_id)[1], size))]


ROWS = [
    row(2, 1, A, 1_730_822_283_000, "one@example.com", reg=1_730_106_862_000),
    row(3, 7, A, 1_730_822_400_000, reg=1_730_203_331_000),
    row(4, 7, A, 1_730_822_100_000),  # the earlier join carries vid 7's attendance
    row(5, 9_223_372_036_854_775_807, A, 1_730_822_700_000),  # the largest id a 64-bit int holds
    row(6, 42, A, 1_730_822_935_000, reg=1_730_455_533_000),
    row(7, 100, R, 1_730_563_421_000),
    row(8, 1001, R, 0),  # the epoch itself
    row(9, 12, C, 1_730_900_000_000, reg=1_730_800_000_000),
    row(10, None, A, 1_730_822_283_001, "new.one@example.com"),
    row(11, None, A, 1_730_822_283_002, "a.new@example.com", reg=1_730_000_000_000),
    row(12, None, C, 1_730_822_283_003, "gone@example.com"),
    row(13, None, R, 1_730_822_283_004, "zz@example.com"),
    Row(RowRef("a.csv", 14), vid=55, state=A, when_ms=1, outcome=Outcome.SKIPPED, reason="host"),  # not sent
]


def test_batch_ids_of_a_fixed_input_are_pinned_with_batches_of_two() -> None:
    assert batch_ids(ROWS, "1001", 2) == [
        ("cancel-0000-f5cb43a3", ["12"]),
        ("cancel-email-0000-9bf8f778", ["gone@example.com"]),
        ("register-0000-3b8cdf5f", ["1", "7"]),
        ("register-0001-d5eb6312", ["12", "42"]),
        ("register-0002-5f3e07eb", ["100", "1001"]),
        ("register-email-0000-7e8fc704", ["a.new@example.com", "zz@example.com"]),
        ("attend-0000-cb837e84", ["1", "7"]),
        ("attend-0001-45013d79", ["42", "9223372036854775807"]),
        ("attend-email-0000-028bedfa", ["a.new@example.com", "new.one@example.com"]),
    ]


def test_batch_ids_of_a_fixed_input_are_pinned_with_full_batches_and_an_earlier_time() -> None:
    earlier = [Row(RowRef("b.csv", 2), vid=7, state=A, when_ms=1_730_822_000_000)]  # vid 7 joined earlier
    assert batch_ids(ROWS + earlier, "1001", 100) == [
        ("cancel-0000-f5cb43a3", ["12"]),
        ("cancel-email-0000-9bf8f778", ["gone@example.com"]),
        ("register-0000-586fd32e", ["1", "7", "12", "42", "100", "1001"]),
        ("register-email-0000-7e8fc704", ["a.new@example.com", "zz@example.com"]),
        ("attend-0000-a29a2e5d", ["1", "7", "42", "9223372036854775807"]),
        ("attend-email-0000-028bedfa", ["a.new@example.com", "new.one@example.com"]),
    ]


def test_a_batch_id_is_its_state_endpoint_index_and_the_digest_of_its_keys_and_times() -> None:
    """The formula written out once, so the golden ids above are not just whatever came out."""
    digest = hashlib.sha1(b"a.new@example.com:1730822283002\nnew.one@example.com:1730822283001").hexdigest()
    assert batch_ids(ROWS, "1001", 2)[-1][0] == f"attend-email-0000-{digest[:8]}"
    assert batch_ids([Row(RowRef("b.csv", 2), vid=7, state=A, when_ms=5)], "2002", 1) == [
        (f"attend-0000-{hashlib.sha1(b'7:5').hexdigest()[:8]}", ["7"])
    ]


def test_batch_ids_end_to_end_are_pinned_in_the_report(tmp_path: Path) -> None:
    people = {
        "jane.doe@example.com": 1,
        "carlos.ruiz@example.org": 7,
        "mei.chen@example.net": 42,
        "ahmed.khan@example.com": 99,
        "lena.fischer@example.org": 100,
        "tom.baker@example.net": 1001,
        "sam.noshow@example.com": 123456789012,
        "priya.patel@example.org": 9,
        "olivia.host@example.com": 10,
        "pat.panel@example.org": 11,
        "rex.denied@example.net": 12,
        "nina.wait@example.net": 13,
    }
    files = [SAMPLES / "zoom_registration_report.csv", SAMPLES / "zoom_attendee_report.csv"]
    with Sandbox(events={"1001": {"startDateTime": "2024-11-05T16:00:00Z"}}, contacts=people) as box:
        code = main(
            ["run", *map(str, files), "--event", "1001", "--timezone", "America/New_York", "--batch-size", "3",
             "--base-url", box.base_url, "--state-dir", str(tmp_path / "state"), "--report", str(tmp_path / "r.csv")],
            environ={"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN},
        )  # fmt: skip
    assert code == 0
    _, rows = read_report(tmp_path / "r.csv")
    got = {(Path(str(r["source_file"])).stem, int(str(r["source_row"]))): r["batch_id"] for r in rows}
    attendees = {
        13: "attend-0000-e804365a",  # vids 1, 7, 42 joined; each also registered (no batch id shown)
        15: "attend-0000-e804365a",
        16: "attend-0000-e804365a",
        17: "attend-0001-941e07a0",  # vids 99, 100, 1001
        18: "attend-0001-941e07a0",
        19: "attend-0001-941e07a0",
        20: "register-0002-fd862b1e",  # a no-show's registration, in the last register batch
    }
    registrants = {n: "register-0000-3d071b1c" for n in (7, 8, 11)}  # vids 1, 7, 9: the first rows that show them
    assert {k: v for k, v in got.items() if v} == {
        **{("zoom_attendee_report", n): b for n, b in attendees.items()},
        **{("zoom_registration_report", n): b for n, b in registrants.items()},
    }


def test_batch_ids_worked_out_a_slice_at_a_time_are_those_of_the_whole_plan(monkeypatch) -> None:  # noqa: ANN001
    """The chunker joins the lines of a slice of whole batches at a time: slices of a few lines
    (a batch across a slice's end, a slice of one batch) give every id the whole plan gives."""
    lines = [row(i + 2, 10 + i % 37, (A, R, C)[i % 3], 1_730_000_000_000 + i * 7919) for i in range(200)]
    lines += [row(300 + i, None, (A, R)[i % 2], 1_730_000_000_000 + i, f"p{i}@example.com") for i in range(40)]
    whole = batch_ids(lines, "1001", 3)
    for lines_per_slice in (1, 2, 5, 8):
        monkeypatch.setattr(chunker, "_SLICE", lines_per_slice)
        assert batch_ids(lines, "1001", 3) == whole
