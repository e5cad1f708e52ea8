"""One router per area of the API; each calls that area's engine and store, nothing more."""
