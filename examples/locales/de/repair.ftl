# Die Leitung der Reparaturannahme (examples/repair-line.yaml). Variablen: $company,
# $repair_number (Ziffer für Ziffer). SSML-Tags gestalten, wie gesprochen wird.

repair-welcome = Willkommen beim Reparaturservice von { $company }. <break time="300ms"/> Sie können mit mir sprechen oder die Tasten Ihres Telefons benutzen.
repair-consent = Dürfen wir Ihre Angaben für diesen Anruf speichern? Sagen Sie <emphasis>ja</emphasis> oder drücken Sie die 1, sonst sagen Sie nein oder drücken Sie die 2.
repair-consent-invalid = Bitte sagen Sie ja oder nein, oder drücken Sie die 1 oder die 2.
repair-yes-words = ja, jawohl, gerne, okay
repair-no-words = nein, lieber nicht
repair-number-prompt = Bitte nennen Sie Ihre Reparaturnummer <prosody rate="slow">Ziffer für Ziffer</prosody>, oder tippen Sie sie ein und drücken Sie die Raute-Taste.
repair-number-hints = Reparaturnummer, null, eins, zwei, zwo, drei, vier, fünf, sechs, sieben, acht, neun
repair-number-invalid = Eine Reparaturnummer hat 4 bis 8 Ziffern. <break time="200ms"/> Versuchen wir es noch einmal.
repair-number-no-input = Ich habe nichts gehört.
repair-noted = Danke. Ihre Reparaturnummer ist { $repair_number }.
repair-menu = Möchten Sie mit unserer Werkstatt sprechen? Sagen Sie ja oder drücken Sie die 1. Zum Beenden sagen Sie nein oder drücken Sie die 2.
repair-menu-invalid = Bitte sagen Sie ja oder nein.
repair-closed = Unsere Werkstatt ist gerade nicht besetzt. Sie erreichen uns <emphasis level="moderate">Montag bis Freitag von 8 bis 17 Uhr</emphasis>.
repair-connecting = Einen Moment, ich verbinde Sie mit der Werkstatt.
# Wird der Person in der Werkstatt gesagt, die abnimmt, bevor der Anrufer durchgestellt wird.
repair-whisper = Ein Anruf über die Reparaturannahme.
repair-busy = Leider kann gerade niemand aus der Werkstatt Ihren Anruf annehmen.
repair-voicemail = Hinterlassen Sie uns nach dem Signalton eine Nachricht mit Ihrer Reparaturnummer. Drücken Sie danach die Raute-Taste.
repair-thanks = Danke für Ihre Nachricht. Wir rufen Sie zurück. Auf Wiederhören!
repair-no-recording = Ohne Ihre Zustimmung nehmen wir keine Nachricht auf. Bitte rufen Sie uns während der Öffnungszeiten an. Auf Wiederhören!
repair-goodbye = Danke für Ihren Anruf. Auf Wiederhören!
