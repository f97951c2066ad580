"""Pure parsers and models: text in, models out; no file system, no targets, no rules."""
