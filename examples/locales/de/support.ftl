welcome = Willkommen bei der Hotline von { $company }.
menu = Für unsere Öffnungszeiten drücken Sie die 1. Für den Stand eines Tickets die 2. Für einen Rückruf die 3. Zum Auflegen die 0.
menu-invalid = Bitte wählen Sie 1, 2, 3 oder 0.
hours = Wir sind Montag bis Freitag von 9 bis 17 Uhr für Sie da.
back-to-menu = Zurück zum Menü.
ticket-prompt = Bitte geben Sie Ihre sechsstellige Ticketnummer ein.
ticket-invalid = Eine Ticketnummer hat sechs Ziffern.
ticket-status = Ticket { $ticket_number } ist { $ticket_status ->
    [open] offen. Wir melden uns bald.
   *[waiting] in Wartestellung auf Ihre Antwort.
}
ticket-solved = Ticket { $ticket_number } ist gelöst. Danke für Ihre Geduld.
ticket-unknown = Ich konnte das Ticket { $ticket_number } nicht finden.
callback-prompt = Bitte geben Sie Ihre Kundennummer ein und drücken Sie die Raute-Taste.
callback-invalid = Eine Kundennummer hat 4 bis 8 Ziffern.
callback-saved = Danke. Wir rufen Kunde { $customer_number } zurück.
goodbye = Danke für Ihren Anruf bei { $company }. Auf Wiederhören!
engine-error = Entschuldigung, ein technisches Problem ist aufgetreten. Bitte rufen Sie später noch einmal an.

# Wie das Dashboard Datensätze der Art `ticket` nennt.
records-ticket = Tickets
    .one = Ticket
    .key = Ticketnummer

# Wie das Dashboard Datensätze der Art `callback` nennt.
records-callback = Rückrufe
    .one = Rückruf
    .key = Kundennummer
