# Die Texte des Dashboards auf Deutsch. Jede Nachricht hier hat ihren Zwilling in
# ../en/dashboard.ftl mit denselben Variablen (ein Unit-Test von liza-web prüft beide).

## Layout

site-name = Liza-Dashboard
skip-to-content = Zum Inhalt springen
nav-main = Hauptmenü
nav-overview = Übersicht
nav-calls = Anrufe
nav-stats = Statistik
nav-privacy = Datenschutz
nav-account = Konto
log-out = Abmelden
language-switch = Sprache
signed-in-as = Angemeldet als { $name }

## Fehler- und Meldungsseiten

back-to-dashboard = Zurück zum Dashboard
error-not-found-title = Seite nicht gefunden
error-not-found-text = Unter dieser Adresse gibt es nichts. Vielleicht ist der Link vertippt, oder was er zeigte, gibt es nicht mehr.
error-form-expired-title = Formular abgelaufen
error-form-expired-text = Das Formular wurde nicht angenommen, weil es zu lange offen war oder von einer anderen Seite kam. Laden Sie die Seite neu und senden Sie es noch einmal.
error-bad-request-title = Nicht angenommen
error-unavailable-title = Dashboard nicht verfügbar
error-unavailable-text = Das Dashboard braucht eine Datenbank, die es unterstützt.
error-internal-title = Etwas ist schiefgegangen
error-internal-text = Die Seite konnte nicht angezeigt werden. Die Ursache steht im Server-Log; versuchen Sie es gleich noch einmal.
error-form-incomplete = Das Formular war nicht vollständig. Laden Sie die Seite neu und füllen Sie es noch einmal aus.
error-form-too-large = Das Formular war zu groß, um angenommen zu werden.
error-not-a-date = „{ $value }“ ist kein Datum. Wählen Sie einen Tag im Kalender oder schreiben Sie ihn als 2026-12-01.
error-page-link-damaged = Dieser Seitenlink ist beschädigt. Beginnen Sie noch einmal auf der ersten Seite der Liste.
error-unknown-status = Den Status „{ $value }“ gibt es nicht. Wählen Sie einen aus der Liste.
error-unknown-record-status = Den Status „{ $value }“ gibt es für { $kind } nicht. Wählen Sie einen von: { $allowed }.
error-unknown-consent = Die Einwilligungsantwort „{ $value }“ gibt es nicht. Wählen Sie eine aus der Liste.
error-status-not-settable = Ein Anruf kann nicht auf „läuft“ zurückgesetzt werden: nur ein laufender Anruf läuft. Wählen Sie bearbeitet, abgeschlossen oder Problem.
error-notes-too-long = Notizen dürfen höchstens { $max } Zeichen haben.

## Anmeldung

login-title = Anmelden
login-user-name = Benutzername
login-password = Passwort
login-submit = Anmelden
login-wrong = Benutzername oder Passwort falsch.
login-too-many-failures = Zu viele fehlgeschlagene Anmeldungen. Warten Sie 15 Minuten und versuchen Sie es dann noch einmal.
login-busy = Der Server prüft gerade viele Anmeldungen gleichzeitig. Versuchen Sie es gleich noch einmal.

## Übersicht

overview-title = Übersicht
tile-calls-today = Anrufe heute
tile-calls-this-week = Anrufe diese Woche
tile-consent-rate = Einwilligungsquote diese Woche
tile-consent-counts = ({ $given } erteilt, { $refused } abgelehnt)
tile-open-problems = offene Probleme
tile-retention-days = { $days ->
    [one] { $days } Tag
   *[other] { $days } Tage
}
tile-retention = personenbezogene Daten aufbewahrt
tile-retention-forever = (LIZA_RETENTION_DAYS=0: nie entfernt)
tile-retention-no-purge = (noch keine Löschung gelaufen)
tile-retention-last-purge = (letzte Löschung { $at }: { $count ->
    [one] { $count } Anruf
   *[other] { $count } Anrufe
} anonymisiert)
tile-retention-purge-running = (letzte Löschung { $at }, läuft noch: { $count ->
    [one] { $count } Anruf
   *[other] { $count } Anrufe
} anonymisiert)
n-calls = { $count ->
    [one] { $count } Anruf
   *[other] { $count } Anrufe
}
overview-top = { $kind }: diese Woche am häufigsten angefragt
overview-top-none = Diese Woche wurde nichts angefragt.
flows-loaded = Geladene Abläufe
flows-reload-error = Der zuletzt gespeicherte Ablauf konnte nicht geladen werden; die vorige Version beantwortet weiter die Anrufe.
col-flow = Ablauf
col-description = Beschreibung
col-nodes = Knoten
col-file = Datei
col-version = Version
flows-none = Kein Ablauf geladen.

