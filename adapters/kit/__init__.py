"""The adapter kit: what every adapter shares, so that a new one is a folder of its own.

Adapters use the kit and the engine, never a sibling adapter. Each concern here has one owner:
naming (:mod:`adapters.kit.naming`), the school calendar (:mod:`adapters.kit.schoolyear`), and
the sandbox kit (:mod:`adapters.kit.sandbox`) that every adapter's local emulator is built on.
"""
