"""jcstate: contacts-as-code for the JustCall Contacts API."""

__version__ = "0.1.0"
