# SSML mistakes seen most: one per line.
hello = Hallo <brek time="1s"/> von { $company }. Wir sind <break time="500"/> für Sie da,
    <prosody rate="slowly">heute</prosody> und <say-as interpret-as="digit">24</say-as> Stunden,
    <emphasis level="strong">jederzeit.
bye = <break tme="2s"/>Auf <sub alias={ $company }>Wiederhören</sub>. <p><s>Tschüss</p></s>
