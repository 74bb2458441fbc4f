"""One module per CLI command; each exposes a click command named `command`.
The thin shell: parse options, call a run (runs/) or project/remote/execute, render,
pick the exit code.
The only place (with cli.py) that prints or prompts; never imported by the packages below.
"""
