"""The user's files: find and load a project, YAML in and out, validation with positions,
the JSON schema, fmt, export, adopt and sources (the writers of contacts files). Reads and
writes local files only (and reads the database of an SQL source): never imports remote,
execute, commands or sandbox, never talks to JustCall, and never prints.
"""
