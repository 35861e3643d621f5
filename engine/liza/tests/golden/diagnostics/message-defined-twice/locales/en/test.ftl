hello = Hello from { $company }.
bye = Goodbye.
hello = Hi from { $company }.
