# The dashboard's texts in English. Every message here has its twin in ../de/dashboard.ftl
# with the same variables (a unit test of liza-web checks both).

## Layout

site-name = Liza dashboard
skip-to-content = Skip to content
nav-main = Main
nav-overview = Overview
nav-calls = Calls
nav-stats = Statistics
nav-privacy = Privacy
nav-account = Account
log-out = Log out
language-switch = Language
signed-in-as = Signed in as { $name }

## Error and message pages

back-to-dashboard = Back to the dashboard
error-not-found-title = Page not found
error-not-found-text = There is nothing at this address. The link may be mistyped, or what it showed no longer exists.
error-form-expired-title = Form expired
error-form-expired-text = The form was not accepted because it was open too long or came from another page. Reload the page and send it again.
error-bad-request-title = Not accepted
error-unavailable-title = Dashboard unavailable
error-unavailable-text = The dashboard needs a database that supports it.
error-internal-title = Something went wrong
error-internal-text = The page could not be shown. The cause is in the server log; try again in a moment.
error-form-incomplete = The form was not complete. Reload the page and fill it in again.
error-form-too-large = The form was too large to be accepted.
error-not-a-date = “{ $value }” is not a date. Pick a day in the calendar or write it as 2026-12-01.
error-page-link-damaged = This page link is damaged. Start again from the first page of the list.
error-unknown-status = There is no status “{ $value }”. Pick one from the list.
error-unknown-record-status = There is no status “{ $value }” for a { $kind }. Pick one of: { $allowed }.
error-unknown-consent = There is no consent answer “{ $value }”. Pick one from the list.
error-status-not-settable = A call cannot be set back to in progress: only a running call is in progress. Pick processed, completed or problem.
error-notes-too-long = Notes may have at most { $max } characters.

## Login

login-title = Log in
login-user-name = User name
login-password = Password
login-submit = Log in
login-wrong = Wrong user name or password.
login-too-many-failures = Too many failed logins. Wait 15 minutes, then try again.
login-busy = The server is checking many logins at once. Try again in a moment.

## Overview

overview-title = Overview
tile-calls-today = calls today
tile-calls-this-week = calls this week
tile-consent-rate = consent rate this week
tile-consent-counts = ({ $given } given, { $refused } refused)
tile-open-problems = open problems
tile-retention-days = { $days ->
    [one] { $days } day
   *[other] { $days } days
}
tile-retention = personal data kept
tile-retention-forever = (LIZA_RETENTION_DAYS=0: never removed)
tile-retention-no-purge = (no purge has run yet)
tile-retention-last-purge = (last purge { $at }: { $count ->
    [one] { $count } call
   *[other] { $count } calls
} made anonymous)
tile-retention-purge-running = (last purge { $at }, still running: { $count ->
    [one] { $count } call
   *[other] { $count } calls
} made anonymous)
n-calls = { $count ->
    [one] { $count } call
   *[other] { $count } calls
}
overview-top = { $kind } called about most this week
overview-top-none = Nothing called about this week.
flows-loaded = Flows loaded
flows-reload-error = The last saved flow could not be loaded; the previous version keeps answering calls.
col-flow = Flow
col-description = Description
col-nodes = Nodes
col-file = File
col-version = Version
flows-none = No flow is loaded.

## Lists and filters

calls-title = Calls
calls-none = No calls match.
records-none = No { $kind } match.
filter-any = any
filter-from-day = From day
filter-to-day = To day
filter-phone-number = Phone number
filter-submit = Filter
filter-reset = Reset
pager = Pages
pager-newest = Newest
pager-older-calls = Older calls →
pager-older = Older →
col-status = Status
col-language = Language
col-consent = Consent
col-started = Started
col-from = From
col-duration = Duration
col-created = Created
col-updated = Updated
col-notes = Notes
col-when = When
col-who = Who
col-what = What
col-old = Old
col-new = New
col-by = By
col-action = Action
col-caller = Caller
col-value = Value
col-day = Day
col-calls = Calls
col-consent-given = Consent given
col-consent-refused = Consent refused
col-problems = Problems
col-average-handling = Average handling time
col-signed-in = Signed in
col-expires = Expires
col-this-session = This session
col-label = Label
col-last-used = Last used
col-number-kept = Number kept

## Call and record status, consent

status-in_progress = in progress
status-processed = processed
status-completed = completed
status-problem = problem
consent-given = given
consent-refused = refused
consent-none = none
change-status = Change status
save-status = Save status
save-notes = Save notes

## A call

