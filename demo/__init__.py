"""The demo: ``manage.py seed_demo`` and the month of history it writes through the services."""