## Listen und Filter

calls-title = Anrufe
calls-none = Keine passenden Anrufe.
records-none = Keine passenden { $kind }.
filter-any = alle
filter-from-day = Von Tag
filter-to-day = Bis Tag
filter-phone-number = Telefonnummer
filter-submit = Filtern
filter-reset = Zurücksetzen
pager = Seiten
pager-newest = Neueste
pager-older-calls = Ältere Anrufe →
pager-older = Ältere →
col-status = Status
col-language = Sprache
col-consent = Einwilligung
col-started = Beginn
col-from = Von
col-duration = Dauer
col-created = Angelegt
col-updated = Geändert
col-notes = Notizen
col-when = Wann
col-who = Wer
col-what = Was
col-old = Alt
col-new = Neu
col-by = Von
col-action = Aktion
col-caller = Anrufer
col-value = Wert
col-day = Tag
col-calls = Anrufe
col-consent-given = Einwilligung erteilt
col-consent-refused = Einwilligung abgelehnt
col-problems = Probleme
col-average-handling = Mittlere Bearbeitungszeit
col-signed-in = Angemeldet
col-expires = Läuft ab
col-this-session = Diese Sitzung
col-label = Bezeichnung
col-last-used = Zuletzt benutzt
col-number-kept = Nummer gespeichert

## Status von Anrufen und Einträgen, Einwilligung

status-in_progress = läuft
status-processed = bearbeitet
status-completed = abgeschlossen
status-problem = Problem
consent-given = erteilt
consent-refused = abgelehnt
consent-none = keine
change-status = Status ändern
save-status = Status speichern
save-notes = Notizen speichern

## Ein Anruf

call-title = Anruf { $id }
call-from = Anruf von
call-started = Beginn
call-ended = Ende
call-to = An
call-sid = Call-SID
call-saved-status = Status gespeichert: der Anruf ist jetzt { $status } (im Verlauf unten).
call-saved-unchanged = Nichts geändert: der Anruf war schon { $status }.
call-status-rules = Mitarbeiter setzen bearbeitet, abgeschlossen oder Problem; nur ein laufender Anruf läuft, kein Anruf kehrt dorthin zurück. Jede Änderung steht im Verlauf.
call-conversation = Gespräch
call-liza-said = Liza:
call-request = Anfrage ans System:
call-caller-pressed = Anrufer drückte:
call-no-steps = Keine Schritte aufgezeichnet.
call-no-records = Keine { $kind }.
call-outbox = SMS und Ereignisse
call-no-outbox = Keine SMS oder Ereignisse zu diesem Anruf.
outbox-what = Was
outbox-attempts = Versuche
outbox-sent-at = Gesendet
outbox-last-error = Letzter Fehler
outbox-kind-sms = SMS
outbox-kind-event = Ereignis
outbox-status-pending = wartet auf Versand
outbox-status-sending = wird gesendet
outbox-status-sent = gesendet
outbox-status-failed = fehlgeschlagen
call-recordings = Sprachnachricht
call-recordings-twilio = Die Aufnahmen bleiben bei Twilio: Ein Link fragt nach den Zugangsdaten Ihres Twilio-Kontos (Account-SID und Auth-Token).
call-recording = { $seconds ->
    [-1] Aufnahme (Länge noch nicht gemeldet)
    [1] Aufnahme, 1 Sekunde
   *[other] Aufnahme, { $seconds } Sekunden
}
call-no-recordings = Keine Sprachnachricht bei diesem Anruf.
consent-asked = «{ $text }» — { $locale }, Ablauf { $version }
consent-decided = { $decision ->
    [given] Einwilligung erteilt
   *[other] Einwilligung abgelehnt
} { $at } auf { $asked }
consent-decided-unstored = { $decision ->
    [given] Einwilligung erteilt
   *[other] Einwilligung abgelehnt
} { $at } (die Frage wurde nicht gespeichert)
consent-no-answer = Keine Antwort (gefragt { $at }) auf { $asked }
consent-waiting = Gefragt { $at }, noch keine Antwort, auf { $asked }
consent-not-asked = Nicht gefragt

