hello = Hello from { $company }.
ask = Press 1 or 2.
bye = Goodbye.
number = Please type a number.
number-hints = number, oh, one, two
