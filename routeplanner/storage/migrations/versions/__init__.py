"""Migration revisions, oldest first; file names start with the revision id."""
