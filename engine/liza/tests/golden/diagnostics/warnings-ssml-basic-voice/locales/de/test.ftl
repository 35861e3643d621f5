hello = Hallo <break time="300ms"/> von { $company }.
bye = Auf Wiederhören.
