"""One plan run and one apply run, whole: what `jcstate plan` and `jcstate apply` do.

`plan_project` makes a plan whatever the refresh (full, targeted, changed since a
ref); `apply_project` owns the lock, the journal, the re-checks and the report.
Builds on core, project, remote and execute; never imports commands, never prints
or prompts (what a command shows comes back as values, or goes to its callbacks).
"""