## Ein Eintrag

record-calls = Anrufe zu diesem Eintrag ({ $kind })
record-no-calls = Keine Anrufe.

## Verlauf

audit-title = Verlauf
audit-none = Noch keine Änderungen.

## Statistik

stats-period = Zeitraum
stats-last-days = letzte { $days } Tage
stats-show-period = Anzeigen
stats-period-hint = Oder zwei Tage wählen (höchstens { $max } Tage auseinander). Tage und Wochen sind Ortszeit; Wochen laufen von Montag bis Sonntag.
stats-period-shown = { $first } bis { $last } ({ $days ->
    [one] { $days } Tag
   *[other] { $days } Tage
}), Tage in der Zeitzone { $zone }.
stats-totals = { $calls ->
    [one] { $calls } Anruf
   *[other] { $calls } Anrufe
}, { $problems } mit Problemen.
stats-weeks-hint = Wochen sind Kalenderwochen (ISO, Montag bis Sonntag). Schraffierte, hellere Balken sind nicht vollständig: Heute ist noch nicht vorbei, oder der gewählte Zeitraum enthält nur einen Teil dieser Woche oder dieses Monats.
stats-weekday-hint = Summen über den Zeitraum: In einem Zeitraum, der nicht aus ganzen Wochen besteht, kommen manche Wochentage einmal öfter vor.
stats-consent-rate = Einwilligungsquote
stats-consent-rate-value = { $rate } %
stats-consent-rate-none = In diesem Zeitraum hat niemand die Frage nach der Einwilligung beantwortet.
stats-consent-definition = Die Einwilligungsquote ist Einwilligung erteilt ÷ (erteilt + abgelehnt): { $given } erteilt, { $refused } abgelehnt. { $unanswered ->
    [one] { $unanswered } Anruf ohne Antwort auf die Frage nach der Einwilligung (vorher aufgelegt oder nicht gefragt) zählt nicht mit.
   *[other] { $unanswered } Anrufe ohne Antwort auf die Frage nach der Einwilligung (vorher aufgelegt oder nicht gefragt) zählen nicht mit.
}
stats-consent-of-all = Über alle Anrufe gezählt haben { $rate } % eingewilligt.
stats-error-days = Einen Zeitraum von „{ $value }“ Tagen gibt es nicht: Wählen Sie 7, 30, 90 oder 365 Tage oder zwei Tage im Kalender.
stats-error-from-missing = Ab welchem Tag? Wählen Sie auch den ersten Tag des Zeitraums.
stats-error-reversed = Der erste Tag ({ $from }) liegt nach dem letzten ({ $to }). Tauschen Sie die beiden.
stats-error-future = Der Zeitraum beginnt in der Zukunft ({ $from }). Wählen Sie einen Tag bis heute.
stats-error-too-long = Dieser Zeitraum hat { $days } Tage; höchstens { $max } Tage (drei Jahre) lassen sich auf einmal zeigen.
stats-top-days = { $kind }: am häufigsten angefragt, { $first } bis { $last }
stats-top-cut = Gezählt über die letzten { $days } Tage des Zeitraums: jeden Anruf eines langen Zeitraums zu ordnen, würde diese Seite verlangsamen.
chart-per-day = Anrufe pro Tag
chart-per-week = Anrufe pro Kalenderwoche
chart-per-month = Anrufe pro Monat
chart-by-hour = Anrufe nach Tageszeit (Stunde, Ortszeit)
chart-by-weekday = Anrufe nach Wochentag
chart-consent = Einwilligung
chart-handling-day = Mittlere Bearbeitungszeit pro Tag (Sekunden)
chart-handling-week = Mittlere Bearbeitungszeit pro Kalenderwoche (Sekunden)
chart-handling-month = Mittlere Bearbeitungszeit pro Monat (Sekunden)
chart-as-table = { $chart } als Tabelle
chart-summary = { $chart }: { $count } Balken, der höchste { $max }. Die Zahlen stehen in der Tabelle darunter.
chart-week = KW { $week }
chart-partial-running = bisher (läuft noch)
chart-partial-cut = nur teilweise im Zeitraum
chart-partial-legend = schraffierter, hellerer Balken: kein ganzer Tag, keine ganze Woche, kein ganzer Monat (heute bisher, oder vom Zeitraum abgeschnitten)
col-week = Kalenderwoche
col-month = Monat
col-hour = Stunde
col-weekday = Wochentag
col-seconds = Sekunden
col-note = Hinweis
consent-unanswered = keine Antwort
weekday-short = { $day ->
    [0] Mo
    [1] Di
    [2] Mi
    [3] Do
    [4] Fr
    [5] Sa
   *[6] So
}
weekday-long = { $day ->
    [0] Montag
    [1] Dienstag
    [2] Mittwoch
    [3] Donnerstag
    [4] Freitag
    [5] Samstag
   *[6] Sonntag
}
stats-by-language = Nach Sprache
stats-all = alle
stats-top-none = In diesem Zeitraum wurde nichts angefragt.

