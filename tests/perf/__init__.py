"""Benchmarks of provisioning, signup and fleet migrations: `make bench`.

`python -m config.devstack bench` starts an embedded PostgreSQL and Redis under .dev/bench and
runs `python -m tests.perf` against the database `nations_bench`, which is dropped and created
again so every run starts from nothing. Each figure is printed as `BENCH <name> <value> <unit>`
and all of them are written to .bench/results.json. Nothing here asserts on a timing: a slow
machine gives slow numbers, not a failure. A broken user path (a status other than the one a
user would see) does fail, because then the number would measure the wrong thing.
See docs/PERFORMANCE.md for the figures and what they mean.
"""
