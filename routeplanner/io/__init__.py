"""Reading and writing user files (CSV/XLSX import with row/field errors, exports)."""
