hello = Hello from { $compnay }.
