"""Payreq's benchmarks: `make bench` (or `python -m bench`) prints a table and writes bench/results.json.

Each figure is measured in the same run as its peer: the same endpoints written the common way
(FastAPI + Mangum + SQLAlchemy ORM, `bench/peers/lambdalith.py`) and the floor (the same queries on
the raw driver, `bench/peers/floor.py`). Tests never assert timings; this is where speed is measured.
"""
