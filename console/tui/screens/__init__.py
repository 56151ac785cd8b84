"""The console's views, one module per screen."""
