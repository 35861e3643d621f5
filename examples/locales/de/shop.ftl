# Die Leitung des Ladens (examples/shop-line.yaml). Variablen: $company, $topic (order oder
# return), $order_number (Ziffer für Ziffer), $reference (Thema und Nummer, als Text).

shop-welcome = Willkommen bei { $company }.
shop-topic = Geht es um eine Bestellung? Drücken Sie die 1. Um eine Rücksendung? Drücken Sie die 2. Ob unser Laden gerade geöffnet hat, hören Sie mit der 0.
shop-topic-invalid = Bitte drücken Sie die 1 oder die 2.
shop-order-prompt = Bitte geben Sie Ihre Bestellnummer ein und drücken Sie dann die Raute-Taste.
shop-order-invalid = Eine Bestellnummer hat 4 bis 8 Ziffern.
shop-noted = { $topic ->
    [return] Wir haben die Rücksendung der Bestellung { $order_number } notiert.
   *[order] Wir haben Ihre Frage zur Bestellung { $order_number } notiert.
} Bitte geben Sie { $reference } an, wenn Sie uns schreiben.
shop-open = Unser Laden hat gerade geöffnet.
shop-transfer = Ich verbinde Sie mit uns.
# Said to the person at the shop who answers, before the caller is put through.
shop-transfer-whisper = Ein Anruf über die Ladenleitung.
shop-nobody = Leider kann gerade niemand Ihren Anruf annehmen.
shop-lunch = Wir sind bis halb zwei in der Mittagspause.
shop-closed = Unser Laden ist gerade geschlossen. Wir haben Montag bis Freitag von 9 bis 18 Uhr mit Mittagspause geöffnet, und Samstag von 10 bis 14 Uhr.
shop-goodbye = Danke für Ihren Anruf. Auf Wiederhören!
