"""One package per area; views are thin: read the request, call domain/, render."""
