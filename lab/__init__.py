"""Research: how the shipped choices were made (fine-tuning, the settings sweep, ablations,
probes). `lab` may import `core`; the product (core/, ui/, pages/, app.py, serve.py) never imports
`lab`. Run `python -m lab --help`."""
