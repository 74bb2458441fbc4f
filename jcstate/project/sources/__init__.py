"""Sources of `jcstate import`: a CRM export (CSV), a JSON Lines dump or a SQL query
turned into one generated contacts file each.

`config` reads the `sources:` of jcstate.yaml (pure, positioned issues), `readers`
streams the rows of a source, `mapping` turns rows into contacts with the same
rules as a contacts file (pure), `writer` renders and compares the generated file.

This package never talks to JustCall (no network but the source's own database),
never prints, and never writes anything but the `into` file of a source, whole or
not at all.
"""