call-title = Call { $id }
call-from = Call from
call-started = Started
call-ended = Ended
call-to = To
call-sid = Call SID
call-saved-status = Status saved: the call is now { $status } (in the history below).
call-saved-unchanged = Nothing changed: the call already was { $status }.
call-status-rules = Staff set processed, completed or problem; only a running call is in progress, so no call goes back to it. A change is kept in the history.
call-conversation = Conversation
call-liza-said = Liza:
call-request = Asked the system:
call-caller-pressed = Caller pressed:
call-no-steps = No steps recorded.
call-no-records = No { $kind }.
call-outbox = Texts and events
call-no-outbox = No texts or events for this call.
outbox-what = What
outbox-attempts = Attempts
outbox-sent-at = Sent
outbox-last-error = Last error
outbox-kind-sms = Text message
outbox-kind-event = Event
outbox-status-pending = waiting to be sent
outbox-status-sending = being sent
outbox-status-sent = sent
outbox-status-failed = failed
call-recordings = Voicemail
call-recordings-twilio = The recordings stay at Twilio: opening a link asks for your Twilio account's credentials (the account SID and auth token).
call-recording = { $seconds ->
    [-1] Recording (length not reported yet)
    [1] Recording, 1 second
   *[other] Recording, { $seconds } seconds
}
call-no-recordings = No voicemail on this call.
consent-asked = «{ $text }» — { $locale }, flow { $version }
consent-decided = { $decision ->
    [given] Consent given
   *[other] Consent refused
} { $at } to { $asked }
consent-decided-unstored = { $decision ->
    [given] Consent given
   *[other] Consent refused
} { $at } (the question was not stored)
consent-no-answer = No answer (asked { $at }) to { $asked }
consent-waiting = Asked { $at }, no answer yet, to { $asked }
consent-not-asked = Not asked

## A record

record-calls = Calls about this { $kind }
record-no-calls = No calls.

## History

audit-title = History
audit-none = No changes yet.

## Statistics

stats-period = Period
stats-last-days = last { $days } days
stats-show-period = Show
stats-period-hint = Or choose two days (at most { $max } days apart). Days and weeks are local; weeks run Monday to Sunday.
stats-period-shown = { $first } to { $last } ({ $days ->
    [one] { $days } day
   *[other] { $days } days
}), local days in { $zone }.
stats-totals = { $calls ->
    [one] { $calls } call
   *[other] { $calls } calls
}, { $problems } with problems.
stats-weeks-hint = Weeks are calendar weeks (ISO, Monday to Sunday). Hatched, lighter bars are not whole: today is not over, or the chosen period holds only part of that week or month.
stats-weekday-hint = Sums over the period: in a period that is not whole weeks, some weekdays occur once more than others.
stats-consent-rate = Consent rate
stats-consent-rate-value = { $rate } %
stats-consent-rate-none = No caller answered the consent question in this period.
stats-consent-definition = The consent rate is consent given ÷ (given + refused): { $given } given, { $refused } refused. { $unanswered ->
    [one] { $unanswered } call without an answer to the consent question (hung up before it, or not asked) is not counted.
   *[other] { $unanswered } calls without an answer to the consent question (hung up before it, or not asked) are not counted.
}
stats-consent-of-all = Counted over all calls, { $rate } % consented.
stats-error-days = There is no period of “{ $value }” days: choose 7, 30, 90 or 365 days, or two dates.
stats-error-from-missing = From which day? Choose the first day of the period as well.
stats-error-reversed = The first day ({ $from }) is after the last day ({ $to }). Swap them.
stats-error-future = The period starts in the future ({ $from }). Choose a day up to today.
stats-error-too-long = That period has { $days } days; at most { $max } days (three years) can be shown at once.
stats-top-days = { $kind } called about most, { $first } to { $last }
stats-top-cut = Counted over the last { $days } days of the period: ranking every call of a long period would make this page slow.
chart-per-day = Calls per day
chart-per-week = Calls per calendar week
chart-per-month = Calls per month
chart-by-hour = Calls by hour of the day (local time)
chart-by-weekday = Calls by weekday
chart-consent = Consent
chart-handling-day = Average handling time per day (seconds)
chart-handling-week = Average handling time per calendar week (seconds)
chart-handling-month = Average handling time per month (seconds)
chart-as-table = { $chart } as a table
chart-summary = { $chart }: { $count } bars, the highest { $max }. The numbers are in the table below.
chart-week = week { $week }
chart-partial-running = so far (not over)
chart-partial-cut = only partly in the period
chart-partial-legend = hatched, lighter bar: not a whole day, week or month (today so far, or cut by the period)
col-week = Calendar week
col-month = Month
col-hour = Hour
col-weekday = Weekday
col-seconds = Seconds
col-note = Note
consent-unanswered = no answer
weekday-short = { $day ->
    [0] Mon
    [1] Tue
    [2] Wed
    [3] Thu
    [4] Fri
    [5] Sat
   *[6] Sun
}
weekday-long = { $day ->
    [0] Monday
    [1] Tuesday
    [2] Wednesday
    [3] Thursday
    [4] Friday
    [5] Saturday
   *[6] Sunday
}
stats-by-language = By language
stats-all = all
stats-top-none = Nothing called about in this period.

