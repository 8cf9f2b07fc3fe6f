"""Errors a user can cause with their input; each names the input and what was expected."""


class DataError(ValueError):
    """Raised for a malformed, empty or inconsistent input file or record."""
