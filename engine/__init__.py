"""The ESS sync engine: model, journal, planner, guard, executor and the ops facade.

The engine knows no vendor: sources and targets arrive through entry points (see
:mod:`engine.plugins`), and front ends reach it only through :mod:`engine.ops`.
"""
