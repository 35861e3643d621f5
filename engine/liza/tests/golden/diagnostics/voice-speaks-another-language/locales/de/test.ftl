hello = Hallo.
bye = Auf Wiederhören.
