"""The operations behind the API, free of HTTP: the CLI and library call the same functions.

Each function takes the store (and the caller, a `Principal`) and either returns data or raises
one of the `ServiceError`s in `access`, which the API maps to HTTP statuses.
"""
