hello = Bonjour.
bye = Au revoir.
