"""The user's files: find and load a project, YAML in and out, validation with positions,
the JSON schema, fmt, export and adopt (the writers of contacts files). Reads and writes
local files only: never imports remote, execute, commands or sandbox, and never prints.
"""
