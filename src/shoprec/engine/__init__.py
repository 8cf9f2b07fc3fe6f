"""One request to ranked, filtered, explained items, for the CLI and the HTTP service alike.

The engine holds the serving model with what requests need beside it (`Serving`), the live
catalogue, shopper state from events, the business rules (filters and what stays hidden) and
search. It knows nothing of HTTP: `shoprec.service` routes and `shoprec.cli` commands are thin
callers, so the two can never disagree on a rule.
"""
