"""The Textual operations console: k9s-style views over the ops facade, for support engineers."""