## Konto

account-title = Konto { $name }
account-sessions = Sitzungen
account-sessions-intro = Wo Sie angemeldet sind. Wenn Sie eine Sitzung beenden, ist dieser Browser sofort abgemeldet; ein neues Passwort beendet alle.
account-this-session = diese Sitzung
account-end-this-session = Diese Sitzung beenden
account-end-session = Sitzung beenden
account-tokens = API-Tokens
account-tokens-intro = Bearer-Tokens für die JSON-API (/api/…). Ein Administrator legt eines auf dem Server an; es wird nur dann angezeigt:
account-never = nie
account-expired = abgelaufen
account-revoke = Widerrufen
account-no-tokens = Keine API-Tokens.

## Datenschutz

privacy-intro = Anrufer dürfen fragen, was Liza über sie speichert (DSGVO Art. 15), und die Löschung verlangen (Art. 17). Finden Sie sie über ihre Telefonnummer; vor ihrer Einwilligung kennt Liza sie nur als Hash dieser Nummer mit geheimem Schlüssel.
privacy-retention = Personenbezogene Daten von Anrufen, die älter als { $days } Tage sind, werden automatisch entfernt.
privacy-retention-forever = Personenbezogene Daten werden ohne Frist aufbewahrt:
privacy-find = Suchen
privacy-not-a-number = „{ $value }“ ist keine Telefonnummer, die Liza lesen kann. Schreiben Sie sie mit Ländervorwahl, z. B. +4915112345678.
privacy-erase-unconfirmed = Nichts wurde gelöscht: kreuzen Sie zuerst „Mir ist klar, dass das nicht rückgängig zu machen ist“ an.
privacy-erased-title = Gelöscht
privacy-erased = { $calls ->
    [one] { $calls } Anruf
   *[other] { $calls } Anrufe
} anonymisiert: { $steps } Gesprächsschritte geleert, { $responses } gespeicherte Antworten gelöscht, { $links } Verknüpfungen zu Einträgen entfernt. Die Einträge selbst bleiben, ohne den Anrufer. Das Prüfprotokoll hat einen Eintrag ohne die Nummer.
privacy-live-left = Nicht angetastet, weil noch laufend:
privacy-live-left-again = Löschen Sie noch einmal, wenn sie beendet sind.
privacy-stored-about = Gespeichert über
privacy-nothing = Über diese Nummer ist nichts gespeichert.
privacy-nothing-any-more = Über diese Nummer ist nichts mehr gespeichert.
privacy-tile-calls = Anrufe
privacy-tile-steps = Schritte mit Gesagtem oder Getipptem
privacy-tile-answers = gespeicherte Antworten
privacy-tile-records = betroffene Einträge
privacy-left-alone = läuft: nicht angetastet
privacy-kept-erased = gelöscht
privacy-kept-clear = im Klartext (eingewilligt)
privacy-kept-hash = als Hash
privacy-records-touched = Einträge, die diese Anrufe betrafen (sie bleiben nach einer Löschung, ohne den Anrufer):
privacy-download = Alles Gespeicherte herunterladen (JSON)
privacy-erase-title = Löschen
privacy-erase-text = Entfernt die Nummer dieses Anrufers (im Klartext und als Hash), alles, was in seinen Anrufen gesagt und getippt wurde, die gespeicherten Antworten und die Verknüpfungen der Anrufe zu Einträgen, endgültig. Die Anrufe bleiben als anonyme Zeilen für die Statistik; Einträge (z. B. eine Bestellung und ihr Status) bleiben.
privacy-erase-confirm = Mir ist klar, dass das nicht rückgängig zu machen ist
privacy-erase-submit = Daten dieses Anrufers löschen
privacy-recent = Letzte Datenschutz-Aktionen
privacy-no-actions = Noch kein Export und keine Löschung.

