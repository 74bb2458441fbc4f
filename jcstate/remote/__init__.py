"""The JustCall API: the async httpx client, pacing and retries, complete listings,
per-phone lookups and the fetch-then-plan pipeline. Reads remote state and sends the
requests it is given; never imports project, execute or commands, and never prints.
"""
