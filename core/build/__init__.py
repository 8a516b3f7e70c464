"""Build: the trained artifact from data. `train` fits the two-tower, its calibration and the
child classifier and indexes the default galleries into artifacts/."""
