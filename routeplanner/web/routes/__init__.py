"""HTTP routes: ``pages`` renders HTML for people, ``api`` serves JSON under /api."""
