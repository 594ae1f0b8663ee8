"""Domain errors shared by several services; views turn them into messages and statuses."""


class NotAllowed(Exception):
    """The action does not fit the current state (of a space, a code, a document…)."""
