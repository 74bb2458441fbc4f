"""The only writer of remote state: apply (executing a plan), its journal and saved plans.
Builds on core and remote; never imports commands or sandbox, and never prints or prompts.
"""
