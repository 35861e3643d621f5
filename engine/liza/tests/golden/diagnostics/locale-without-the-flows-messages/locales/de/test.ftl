hello = Hallo!
menu = Drücken Sie die 1.
bye = Tschüss!
