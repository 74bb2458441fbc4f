"""The only writer of remote state: apply (executing a plan), its journal, saved plans, the lock.
Builds on core and remote; never imports commands or sandbox, and never prints or prompts.
"""
