hello = Hello from <emphasis>{ $company }</emphasis>. <speak>We are here.</speak> 1 < 2
bye = <break time="12s"/> Goodbye.
