"""`kind: workflow`: the template language (steps, references, choices, retries,
durations), its checks, and its compilation into the machine every run moves through."""
