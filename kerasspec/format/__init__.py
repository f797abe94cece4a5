"""The spec format, declared once as data.

`types` holds the kinds of values a key can take, `declaration` the sections of a spec and
their keys. The static checks (`kerasspec.check`), the JSON Schema (`schema`) and the reference
document (`reference`) are all read from these declarations, so a key or rule added here
changes all three.
"""
