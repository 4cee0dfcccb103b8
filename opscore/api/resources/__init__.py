"""HTTP resources: one module per resource, each owning one Blueprint."""
