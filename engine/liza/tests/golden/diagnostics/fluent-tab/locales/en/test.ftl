hello = Hello from { $company },
	the shop around the corner.
