"""The command language: registry, parser, interpreter, errors. No crystallography here."""
