hello = Hello from { $company }.
bye = { $company ->
    [Muster] Goodbye from Muster.
    [other] Goodbye.
}