## Account

account-title = Account { $name }
account-sessions = Sessions
account-sessions-intro = Where you are signed in. Ending a session signs that browser out at once; a new password ends them all.
account-this-session = this session
account-end-this-session = End this session
account-end-session = End session
account-tokens = API tokens
account-tokens-intro = Bearer tokens for the JSON API (/api/…). An administrator creates one on the server, and it is shown only then:
account-never = never
account-expired = expired
account-revoke = Revoke
account-no-tokens = No API tokens.

## Privacy

privacy-intro = A caller may ask what Liza keeps about them (GDPR Art. 15) and ask for it to be deleted (Art. 17). Find them by their phone number; before they consented, Liza knows them only by a keyed hash of it.
privacy-retention = Personal data of calls older than { $days } days is removed automatically.
privacy-retention-forever = Personal data is kept without a time limit:
privacy-find = Find
privacy-not-a-number = “{ $value }” is not a phone number Liza can read. Write it with its country code, e.g. +4915112345678.
privacy-erase-unconfirmed = Nothing was erased: tick “I understand that this cannot be undone” first.
privacy-erased-title = Erased
privacy-erased = { $calls ->
    [one] { $calls } call
   *[other] { $calls } calls
} made anonymous: { $steps } conversation steps cleared, { $responses } stored answers deleted, { $links } links to records removed. The records themselves stay, without the caller. The audit log has an entry without the number.
privacy-live-left = Left alone because still in progress:
privacy-live-left-again = Erase again when they have ended.
privacy-stored-about = Stored about
privacy-nothing = Nothing is stored about this number.
privacy-nothing-any-more = Nothing is stored about this number any more.
privacy-tile-calls = calls
privacy-tile-steps = steps with what was said or typed
privacy-tile-answers = stored answers
privacy-tile-records = records touched
privacy-left-alone = in progress: left alone
privacy-kept-erased = erased
privacy-kept-clear = in clear (consented)
privacy-kept-hash = as a hash
privacy-records-touched = Records these calls touched (they stay after an erasure, without the caller):
privacy-download = Download everything stored (JSON)
privacy-erase-title = Erase
privacy-erase-text = Removes this caller's number (in clear and hashed), everything said and typed in their calls, the stored answers and the calls' links to records, for good. The calls stay as anonymous rows for the statistics; records (e.g. an order and its status) stay.
privacy-erase-confirm = I understand that this cannot be undone
privacy-erase-submit = Erase this caller's data
privacy-recent = Recent privacy actions
privacy-no-actions = No export or erasure yet.

## Live view and work queue

live-changed = Something changed: reload the page to see it (kept back while you select calls).
live-failed = Live updates stopped: reload the page to see the latest state.
live-ended = The call has ended; this page no longer updates.
live-noscript = This page updates itself only with JavaScript: reload it to see what is new.
tile-in-progress = calls in progress
tile-in-progress-hint = (updates itself; without JavaScript, reload)
tile-problems-window = in the
tile-problems-show = Show
tile-problems-default = (default: the last 7 days)
window-24h = last 24 hours
window-7d = last 7 days
window-30d = last 30 days
window-all = all time
filter-within = Started within
filter-any-time = any time
calls-number-hint = A number may be typed in any of these forms:
calls-number-part-hint = The masked form is how a list shows it; a part of a number finds the numbers kept in clear that contain it.
calls-masked-hint = A masked number shows only its country code, first three and last two digits: the calls below are those of every caller whose number looks the same, possibly more than one person.
bulk-set-to = Set the ticked calls to
bulk-rules = At most { $max } calls at once. Staff set processed, completed or problem; only a running call is in progress. Each change is kept in the call's history.
col-select = Select
bulk-select-call = Select the call of { $started }
bulk-done = { $count ->
    [one] { $count } call
   *[other] { $count } calls
} set to { $status }.
bulk-skipped = { $count ->
    [one] { $count } call
   *[other] { $count } calls
} skipped: { $why }.
bulk-skipped-already = { $count } already { $status }
bulk-skipped-missing = { $count } no longer stored
error-unknown-window = There is no time window “{ $value }”. Pick one from the list.
error-not-a-call = “{ $value }” is not the number of a call.
error-bulk-too-many = At most { $max } calls can be changed at once. Select fewer.
error-bulk-none = No call was selected. Tick the calls to change first.
error-not-a-masked-number = “{ $value }” is not a masked number as the lists show it: the country code, the first three digits, dots for the hidden ones and the last two digits, e.g. +49 151 ••• ••90.

