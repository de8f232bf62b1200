"""Multi-week visit scheduling: which day each visit happens, and plan repair."""
