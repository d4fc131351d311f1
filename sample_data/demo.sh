#!/bin/sh
# Import every sample export into the bundled HubSpot sandbox (127.0.0.1, no account needed),
# each with the time zone its platform wrote it in. Reports land in ./demo-reports/.
# Usage: sh sample_data/demo.sh   (with the importer installed, e.g. .venv/bin on PATH)
here=$(cd "$(dirname "$0")" && pwd)
importer=${IMPORTER:-importer}
command -v "$importer" >/dev/null 2>&1 || importer="$here/../.venv/bin/importer"
mkdir -p demo-reports
status=0
run() {
    file=$1; shift
    echo "== $file"
    "$importer" run "$here/$file" --event 1001 --sandbox --state-dir demo-reports/.state \
        --report "demo-reports/$(echo "$file" | tr . _).reconciliation.xlsx" "$@"
    code=$?
    echo "   exit code $code"
    [ "$code" -gt 1 ] && status=$code
}
run zoom_attendee_report.csv --timezone America/New_York
run zoom_registration_report.csv --timezone America/New_York
run teams_attendance.csv --timezone America/Chicago
run goto_webinar_attendees.xlsx --timezone America/New_York
run eventbrite_orders.csv --timezone America/Los_Angeles
run luma_guests.csv
run generic_attendees.csv --timezone America/New_York
run generic_attendees.xlsx --timezone America/New_York
run deutsch_teilnehmer.csv --timezone Europe/Berlin
run zoom_meeting_participants.csv --timezone America/New_York
run zoom_participants_current.csv --timezone America/New_York
run zoom_participants_ja.csv --timezone Asia/Tokyo
run zoom_participants_meeting_data.csv --timezone Europe/London
run zoom_registrants.csv
run webex_attendees.csv --timezone America/Chicago
run generic_zoned_times.csv
run goto_meeting_attendees.csv
run on24_attendees.csv
run livestorm_people.xlsx --timezone Europe/Paris
run bigmarker_attendees.csv
run bigmarker_registrants.csv
run demio_participants.csv
run "2024-11-21 14-00 Partner sync - Attendance Report.csv" --timezone America/New_York
run generic_attendees.csv --timezone America/New_York --contacts "$here/hubspot_contacts_export.csv" \
    --report demo-reports/generic_with_contacts.reconciliation.xlsx
echo "Reports: $(pwd)/demo-reports/ (exit code 1 above means some rows were rejected, as the samples intend)"
exit $status