## Live-Ansicht und Arbeitsliste

live-changed = Etwas hat sich geändert: laden Sie die Seite neu, um es zu sehen (zurückgehalten, solange Sie Anrufe auswählen).
live-failed = Live-Aktualisierung beendet: laden Sie die Seite neu, um den neuesten Stand zu sehen.
live-ended = Der Anruf ist beendet; diese Seite aktualisiert sich nicht mehr.
live-noscript = Diese Seite aktualisiert sich nur mit JavaScript selbst: laden Sie sie neu, um Neues zu sehen.
tile-in-progress = laufende Anrufe
tile-in-progress-hint = (aktualisiert sich selbst; ohne JavaScript neu laden)
tile-problems-window = in den
tile-problems-show = Anzeigen
tile-problems-default = (Standard: die letzten 7 Tage)
window-24h = letzten 24 Stunden
window-7d = letzten 7 Tagen
window-30d = letzten 30 Tagen
window-all = gesamten Zeit
filter-within = Begonnen in den
filter-any-time = beliebig
calls-number-hint = Eine Nummer kann in jeder dieser Formen eingegeben werden:
calls-number-part-hint = Die maskierte Form ist die, die eine Liste zeigt; ein Teil einer Nummer findet die im Klartext gespeicherten Nummern, die ihn enthalten.
calls-masked-hint = Eine maskierte Nummer zeigt nur Ländervorwahl, die ersten drei und die letzten zwei Ziffern: unten stehen die Anrufe aller Anrufer, deren Nummer gleich aussieht, womöglich mehr als eine Person.
bulk-set-to = Angekreuzte Anrufe setzen auf
bulk-rules = Höchstens { $max } Anrufe auf einmal. Mitarbeiter setzen bearbeitet, abgeschlossen oder Problem; nur ein laufender Anruf läuft. Jede Änderung steht im Verlauf des Anrufs.
col-select = Auswahl
bulk-select-call = Anruf vom { $started } auswählen
bulk-done = { $count ->
    [one] { $count } Anruf
   *[other] { $count } Anrufe
} auf { $status } gesetzt.
bulk-skipped = { $count ->
    [one] { $count } Anruf
   *[other] { $count } Anrufe
} übersprungen: { $why }.
bulk-skipped-already = { $count } schon { $status }
bulk-skipped-missing = { $count } nicht mehr gespeichert
error-unknown-window = Den Zeitraum „{ $value }“ gibt es nicht. Wählen Sie einen aus der Liste.
error-not-a-call = „{ $value }“ ist nicht die Nummer eines Anrufs.
error-bulk-too-many = Höchstens { $max } Anrufe können auf einmal geändert werden. Wählen Sie weniger aus.
error-bulk-none = Kein Anruf ausgewählt. Kreuzen Sie zuerst die Anrufe an, die Sie ändern wollen.
error-not-a-masked-number = „{ $value }“ ist keine maskierte Nummer, wie die Listen sie zeigen: Ländervorwahl, die ersten drei Ziffern, Punkte für die verborgenen und die letzten zwei Ziffern, z. B. +49 151 ••• ••90.

## Die Zeitzone des Dashboards (LIZA_TIMEZONE), am Fuß jeder Seite

zone-times = Zeiten, Tage und Wochen (ab Montag) in der Zeitzone

