hello = Hallo von { $company }.
ask = Drücken Sie 1 oder 2.
bye = Auf Wiederhören.
number = Bitte geben Sie eine Nummer ein.
number-hints = Nummer, null, eins, zwei
