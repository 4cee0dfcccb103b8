"""`kind: agent` and `kind: session`: the shape of a machine document and its static checks."""
