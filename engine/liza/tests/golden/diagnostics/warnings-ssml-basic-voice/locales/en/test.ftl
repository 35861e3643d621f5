hello = Hello <break time="300ms"/> from { $company }.
bye = <prosody rate="slow">Goodbye.</prosody>