## The dashboard's time zone (LIZA_TIMEZONE), at the foot of every page

zone-times = Times, days and weeks (from Monday) in the time zone

# The call page's timeline: what a step's outcome means (engine/web/src/dashboard/timeline.rs).
step-asked = Asked
step-accepted = Accepted
step-open = Within opening hours
step-closed = Outside opening hours
step-period = Opening hours: { $period }
step-dial-started = Transfer to a person started
step-dial-answered = Transfer: answered, conversation over
step-dial-busy = Transfer: busy
step-dial-no-answer = Transfer: nobody answered
step-dial-failed = Transfer: failed
step-dial-not-configured = Transfer: no number set up
step-dial-possible = Transfer: a number is set up
step-voicemail-started = Voicemail: recording started
step-voicemail-recorded = Voicemail recorded
step-voicemail-empty = Voicemail: nothing said
step-voicemail-no-consent = Voicemail: not recorded (no consent)
step-call-already-ended = The call had already ended
step-too-many-steps = Stopped: too many steps without input
step-case = Went on by: { $value }
step-set = Set: { $names }
step-hangup = Call ended: { $status }
step-invalid = Not valid
step-no-input = Nothing entered
step-not-understood = Words not understood
step-attempts-left = { $problem }; { $left ->
    [one] 1 attempt left
   *[other] { $left } attempts left
}
step-attempts-exhausted = { $problem }; no attempts left
step-call-status = Call marked { $status }
step-consent-given = Consent given
step-consent-refused = Consent refused
step-fetch-ok = The system answered ({ $detail })
step-fetch-not-found = The system does not know it ({ $detail })
step-fetch-error = The system failed ({ $detail })
step-fetch-timeout = The system did not answer in time ({ $detail })
step-fetch-not-configured = Not set up ({ $detail })
step-record-saved = { $kind } saved, status { $status }
step-record-not-saved = { $kind } not saved
step-record-found = { $kind } found, status { $status }
step-record-missing = { $kind } not found

# The history's "What" and its values (stored as words of the code; audit.html).
audit-field-status = Status
audit-field-notes = Notes
audit-field-password = Password
audit-field-session = Session
audit-field-sessions = Sessions
audit-field-api_token = API token
audit-field-erase = Caller's data erased
audit-field-export = Export
audit-value-ended = ended
audit-value-revoked = revoked
audit-value-in_progress = in progress
audit-value-processed = processed
audit-value-completed = completed
audit-value-problem = problem

export-label = Download everything this filter finds (every page):
export-full = with full numbers (recorded in the audit log)
export-csv = CSV
export-json = JSON lines
error-busy-title = Busy
error-exports-busy = { $max } exports are running already. Try again in a minute.
privacy-full-exports = Lists exported with full numbers
privacy-no-full-exports = No list was exported with full numbers yet.
col-list = List
col-filter = Filter
col-records = Records
filter-record-key = Record key
record-calls-total = { $total ->
    [one] One call
   *[other] { $shown } calls
}
record-calls-shown = Calls { $first }–{ $last } of { $total }, newest first.
pager-newer-calls = ← Newer calls
pager-page-of = Page { $page } of { $pages }
error-not-a-page = “{ $value }” is not a page number. Pages are counted from 1.
error-page-beyond = There is no page { $value }; the last page is { $pages }.

# The calls list's legend of statuses (calls.html).
status-help-title = What the statuses mean
status-help-in_progress = The caller is on the line and has not yet given consent or made a request. Only Liza sets it.
status-help-processed = Liza has taken up the caller's request (they consented; e.g. an order number is being asked). A call that ends normally becomes completed.
status-help-completed = Nothing left to do: the call ended normally, or staff closed it.
status-help-problem = Something went wrong: the caller gave up without a valid answer or heard Liza's apology. Stays problem until staff change it.

# A part of a number without days chosen (calls.html).
calls-part-window = A part of a number is looked for in the calls of the last { $days } days. Choose days above to look at other times, or
calls-part-all-time = search all calls (slower).
