"""The pure core: models of a contact, a project and a plan; normalisation; the plan and
drift engines; the values an apply reports. Values in, values out: no files, no network,
no clock, no environment. Never imports project, remote, execute, commands, sandbox or render.
"""