# The call page's timeline: what a step's outcome means (engine/web/src/dashboard/timeline.rs).
step-asked = Gefragt
step-accepted = Angenommen
step-open = Innerhalb der Öffnungszeiten
step-closed = Außerhalb der Öffnungszeiten
step-period = Öffnungszeiten: { $period }
step-dial-started = Weiterleitung zu einer Person gestartet
step-dial-answered = Weiterleitung: angenommen, Gespräch beendet
step-dial-busy = Weiterleitung: besetzt
step-dial-no-answer = Weiterleitung: niemand hat abgenommen
step-dial-failed = Weiterleitung: fehlgeschlagen
step-dial-not-configured = Weiterleitung: keine Nummer eingerichtet
step-dial-possible = Weiterleitung: eine Nummer ist eingerichtet
step-voicemail-started = Sprachnachricht: Aufnahme gestartet
step-voicemail-recorded = Sprachnachricht aufgenommen
step-voicemail-empty = Sprachnachricht: nichts gesprochen
step-voicemail-no-consent = Sprachnachricht: nicht aufgenommen (keine Zustimmung)
step-call-already-ended = Der Anruf war bereits beendet
step-too-many-steps = Abgebrochen: zu viele Schritte ohne Eingabe
step-case = Weiter über: { $value }
step-set = Gesetzt: { $names }
step-hangup = Anruf beendet: { $status }
step-invalid = Ungültig
step-no-input = Keine Eingabe
step-not-understood = Nicht verstanden
step-attempts-left = { $problem }; noch { $left ->
    [one] 1 Versuch
   *[other] { $left } Versuche
}
step-attempts-exhausted = { $problem }; keine Versuche mehr
step-call-status = Anruf als { $status } markiert
step-consent-given = Einwilligung erteilt
step-consent-refused = Einwilligung abgelehnt
step-fetch-ok = Das System hat geantwortet ({ $detail })
step-fetch-not-found = Dem System unbekannt ({ $detail })
step-fetch-error = Fehler im System ({ $detail })
step-fetch-timeout = Das System hat nicht rechtzeitig geantwortet ({ $detail })
step-fetch-not-configured = Nicht eingerichtet ({ $detail })
step-record-saved = { $kind } gespeichert, Status { $status }
step-record-not-saved = { $kind } nicht gespeichert
step-record-found = { $kind } gefunden, Status { $status }
step-record-missing = { $kind } nicht gefunden

# The history's "What" and its values (stored as words of the code; audit.html).
audit-field-status = Status
audit-field-notes = Notizen
audit-field-password = Passwort
audit-field-session = Sitzung
audit-field-sessions = Sitzungen
audit-field-api_token = API-Token
audit-field-erase = Anruferdaten gelöscht
audit-field-export = Export
audit-value-ended = beendet
audit-value-revoked = widerrufen
audit-value-in_progress = läuft
audit-value-processed = bearbeitet
audit-value-completed = abgeschlossen
audit-value-problem = Problem

export-label = Alles herunterladen, was dieser Filter findet (alle Seiten):
export-full = mit vollständigen Nummern (wird protokolliert)
export-csv = CSV
export-json = JSON Lines
error-busy-title = Ausgelastet
error-exports-busy = Es laufen schon { $max } Exporte. Versuchen Sie es in einer Minute noch einmal.
privacy-full-exports = Listen mit vollständigen Nummern exportiert
privacy-no-full-exports = Noch keine Liste mit vollständigen Nummern exportiert.
col-list = Liste
col-filter = Filter
col-records = Einträge
filter-record-key = Schlüssel
record-calls-total = { $total ->
    [one] Ein Anruf
   *[other] { $shown } Anrufe
}
record-calls-shown = Anrufe { $first }–{ $last } von { $total }, neueste zuerst.
pager-newer-calls = ← Neuere Anrufe
pager-page-of = Seite { $page } von { $pages }
error-not-a-page = „{ $value }“ ist keine Seitenzahl. Seiten werden ab 1 gezählt.
error-page-beyond = Es gibt keine Seite { $value }; die letzte Seite ist { $pages }.

# The calls list's legend of statuses (calls.html).
status-help-title = Was die Status bedeuten
status-help-in_progress = Der Anrufer ist in der Leitung und hat noch nicht eingewilligt oder ein Anliegen genannt. Nur Liza setzt diesen Status.
status-help-processed = Liza bearbeitet das Anliegen (der Anrufer hat eingewilligt; z. B. wird die Bestellnummer erfragt). Ein regulär beendeter Anruf wird abgeschlossen.
status-help-completed = Nichts mehr zu tun: Der Anruf endete regulär, oder das Team hat ihn abgeschlossen.
status-help-problem = Etwas ist schiefgegangen: Der Anrufer hat ohne gültige Antwort aufgegeben oder Lizas Entschuldigung gehört. Bleibt so, bis das Team den Status ändert.

# A part of a number without days chosen (calls.html).
calls-part-window = Ein Teil einer Nummer wird in den Anrufen der letzten { $days } Tage gesucht. Wählen Sie oben Tage für andere Zeiträume, oder
calls-part-all-time = alle Anrufe durchsuchen (langsamer).
