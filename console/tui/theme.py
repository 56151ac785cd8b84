"""The console's calm theme: muted blue-grey surfaces, status colours that stand out from them."""

from __future__ import annotations

from textual.theme import Theme

from console.tui import fmt

CALM = Theme(
    name="ess-calm",
    primary="#7aa2c8",
    secondary="#8fa8bf",
    accent="#88c0d0",
    foreground="#d5dbe3",
    background="#1b2029",
    surface="#222833",
    panel="#2a3140",
    success=fmt.OK,
    warning=fmt.WARN,
    error=fmt.BAD,
    dark=True,
    variables={
        "footer-key-foreground": "#88c0d0",
        "block-cursor-background": "#34405a",
        "block-cursor-foreground": "#eef2f7",
        "input-selection-background": "#7aa2c8 35%",
    },
)
