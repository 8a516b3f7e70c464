"""Probes that still inform an open question, each run as `python -m lab probe NAME`. A probe
whose question is answered is deleted; its answer stays in docs/experiments.md."""
