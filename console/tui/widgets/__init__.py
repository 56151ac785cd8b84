"""Widgets and dialogs of the console; they hold no data access, only what screens give them."""
