"""Training of key personnel (重点人员培训): the register of each key-industry enterprise's
key people by role, training completions (signed webhook and REST) matched by the keyed
digest of the ID number, the coverage report and the `training_gap` alert.
"""
