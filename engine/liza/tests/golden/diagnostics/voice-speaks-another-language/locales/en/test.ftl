hello = Hello.
bye = Goodbye.
