"""The agenda's pages (built by the agenda work)."""
