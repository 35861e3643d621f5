hello = Hello from { $company }.
terms = Please listen to our terms.
