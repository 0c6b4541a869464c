"""Operators of the back office: their roles (groups made by a data migration from ``roles``) and
how they log in to the admin (password, TOTP second factor, lockout, idle sessions: ``site``)."""
