"""The admin plumbing every app's ``admin.py`` builds on: no admin page writes a money object
around its service (``paysys.admin.base``), and every action is permission-gated and confirmed
with the operator's reason (``paysys.admin.actions``)."""
