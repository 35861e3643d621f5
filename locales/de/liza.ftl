# Liza's call in German. Variables: $company (COMPANY_NAME), $website (WEBSITE_URL),
# $order_number (read back digit by digit), $order_status.

greeting = Guten Tag! Hier ist Liza, die Sprachassistentin von { $company }.

consent-question = Dürfen wir Ihre Daten für dieses Gespräch verarbeiten? Drücken Sie die 1 für Ja oder die 2 für Nein.
consent-invalid = Das habe ich nicht verstanden. Bitte drücken Sie die 1 für Ja oder die 2 für Nein.
consent-no-input = Ich habe keine Eingabe erhalten.
consent-refused-goodbye = Schade, dann können wir Ihre Anfrage leider nicht bearbeiten. Vielen Dank für Ihren Anruf und auf Wiederhören!
consent-exhausted = Leider habe ich keine gültige Auswahl erhalten. Bitte rufen Sie uns später noch einmal an. Auf Wiederhören!

order-prompt = Bitte geben Sie Ihre Bestellnummer ein und schließen Sie mit der Rautetaste ab.
order-invalid = Diese Bestellnummer ist ungültig. Eine Bestellnummer hat 4 bis 12 Ziffern.
order-no-input = Ich habe keine Bestellnummer erhalten.
order-failed = Es tut mir leid, ich konnte Ihre Bestellnummer nicht erfassen. Bitte versuchen Sie es später noch einmal. Auf Wiederhören!

order-readback = Sie haben { $order_number } eingegeben. Drücken Sie die 1, wenn das richtig ist, oder die 2, um die Nummer erneut einzugeben.
confirm-invalid = Bitte drücken Sie die 1 oder die 2.
confirm-no-input = Ich habe keine Eingabe erhalten.

order-status = Ihre Bestellung { $order_number } { $order_status ->
    [received] ist bei uns eingegangen.
    [processing] wird gerade bearbeitet.
    [shipped] wurde versandt.
    [delivered] wurde zugestellt.
    [cancelled] wurde storniert.
   *[other] hat den Status { $order_status }.
}

text-offer = Möchten Sie das auch per SMS? Drücken Sie die 1 für eine Bestätigung per SMS oder die 2, um fortzufahren.
text-offer-invalid = Bitte drücken Sie die 1 für eine SMS oder die 2, um fortzufahren.
text-offer-no-input = Ich habe keine Eingabe erhalten.
text-sent = Vielen Dank. Die SMS ist unterwegs zu Ihrem Handy.

# Die SMS selbst (`sms`-Knoten `send-text`): geschrieben, nicht gesprochen, die Bestellnummer
# bleibt also in einem Stück.
sms-order-confirmation = { $company }: Ihre Bestellung { $order_number } { $order_status ->
    [received] ist bei uns eingegangen.
    [processing] wird gerade bearbeitet.
    [shipped] wurde versandt.
    [delivered] wurde zugestellt.
    [cancelled] wurde storniert.
   *[other] hat den Status { $order_status }.
} Vielen Dank für Ihren Anruf!

help-question = Können wir Ihnen sonst noch helfen? Drücken Sie die 1 für weitere Informationen oder die 2, um das Gespräch zu beenden.
help-invalid = Bitte drücken Sie die 1 oder die 2.
help-no-input = Ich habe keine Eingabe erhalten.
help-info = Weitere Informationen finden Sie auf unserer Website { $website }. Dort erreichen Sie auch unser Team persönlich.

person-offer = Unser Team ist gerade für Sie da. Drücken Sie die 0, um mit uns zu sprechen, oder die 2, um das Gespräch zu beenden.
person-offer-invalid = Bitte drücken Sie die 0 oder die 2.
person-connecting = Einen Moment bitte, ich verbinde Sie.
person-whisper = Ein Anruf über Liza, die Bestell-Hotline.
person-nobody = Leider kann gerade niemand Ihren Anruf annehmen. Bitte versuchen Sie es später noch einmal.

goodbye = Vielen Dank für Ihren Anruf bei { $company }. Auf Wiederhören!

# Spoken by the engine when a call cannot go on (a technical problem).
engine-error = Entschuldigung, wegen eines technischen Problems können wir Ihren Anruf gerade nicht bearbeiten. Bitte rufen Sie später noch einmal an. Auf Wiederhören!

# Wie das Dashboard Datensätze der Art `order` nennt (flows/liza.yaml, `records.order.title`).
records-order = Bestellungen
    .one = Bestellung
    .key = Bestellnummer

# What the dashboard's call timeline calls each step (flows/liza.yaml, `label:`); never spoken.
step-greeting = Begrüßung
step-consent = Einwilligung gefragt
step-consent-given = Einwilligung erteilt
step-consent-refused = Einwilligung abgelehnt
step-goodbye-refused = Verabschiedung (ohne Einwilligung)
step-consent-exhausted = Keine Antwort auf die Einwilligungsfrage
step-order = Bestellnummer gefragt
step-order-failed = Keine Bestellnummer
step-order-confirm = Bestellnummer wiederholt
step-save-order = Bestellung gespeichert
step-shop-status = Status beim Shop abgefragt
step-order-status = Bestellstatus genannt
step-can-text = SMS möglich?
step-offer-text = SMS-Bestätigung angeboten
step-send-text = SMS-Bestätigung eingereiht
step-text-sent = SMS angekündigt
step-help = Weitere Hilfe angeboten
step-help-info = Website genannt
step-person-check = Weiterleitung möglich?
step-person-hours = Team erreichbar?
step-person-offer = Gespräch mit dem Team angeboten
step-person-transfer = Mit dem Team verbunden
step-person-done = Gespräch mit dem Team beendet
step-person-nobody = Niemand erreichbar
step-goodbye = Verabschiedung
