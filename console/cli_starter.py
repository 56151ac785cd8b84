"""The starter ess.toml that ``ess init`` writes: one tenant wired to the local sandboxes."""

from __future__ import annotations

STARTER_TOML = """\
# ess.toml: the configuration of ESS. docs/configuration.md describes every key.
#
# Secrets never sit in this file. A secret is a reference: 'env:NAME' (an environment variable)
# or 'file:PATH' (a file; a relative path is taken from this file's folder). ESS resolves it
# when a run needs it and never prints or stores the value.

[journal]
# The SQLite journal: runs, plans, operations, the target mirror, the audit log.
# A relative path is taken from this file's folder.
path = "ess.db"

[console]
read_only = false       # true: the console shows everything and changes nothing
refresh_seconds = 5.0

# One bearer token per person or script that may use `ess mcp --http` (a secret reference);
# the table's name is the audit actor of its calls; `revoked = true` shuts it out.
# [mcp.tokens.anna]
# token = "env:ESS_MCP_TOKEN_ANNA"

# One tenant: a source, one or more targets and a policy. Its id ("example") is what the
# commands take: `ess sync example`, `ess status example`.
[tenants.example]
name = "Example school group (sandboxes)"
tier = "bronze"                # bronze | silver | gold: what support may do without elevation
schedule = "15 6-18 * * 1-5"   # cron: minute hour day month weekday; leave out to run by hand
timezone = "Europe/Stockholm"

# The source: the SS 12000 sandbox (`ess sandbox ss12000 --port 8400`; its start banner shows
# the client secret). Against IST Extens use profile = "ist" and customer_id; against Edlevo,
# profile = "edlevo" and server; base_url and token_url then follow from the profile.
[tenants.example.source]
type = "ss12000"
profile = "generic"
base_url = "http://127.0.0.1:8400/v2.0"
token_url = "http://127.0.0.1:8400/token"
client_id = "ess-demo"
client_secret = "env:ESS_SS12000_SECRET"

# A target: the Microsoft 365 sandbox, started from this folder with
# `ess sandbox microsoft --port 8401 --state-dir sandbox/microsoft` (seed 1 gives the tenant and
# client ids below; its banner shows the client secret). It serves TLS with its own test CA,
# which `verify` trusts (a relative path is taken from this file's folder). Against Microsoft
# 365 leave out authority, graph_url and verify.
[tenants.example.targets.microsoft]
type = "microsoft"
tenant_id = "51da3322-4caf-4cd0-9196-6bf6d50155e2"
client_id = "cd1166aa-58c7-40b9-a71c-3164dc4936c1"
client_secret = "env:ESS_MICROSOFT_SECRET"
authority = "https://127.0.0.1:8401/51da3322-4caf-4cd0-9196-6bf6d50155e2"
graph_url = "https://127.0.0.1:8401/v1.0"
verify = "sandbox/microsoft/ca.pem"
domain = "example.edu"

# How this tenant's data is treated. The values shown are the defaults.
[tenants.example.policy]
protected_identity = "exclude"          # exclude | mask | include: pupils with skyddad identitet
group_types = ["Klass", "Undervisning"] # which SS 12000 group types become classes
suspend_grace_days = 30                 # a leaver is suspended this long before deletion
class_end = "archive"                   # archive | keep | delete: a class whose group has ended
drift = "repair"                        # repair | report: hand-made changes in the target

# The guard holds a whole plan for approval when it would delete or suspend too much.
[tenants.example.policy.guard]
erosion_share = 0.10   # hold when a type shrinks by more than this over the recent runs
erosion_runs = 5
min_base = 20          # types with fewer objects than this are not judged by share

[tenants.example.policy.guard.objects]
share = 0.05           # users, groups, schools: hold above 5% of a type ...
count = 500            # ... or above 500 of it

[tenants.example.policy.guard.links]
share = 0.25           # memberships change more on an ordinary day: hold above 25%
"""
